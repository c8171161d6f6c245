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

    public bool TrySpan(ReadOnlySpan<T> x, Span<T> d)
    {
        TensorPrimitives.Tanh(x, d);
        SmallTanh.Correct(x, d);
        return true;
    }
}

/// <summary>
/// TensorPrimitives.Tanh computes (e^2x - 1) / (e^2x + 1), which cancels near zero: its relative error grows like
/// ulp(1) / |x| (Float32: 2.7e-5 at 0.001, 3.3e-4 at 0.0001). Below a threshold the result is replaced by the Taylor
/// series of tanh through x^19, exact to the type's precision there: below 0.55 for Float32 (truncation under 1e-9
/// relative), below 0.2 for Float64 (under 1e-18; above 0.2 the cancellation costs a few ulp).
/// </summary>
internal static class SmallTanh
{
    // tanh x = x + x * z * (c3 + z * (c5 + ...)), z = x^2: the series' odd coefficients from x^3 on.
    static readonly double[] Coefficients =
    [
        -1.0 / 3, 2.0 / 15, -17.0 / 315, 62.0 / 2835, -1382.0 / 155925, 21844.0 / 6081075,
        -929569.0 / 638512875, 6404582.0 / 10854718875, -443861162.0 / 1856156927625,
    ];

    public static void Correct<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int terms = Coefficients.Length;
        T limit = T.CreateTruncating(typeof(T) == typeof(float) ? 0.55 : 0.2);
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            var vlimit = new Vector<T>(limit);
            // The coefficients broadcast once per call, not once per vector.
            Span<Vector<T>> c = stackalloc Vector<T>[terms];
            for (int k = 0; k < terms; k++) c[k] = new Vector<T>(T.CreateTruncating(Coefficients[k]));
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var v = new Vector<T>(x[i..]);
                var small = Vector.LessThan(Vector.Abs(v), vlimit);
                if (small == Vector<T>.Zero) continue;
                var z = v * v;
                var p = c[terms - 1];
                for (int k = terms - 2; k >= 0; k--) p = p * z + c[k];
                var series = v + v * z * p;
                Vector.ConditionalSelect(small, series, new Vector<T>(d[i..])).CopyTo(d[i..]);
            }
        }
        for (; i < x.Length; i++)
            if (T.Abs(x[i]) < limit) d[i] = T.Tanh(x[i]);
    }
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
