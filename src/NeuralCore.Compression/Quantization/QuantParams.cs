using System.Globalization;

namespace NeuralCore.Compression;

/// <summary>
/// Affine uint8 quantization of activations: a real value x is stored as <c>q = clamp(round(x / Scale) + ZeroPoint, 0, 255)</c>
/// and read back as <c>Scale · (q − ZeroPoint)</c>. The range always contains 0, which is stored exactly.
/// </summary>
/// <param name="Scale">The step between adjacent levels (positive, finite).</param>
/// <param name="ZeroPoint">The level that stands for 0, in [0, 255].</param>
public readonly record struct QuantParams(float Scale, int ZeroPoint)
{
    /// <summary>Lowest uint8 level.</summary>
    public const int QMin = 0;

    /// <summary>Highest uint8 level.</summary>
    public const int QMax = 255;

    /// <summary>
    /// The parameters covering [<paramref name="min"/>, <paramref name="max"/>], widened to contain 0. A range of a single
    /// point gets scale 1.
    /// </summary>
    /// <exception cref="ArgumentException">A bound is NaN or infinite, or <paramref name="min"/> exceeds <paramref name="max"/>.</exception>
    public static QuantParams FromRange(float min, float max)
    {
        if (!float.IsFinite(min) || !float.IsFinite(max) || min > max)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"QuantParams.FromRange: the range [{min}, {max}] must be finite with min <= max."));
        min = MathF.Min(min, 0f);
        max = MathF.Max(max, 0f);
        if (max == min) return new QuantParams(1f, 0);
        // A tiny range keeps a scale whose reciprocal is finite.
        float scale = MathF.Max((max - min) / (QMax - QMin), 1e-12f);
        int zero = (int)MathF.Round(QMin - min / scale);
        return new QuantParams(scale, Math.Clamp(zero, QMin, QMax));
    }

    /// <summary>The smallest real value representable.</summary>
    public float Min => Scale * (QMin - ZeroPoint);

    /// <summary>The largest real value representable.</summary>
    public float Max => Scale * (QMax - ZeroPoint);

    /// <summary>Quantizes then dequantizes one value (what the int8 kernels see of it).</summary>
    public float FakeQuantize(float x)
    {
        float q = MathF.Round(x * (1f / Scale)) + ZeroPoint;
        q = MathF.Min(MathF.Max(q, QMin), QMax);
        return Scale * (q - ZeroPoint);
    }
}

/// <summary>Per-output-channel symmetric int8 weights: <c>w ≈ Scales[c] · q</c> with q in [−127, 127].</summary>
internal static class WeightQuantizer
{
    /// <summary>Largest magnitude of a stored weight (−128 is not used, so the range is symmetric).</summary>
    public const int QMax = 127;

    /// <summary>Quantizes a row-major [channels, perChannel] float matrix per row.</summary>
    /// <exception cref="ArgumentException">A weight is NaN or infinite.</exception>
    public static (sbyte[] Values, float[] Scales) Quantize(ReadOnlySpan<float> w, int channels, int perChannel, string op)
    {
        var values = new sbyte[w.Length];
        var scales = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            var row = w.Slice(c * perChannel, perChannel);
            float maxAbs = 0;
            foreach (var v in row)
            {
                if (!float.IsFinite(v))
                    throw new ArgumentException($"{op}: output channel {c} has a non-finite weight ({v.ToString(CultureInfo.InvariantCulture)}); it cannot be quantized.");
                maxAbs = MathF.Max(maxAbs, MathF.Abs(v));
            }
            float scale = maxAbs > 0 ? maxAbs / QMax : 1f;
            scales[c] = scale;
            float inv = 1f / scale;
            for (int i = 0; i < perChannel; i++)
                values[c * perChannel + i] = (sbyte)Math.Clamp((int)MathF.Round(row[i] * inv), -QMax, QMax);
        }
        return (values, scales);
    }
}
