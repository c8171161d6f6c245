using System.Numerics;
using System.Numerics.Tensors;

namespace NeuralCore.Backends.Cpu.Kernels;

// Ops defined for every numeric dtype. Where TensorPrimitives has the op it computes dense runs; its results
// equal the scalar definition (these are exact operations).

internal readonly struct NegKernel<T> : IUnaryKernel<T> where T : unmanaged, INumber<T>
{
    public T Apply(T x) => -x;
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) { TensorPrimitives.Negate(x, d); return true; }
}

internal readonly struct AbsKernel<T> : IUnaryKernel<T> where T : unmanaged, INumber<T>
{
    public T Apply(T x) => T.IsNegative(x) ? -x : x;
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) => false;
}

internal readonly struct SignKernel<T> : IUnaryKernel<T> where T : unmanaged, INumber<T>
{
    public T Apply(T x) => T.IsNaN(x) ? x : x > T.Zero ? T.One : x < T.Zero ? -T.One : T.Zero;
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) => false;
}

internal readonly struct ReluKernel<T> : IUnaryKernel<T> where T : unmanaged, INumber<T>
{
    public T Apply(T x) => T.IsNaN(x) ? x : x > T.Zero ? x : T.Zero;
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) { TensorPrimitives.Max(x, T.Zero, d); return true; }
}

internal readonly struct SquareKernel<T> : IUnaryKernel<T> where T : unmanaged, INumber<T>
{
    public T Apply(T x) => x * x;
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) { TensorPrimitives.Multiply(x, x, d); return true; }
}

internal readonly struct ClampKernel<T>(T min, T max, bool hasMin, bool hasMax) : IUnaryKernel<T> where T : unmanaged, INumber<T>
{
    public T Apply(T x)
    {
        if (T.IsNaN(x)) return x;
        if (hasMin && x < min) x = min;
        if (hasMax && x > max) x = max;
        return x;
    }

    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) => false;
}
