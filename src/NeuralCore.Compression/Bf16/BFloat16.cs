namespace NeuralCore.Compression.Bf16;

/// <summary>
/// bfloat16 values held as their 16 bits (<see cref="ushort"/>): the upper half of a float32, so sign, the full
/// 8-bit exponent and 7 mantissa bits (about 3 significant decimal digits, relative rounding error at most 2⁻⁸).
/// </summary>
public static class BFloat16
{
    /// <summary>
    /// Rounds a float32 to the nearest bfloat16, ties to even (as hardware conversions do). NaN stays NaN (quiet, with
    /// its sign); infinities and values that round past the largest finite bfloat16 become infinities.
    /// </summary>
    public static ushort FromSingle(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7FFF_FFFFu) > 0x7F80_0000u) return (ushort)((bits >> 16) | 0x0040u);
        // Adding 0x7FFF plus the lowest kept bit rounds the dropped half up when above the midpoint, and at the
        // midpoint exactly when that makes the kept part even.
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }

    /// <summary>The float32 with the same value (exact: the bits become the float's upper half).</summary>
    public static float ToSingle(ushort value) => BitConverter.UInt32BitsToSingle((uint)value << 16);

    /// <summary>Rounds every value of <paramref name="source"/> into <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void FromSingle(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        if (source.Length != destination.Length)
            throw new ArgumentException($"BFloat16.FromSingle: {source.Length} values into {destination.Length} slots.", nameof(destination));
        for (int i = 0; i < source.Length; i++) destination[i] = FromSingle(source[i]);
    }

    /// <summary>Rounds every element of a floating-point tensor and returns the bits, in row-major order.</summary>
    /// <exception cref="ArgumentException">The tensor is not floating point.</exception>
    public static ushort[] FromTensor(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!tensor.DType.IsFloatingPoint())
            throw new ArgumentException($"BFloat16.FromTensor: needs a floating-point tensor, got {tensor.DType} of shape {tensor.Shape}.", nameof(tensor));
        float[] values;
        using (Tensor.NoGrad()) values = (tensor.DType == DType.Float32 ? tensor : tensor.To(DType.Float32)).ToArray<float>();
        var bits = new ushort[values.Length];
        FromSingle(values, bits);
        return bits;
    }

    /// <summary>A Float32 tensor of the given shape holding the values of <paramref name="bits"/>.</summary>
    public static Tensor ToTensor(ReadOnlySpan<ushort> bits, params long[] shape)
    {
        var values = new float[bits.Length];
        for (int i = 0; i < bits.Length; i++) values[i] = ToSingle(bits[i]);
        return Tensor.FromArray(values, shape);
    }
}
