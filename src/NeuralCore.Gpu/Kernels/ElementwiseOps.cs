using NeuralCore.Backends;

namespace NeuralCore.Gpu.Kernels;

// Elementwise ops as small structs over an element type T and its arithmetic N. Each op is written once and
// serves every dtype it is defined for; the ILGPU kernels in ElementwiseKernels are generic over them.
// Definitions match the CPU backend's scalar paths (NaN handling, integer wrapping, half-to-even rounding).

/// <summary>A one-input elementwise function from <typeparamref name="TIn"/> to <typeparamref name="TOut"/> (unary ops, casts, copies).</summary>
internal interface IMapFn<TIn, TOut> where TIn : unmanaged where TOut : unmanaged
{
    TOut Apply(TIn x);
}

internal readonly struct IdentityFn<T> : IMapFn<T, T> where T : unmanaged
{
    public T Apply(T x) => x;
}

internal interface IBinaryFn<T, TResult> where T : unmanaged where TResult : unmanaged
{
    TResult Apply(T x, T y);
}

internal readonly struct NegFn<T, N> : IMapFn<T, T> where T : unmanaged where N : struct, INumeric<T>
{
    public T Apply(T x) => default(N).Neg(x);
}

internal readonly struct AbsFn<T, N> : IMapFn<T, T> where T : unmanaged where N : struct, INumeric<T>
{
    public T Apply(T x) => default(N).Lt(x, default(N).Zero) ? default(N).Neg(x) : x;
}

internal readonly struct SignFn<T, N> : IMapFn<T, T> where T : unmanaged where N : struct, INumeric<T>
{
    public T Apply(T x)
    {
        var n = default(N);
        if (n.IsNaN(x)) return x;
        return n.Lt(n.Zero, x) ? n.One : n.Lt(x, n.Zero) ? n.Neg(n.One) : n.Zero;
    }
}

internal readonly struct ReluFn<T, N> : IMapFn<T, T> where T : unmanaged where N : struct, INumeric<T>
{
    public T Apply(T x) => default(N).IsNaN(x) || default(N).Lt(default(N).Zero, x) ? x : default(N).Zero;
}

internal readonly struct SquareFn<T, N> : IMapFn<T, T> where T : unmanaged where N : struct, INumeric<T>
{
    public T Apply(T x) => default(N).Mul(x, x);
}

/// <summary>Clamp with optional bounds (HasMin/HasMax are 0 or 1: kernel parameters avoid bool fields).</summary>
internal readonly struct ClampFn<T, N>(T min, T max, int hasMin, int hasMax) : IMapFn<T, T> where T : unmanaged where N : struct, INumeric<T>
{
    readonly T min = min, max = max;
    readonly int hasMin = hasMin, hasMax = hasMax;

    public T Apply(T x)
    {
        var n = default(N);
        if (n.IsNaN(x)) return x;
        if (hasMin != 0 && n.Lt(x, min)) x = min;
        if (hasMax != 0 && n.Lt(max, x)) x = max;
        return x;
    }
}

internal readonly struct ExpFn<T, N> : IMapFn<T, T> where T : unmanaged where N : struct, IFloating<T>
{
    public T Apply(T x) => default(N).Exp(x);
}

internal readonly struct LogFn<T, N> : IMapFn<T, T> where T : unmanaged where N : struct, IFloating<T>
{
    public T Apply(T x) => default(N).Log(x);
}

internal readonly struct SqrtFn<T, N> : IMapFn<T, T> where T : unmanaged where N : struct, IFloating<T>
{
    public T Apply(T x) => default(N).Sqrt(x);
}

internal readonly struct RsqrtFn<T, N> : IMapFn<T, T> where T : unmanaged where N : struct, IFloating<T>
{
    public T Apply(T x) => default(N).Div(default(N).One, default(N).Sqrt(x));
}

internal readonly struct ReciprocalFn<T, N> : IMapFn<T, T> where T : unmanaged where N : struct, IFloating<T>
{
    public T Apply(T x) => default(N).Div(default(N).One, x);
}

internal readonly struct TanhFn<T, N> : IMapFn<T, T> where T : unmanaged where N : struct, IFloating<T>
{
    public T Apply(T x) => default(N).Tanh(x);
}

internal readonly struct SigmoidFn<T, N> : IMapFn<T, T> where T : unmanaged where N : struct, IFloating<T>
{
    public T Apply(T x) => default(N).Div(default(N).One, default(N).Add(default(N).One, default(N).Exp(default(N).Neg(x))));
}

internal readonly struct SinFn<T, N> : IMapFn<T, T> where T : unmanaged where N : struct, IFloating<T>
{
    public T Apply(T x) => default(N).Sin(x);
}

internal readonly struct CosFn<T, N> : IMapFn<T, T> where T : unmanaged where N : struct, IFloating<T>
{
    public T Apply(T x) => default(N).Cos(x);
}

/// <summary>erf in double precision for both dtypes, as the CPU backend (the series/continued fraction of <see cref="SpecialFunctions"/>, with the device exp).</summary>
internal readonly struct ErfFn<T, N> : IMapFn<T, T> where T : unmanaged where N : struct, IFloating<T>
{
    public T Apply(T x) => default(N).FromDouble(DeviceMath.Erf(default(N).ToDouble(x)));
}

internal readonly struct GeluFn<T, N> : IMapFn<T, T> where T : unmanaged where N : struct, IFloating<T>
{
    public T Apply(T x)
    {
        double v = default(N).ToDouble(x);
        return default(N).FromDouble(0.5 * v * (1.0 + DeviceMath.Erf(v * SpecialFunctions.InvSqrt2)));
    }
}

/// <summary>log(1 + e^x) = max(x, 0) + log1p(e^−|x|); log1p by Goldberg's correction, as devices lack it.</summary>
internal readonly struct SoftplusFn<T, N> : IMapFn<T, T> where T : unmanaged where N : struct, IFloating<T>
{
    public T Apply(T x)
    {
        var n = default(N);
        if (n.IsNaN(x)) return x;
        T e = n.Exp(n.Neg(n.Abs(x)));
        T u = n.Add(n.One, e);
        T log1p = n.Eq(u, n.One) ? e : n.Div(n.Mul(n.Log(u), e), n.Sub(u, n.One));
        return n.Add(n.Lt(n.Zero, x) ? x : n.Zero, log1p);
    }
}

internal readonly struct LeakyReluFn<T, N>(T slope) : IMapFn<T, T> where T : unmanaged where N : struct, IFloating<T>
{
    readonly T slope = slope;

    public T Apply(T x) => default(N).Lt(default(N).Zero, x) ? x : default(N).Mul(x, slope);
}

internal readonly struct EluFn<T, N>(T alpha) : IMapFn<T, T> where T : unmanaged where N : struct, IFloating<T>
{
    readonly T alpha = alpha;

    public T Apply(T x) => default(N).Lt(default(N).Zero, x) ? x : default(N).Mul(alpha, default(N).Sub(default(N).Exp(x), default(N).One));
}

internal readonly struct PowScalarFn<T, N>(T exponent) : IMapFn<T, T> where T : unmanaged where N : struct, IFloating<T>
{
    readonly T exponent = exponent;

    public T Apply(T x) => default(N).Pow(x, exponent);
}

internal readonly struct FloorFn<T, N> : IMapFn<T, T> where T : unmanaged where N : struct, IFloating<T>
{
    public T Apply(T x) => default(N).Floor(x);
}

internal readonly struct CeilFn<T, N> : IMapFn<T, T> where T : unmanaged where N : struct, IFloating<T>
{
    public T Apply(T x) => default(N).Ceil(x);
}

internal readonly struct RoundFn<T, N> : IMapFn<T, T> where T : unmanaged where N : struct, IFloating<T>
{
    public T Apply(T x) => default(N).RoundEven(x);
}

internal readonly struct AddFn<T, N> : IBinaryFn<T, T> where T : unmanaged where N : struct, INumeric<T>
{
    public T Apply(T x, T y) => default(N).Add(x, y);
}

internal readonly struct SubFn<T, N> : IBinaryFn<T, T> where T : unmanaged where N : struct, INumeric<T>
{
    public T Apply(T x, T y) => default(N).Sub(x, y);
}

internal readonly struct MulFn<T, N> : IBinaryFn<T, T> where T : unmanaged where N : struct, INumeric<T>
{
    public T Apply(T x, T y) => default(N).Mul(x, y);
}

internal readonly struct DivFn<T, N> : IBinaryFn<T, T> where T : unmanaged where N : struct, INumeric<T>
{
    public T Apply(T x, T y) => default(N).Div(x, y);
}

internal readonly struct PowFn<T, N> : IBinaryFn<T, T> where T : unmanaged where N : struct, IFloating<T>
{
    public T Apply(T x, T y) => default(N).Pow(x, y);
}

internal readonly struct MaximumFn<T, N> : IBinaryFn<T, T> where T : unmanaged where N : struct, INumeric<T>
{
    public T Apply(T x, T y) => default(N).IsNaN(x) ? x : default(N).IsNaN(y) ? y : default(N).Lt(x, y) ? y : x;
}

internal readonly struct MinimumFn<T, N> : IBinaryFn<T, T> where T : unmanaged where N : struct, INumeric<T>
{
    public T Apply(T x, T y) => default(N).IsNaN(x) ? x : default(N).IsNaN(y) ? y : default(N).Lt(y, x) ? y : x;
}

/// <summary>ReLU's gradient: y &gt; 0 ? x : 0 (x the incoming gradient, y the ReLU's input or output); a select, so NaN y gives 0.</summary>
internal readonly struct ReluBackwardFn<T, N> : IBinaryFn<T, T> where T : unmanaged where N : struct, INumeric<T>
{
    public T Apply(T x, T y) => default(N).Lt(default(N).Zero, y) ? x : default(N).Zero;
}

/// <summary>The six comparisons, Bool (byte) output; the op is a launch-uniform code, so one kernel per dtype serves all. NaN compares unequal to everything.</summary>
internal readonly struct CompareFn<T, N>(BinaryOp op) : IBinaryFn<T, byte> where T : unmanaged where N : struct, INumeric<T>
{
    readonly int code = (int)op;

    public byte Apply(T x, T y)
    {
        var n = default(N);
        bool r = code switch
        {
            (int)BinaryOp.Eq => n.Eq(x, y),
            (int)BinaryOp.Ne => !n.Eq(x, y),
            (int)BinaryOp.Lt => n.Lt(x, y),
            (int)BinaryOp.Le => n.Lt(x, y) || n.Eq(x, y),
            (int)BinaryOp.Gt => n.Lt(y, x),
            _ => n.Lt(y, x) || n.Eq(x, y),
        };
        return r ? (byte)1 : (byte)0;
    }
}

/// <summary>dtype conversion: floating sources truncate and saturate, integer sources wrap, as the CPU backend's Copy.</summary>
internal readonly struct ConvertFn<TFrom, NFrom, TTo, NTo> : IMapFn<TFrom, TTo>
    where TFrom : unmanaged where NFrom : struct, INumeric<TFrom> where TTo : unmanaged where NTo : struct, INumeric<TTo>
{
    public TTo Apply(TFrom x) => default(NFrom).IsFloat
        ? default(NTo).FromDouble(default(NFrom).ToDouble(x))
        : default(NTo).FromLong(default(NFrom).ToLong(x));
}

/// <summary>Any dtype to Bool: "≠ 0" (NaN counts as non-zero).</summary>
internal readonly struct ToBoolFn<TFrom, NFrom> : IMapFn<TFrom, byte> where TFrom : unmanaged where NFrom : struct, INumeric<TFrom>
{
    public byte Apply(TFrom x) => default(NFrom).Eq(x, default(NFrom).Zero) ? (byte)0 : (byte)1;
}
