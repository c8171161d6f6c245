namespace NeuralCore;

/// <summary>Element type of a <see cref="Tensor"/>.</summary>
public enum DType
{
    /// <summary>Boolean, stored as one byte holding 0 or 1.</summary>
    Bool,
    /// <summary>Unsigned 8-bit integer (raw image bytes).</summary>
    UInt8,
    /// <summary>Signed 32-bit integer.</summary>
    Int32,
    /// <summary>Signed 64-bit integer (labels and indices).</summary>
    Int64,
    /// <summary>IEEE 754 single precision; the default.</summary>
    Float32,
    /// <summary>IEEE 754 double precision (gradient checks, users who need it).</summary>
    Float64,
}

/// <summary>Facts about <see cref="DType"/> values and PyTorch's type-promotion rules.</summary>
public static class DTypes
{
    /// <summary>Size of one element in bytes.</summary>
    public static int SizeOf(this DType dtype) => dtype switch
    {
        DType.Bool or DType.UInt8 => 1,
        DType.Int32 or DType.Float32 => 4,
        DType.Int64 or DType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    /// <summary>True for Float32 and Float64.</summary>
    public static bool IsFloatingPoint(this DType dtype) => dtype is DType.Float32 or DType.Float64;

    /// <summary>True for UInt8, Int32 and Int64 (not Bool).</summary>
    public static bool IsInteger(this DType dtype) => dtype is DType.UInt8 or DType.Int32 or DType.Int64;

    /// <summary>The dtype whose element type is <typeparamref name="T"/>.</summary>
    public static DType Of<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return DType.Float32;
        if (typeof(T) == typeof(double)) return DType.Float64;
        if (typeof(T) == typeof(int)) return DType.Int32;
        if (typeof(T) == typeof(long)) return DType.Int64;
        if (typeof(T) == typeof(byte)) return DType.UInt8;
        if (typeof(T) == typeof(bool)) return DType.Bool;
        throw new NotSupportedException($"Element type {typeof(T).Name} has no NeuralCore dtype; use float, double, int, long, byte or bool.");
    }

    // Categories order promotion across kinds: bool < integer < floating point.
    static int Category(DType d) => d == DType.Bool ? 0 : d.IsInteger() ? 1 : 2;

    static int Rank(DType d) => d switch
    {
        DType.Bool => 0, DType.UInt8 => 1, DType.Int32 => 2, DType.Int64 => 3, DType.Float32 => 4, DType.Float64 => 5,
        _ => throw new ArgumentOutOfRangeException(nameof(d)),
    };

    /// <summary>
    /// The result dtype of a binary op between two tensors, as <c>torch.result_type</c>: the higher category
    /// wins (bool &lt; integer &lt; floating point) and within a category the wider type.
    /// </summary>
    public static DType Promote(DType a, DType b)
    {
        if (a == b) return a;
        int ca = Category(a), cb = Category(b);
        if (ca != cb) return ca > cb ? a : b;
        return Rank(a) >= Rank(b) ? a : b;
    }

    /// <summary>
    /// The result dtype of an elementwise op between two tensors, where 0-d tensors count as "wrapped
    /// numbers" as in PyTorch: a 0-d operand only decides the dtype when it belongs to a higher category
    /// (bool &lt; integer &lt; floating point) than the other operand, so a Float32 [3] tensor times a Float64 0-d
    /// tensor stays Float32.
    /// </summary>
    public static DType Promote(DType a, bool aIsZeroDim, DType b, bool bIsZeroDim)
    {
        if (aIsZeroDim == bIsZeroDim) return Promote(a, b);
        var (dim, zero) = aIsZeroDim ? (b, a) : (a, b);
        return Category(zero) > Category(dim) ? Promote(a, b) : dim;
    }

    /// <summary>
    /// The result dtype of a tensor combined with a C# scalar. As in PyTorch a scalar does not widen a tensor
    /// of its own category: a Float32 tensor times 2.5 stays Float32. An integral scalar keeps an integer
    /// tensor's dtype (Bool becomes Int64); a fractional scalar turns an integer or Bool tensor into Float32.
    /// </summary>
    public static DType PromoteWithScalar(DType tensor, double scalar)
    {
        if (tensor.IsFloatingPoint()) return tensor;
        bool integral = Math.Floor(scalar) == scalar && !double.IsInfinity(scalar);
        if (!integral) return DType.Float32;
        if (tensor == DType.Bool) return DType.Int64;
        // A value the tensor's integer type cannot hold (uint8 vs −1, int32 vs 2^40) widens the computation
        // instead of overflowing, so comparisons with it stay correct.
        return Fits(tensor, scalar) ? tensor : Fits(DType.Int64, scalar) ? DType.Int64 : DType.Float64;
    }

    static bool Fits(DType d, double v) => d switch
    {
        DType.UInt8 => v >= byte.MinValue && v <= byte.MaxValue,
        DType.Int32 => v >= int.MinValue && v <= int.MaxValue,
        _ => v >= -9.2233720368547758e18 && v < 9.2233720368547758e18,
    };

    /// <summary>The floating dtype an op that needs real numbers (exp, mean, division) computes in.</summary>
    public static DType ToFloating(this DType dtype) => dtype.IsFloatingPoint() ? dtype : DType.Float32;
}
