using System.Numerics;
using System.Numerics.Tensors;

namespace NeuralCore.Backends.Cpu.Kernels;

internal readonly struct AddKernel<T> : IBinaryKernel<T, T> where T : unmanaged, INumber<T>
{
    public T Apply(T x, T y) => x + y;
    public bool TrySpan(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) { TensorPrimitives.Add(x, y, d); return true; }
    public bool TrySpanScalar(ReadOnlySpan<T> x, T y, Span<T> d) { TensorPrimitives.Add(x, y, d); return true; }
    public bool TryScalarSpan(T x, ReadOnlySpan<T> y, Span<T> d) { TensorPrimitives.Add(y, x, d); return true; }
}

internal readonly struct SubKernel<T> : IBinaryKernel<T, T> where T : unmanaged, INumber<T>
{
    public T Apply(T x, T y) => x - y;
    public bool TrySpan(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) { TensorPrimitives.Subtract(x, y, d); return true; }
    public bool TrySpanScalar(ReadOnlySpan<T> x, T y, Span<T> d) { TensorPrimitives.Subtract(x, y, d); return true; }
    public bool TryScalarSpan(T x, ReadOnlySpan<T> y, Span<T> d) { TensorPrimitives.Subtract(x, y, d); return true; }
}

internal readonly struct MulKernel<T> : IBinaryKernel<T, T> where T : unmanaged, INumber<T>
{
    public T Apply(T x, T y) => x * y;
    public bool TrySpan(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) { TensorPrimitives.Multiply(x, y, d); return true; }
    public bool TrySpanScalar(ReadOnlySpan<T> x, T y, Span<T> d) { TensorPrimitives.Multiply(x, y, d); return true; }
    public bool TryScalarSpan(T x, ReadOnlySpan<T> y, Span<T> d) { TensorPrimitives.Multiply(y, x, d); return true; }
}

internal readonly struct DivKernel<T> : IBinaryKernel<T, T> where T : unmanaged, INumber<T>
{
    public T Apply(T x, T y) => x / y;
    public bool TrySpan(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) { TensorPrimitives.Divide(x, y, d); return true; }
    public bool TrySpanScalar(ReadOnlySpan<T> x, T y, Span<T> d) { TensorPrimitives.Divide(x, y, d); return true; }
    public bool TryScalarSpan(T x, ReadOnlySpan<T> y, Span<T> d) { TensorPrimitives.Divide(x, y, d); return true; }
}

internal readonly struct PowKernel<T> : IBinaryKernel<T, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x, T y) => T.Pow(x, y);
    public bool TrySpan(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) { TensorPrimitives.Pow(x, y, d); return true; }
    public bool TrySpanScalar(ReadOnlySpan<T> x, T y, Span<T> d) { TensorPrimitives.Pow(x, y, d); return true; }
    public bool TryScalarSpan(T x, ReadOnlySpan<T> y, Span<T> d) { TensorPrimitives.Pow(x, y, d); return true; }
}

internal readonly struct MaximumKernel<T> : IBinaryKernel<T, T> where T : unmanaged, INumber<T>
{
    public T Apply(T x, T y) => T.IsNaN(x) || T.IsNaN(y) ? (T.IsNaN(x) ? x : y) : x >= y ? x : y;
    public bool TrySpan(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) { TensorPrimitives.Max(x, y, d); return true; }
    public bool TrySpanScalar(ReadOnlySpan<T> x, T y, Span<T> d) { TensorPrimitives.Max(x, y, d); return true; }
    public bool TryScalarSpan(T x, ReadOnlySpan<T> y, Span<T> d) { TensorPrimitives.Max(y, x, d); return true; }
}

internal readonly struct MinimumKernel<T> : IBinaryKernel<T, T> where T : unmanaged, INumber<T>
{
    public T Apply(T x, T y) => T.IsNaN(x) || T.IsNaN(y) ? (T.IsNaN(x) ? x : y) : x <= y ? x : y;
    public bool TrySpan(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d) { TensorPrimitives.Min(x, y, d); return true; }
    public bool TrySpanScalar(ReadOnlySpan<T> x, T y, Span<T> d) { TensorPrimitives.Min(x, y, d); return true; }
    public bool TryScalarSpan(T x, ReadOnlySpan<T> y, Span<T> d) { TensorPrimitives.Min(y, x, d); return true; }
}

/// <summary>A comparison, as a type so each one gets its own specialised loop.</summary>
internal interface IComparison<T>
{
    static abstract bool Test(T x, T y);
}

internal readonly struct EqTest<T> : IComparison<T> where T : INumber<T> { public static bool Test(T x, T y) => x == y; }

internal readonly struct NeTest<T> : IComparison<T> where T : INumber<T> { public static bool Test(T x, T y) => x != y; }

internal readonly struct LtTest<T> : IComparison<T> where T : INumber<T> { public static bool Test(T x, T y) => x < y; }

internal readonly struct LeTest<T> : IComparison<T> where T : INumber<T> { public static bool Test(T x, T y) => x <= y; }

internal readonly struct GtTest<T> : IComparison<T> where T : INumber<T> { public static bool Test(T x, T y) => x > y; }

internal readonly struct GeTest<T> : IComparison<T> where T : INumber<T> { public static bool Test(T x, T y) => x >= y; }

/// <summary>
/// Comparisons write 1 or 0 bytes (the Bool dtype). NaN compares unequal to everything. There is no span
/// path: the drivers' reference loops, specialised per comparison, compile to branch-free code.
/// </summary>
internal readonly struct CompareKernel<T, TTest> : IBinaryKernel<T, byte> where T : unmanaged, INumber<T> where TTest : IComparison<T>
{
    public byte Apply(T x, T y) => TTest.Test(x, y) ? (byte)1 : (byte)0;

    public bool TrySpan(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<byte> d) => false;
    public bool TrySpanScalar(ReadOnlySpan<T> x, T y, Span<byte> d) => false;
    public bool TryScalarSpan(T x, ReadOnlySpan<T> y, Span<byte> d) => false;
}
