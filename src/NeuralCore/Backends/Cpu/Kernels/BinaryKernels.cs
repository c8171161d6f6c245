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

/// <summary>Comparisons write 1 or 0 bytes (the Bool dtype). NaN compares unequal to everything.</summary>
internal readonly struct CompareKernel<T>(BinaryOp op) : IBinaryKernel<T, byte> where T : unmanaged, INumber<T>
{
    public byte Apply(T x, T y) => op switch
    {
        BinaryOp.Eq => x == y,
        BinaryOp.Ne => x != y,
        BinaryOp.Lt => x < y,
        BinaryOp.Le => x <= y,
        BinaryOp.Gt => x > y,
        _ => x >= y,
    } ? (byte)1 : (byte)0;

    public bool TrySpan(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<byte> d) => false;
    public bool TrySpanScalar(ReadOnlySpan<T> x, T y, Span<byte> d) => false;
    public bool TryScalarSpan(T x, ReadOnlySpan<T> y, Span<byte> d) => false;
}
