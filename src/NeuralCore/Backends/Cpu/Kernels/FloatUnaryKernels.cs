using System.Numerics;
using System.Numerics.Tensors;

namespace NeuralCore.Backends.Cpu.Kernels;

// Ops defined on floating-point dtypes. Dense runs use TensorPrimitives where it has the function; its
// vectorised approximations stay within a few ulp of the scalar Math functions used on strided runs.

internal readonly struct ExpKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.Exp(x);
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) { TensorPrimitives.Exp(x, d); return true; }
}

internal readonly struct LogKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.Log(x);
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) { TensorPrimitives.Log(x, d); return true; }
}

internal readonly struct SqrtKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.Sqrt(x);
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) { TensorPrimitives.Sqrt(x, d); return true; }
}

internal readonly struct RsqrtKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.One / T.Sqrt(x);
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) { TensorPrimitives.Sqrt(x, d); TensorPrimitives.Divide(T.One, d, d); return true; }
}

internal readonly struct ReciprocalKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.One / x;
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) { TensorPrimitives.Divide(T.One, x, d); return true; }
}

internal readonly struct TanhKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.Tanh(x);
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) { TensorPrimitives.Tanh(x, d); return true; }
}

internal readonly struct SigmoidKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.One / (T.One + T.Exp(-x));
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) { TensorPrimitives.Sigmoid(x, d); return true; }
}

internal readonly struct SinKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.Sin(x);
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) { TensorPrimitives.Sin(x, d); return true; }
}

internal readonly struct CosKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.Cos(x);
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) { TensorPrimitives.Cos(x, d); return true; }
}

internal readonly struct ErfKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.CreateTruncating(SpecialFunctions.Erf(double.CreateTruncating(x)));
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) => false;
}

internal readonly struct GeluKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x)
    {
        double v = double.CreateTruncating(x);
        return T.CreateTruncating(0.5 * v * (1.0 + SpecialFunctions.Erf(v * SpecialFunctions.InvSqrt2)));
    }

    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) => false;
}

internal readonly struct SoftplusKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // log(1 + e^x) = max(x, 0) + log1p(e^-|x|): never overflows and keeps precision for large |x|.
    public T Apply(T x) => T.IsNaN(x) ? x : T.Max(x, T.Zero) + T.LogP1(T.Exp(-T.Abs(x)));
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) => false;
}

internal readonly struct LeakyReluKernel<T>(T slope) : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => x > T.Zero ? x : x * slope;
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) => false;
}

internal readonly struct EluKernel<T>(T alpha) : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => x > T.Zero ? x : alpha * (T.Exp(x) - T.One);
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) => false;
}

internal readonly struct PowScalarKernel<T>(T exponent) : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.Pow(x, exponent);
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d)
    {
        if (exponent == T.CreateTruncating(2)) TensorPrimitives.Multiply(x, x, d);
        else TensorPrimitives.Pow(x, exponent, d);
        return true;
    }
}

internal readonly struct FloorKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.Floor(x);
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) { TensorPrimitives.Floor(x, d); return true; }
}

internal readonly struct CeilKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.Ceiling(x);
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) { TensorPrimitives.Ceiling(x, d); return true; }
}

internal readonly struct RoundKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.Round(x, MidpointRounding.ToEven);
    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d) => false;
}
