using System.Buffers;

namespace NeuralCore.Compression;

/// <summary>
/// One int8 matrix product with float input and output, as the quantized layers use it: quantize the activations to
/// uint8 (with fixed parameters, or with parameters from the batch's own range), run <see cref="Int8Gemm"/>, and
/// dequantize with the per-channel scales, the bias and an optional ReLU in the GEMM epilogue.
/// </summary>
internal sealed unsafe class Int8Matmul
{
    public Int8Matmul(sbyte[] weights, float[] weightScales, float[]? bias, int outFeatures, int inFeatures, bool relu)
    {
        Packed = PackedInt8Weights.Pack(weights, outFeatures, inFeatures);
        WeightScales = weightScales;
        Bias = bias;
        Relu = relu;
    }

    public PackedInt8Weights Packed { get; }
    public float[] WeightScales { get; }
    public float[]? Bias { get; }
    public bool Relu { get; }

    // The epilogue scales sa·sw[j] for the last activation scale sa (static layers always use the same one).
    sealed record ScaleCache(float InputScale, float[] Values);
    ScaleCache? scales;

    /// <summary>The per-column epilogue multipliers for activations of scale <paramref name="inputScale"/>.</summary>
    float[] ScalesFor(float inputScale)
    {
        var cached = scales;
        if (cached is not null && cached.InputScale.Equals(inputScale)) return cached.Values;
        var values = new float[Packed.N];
        for (int j = 0; j < values.Length; j++) values[j] = inputScale * WeightScales[j];
        scales = new ScaleCache(inputScale, values);
        return values;
    }

    /// <summary>The uint8 parameters covering the finite values of <paramref name="x"/> (dynamic quantization).</summary>
    public static QuantParams DynamicParams(ReadOnlySpan<float> x)
    {
        float min = 0, max = 0;
        foreach (var v in x)
        {
            if (!float.IsFinite(v)) continue;
            if (v < min) min = v;
            if (v > max) max = v;
        }
        return QuantParams.FromRange(min, max);
    }

    /// <summary>y[rows, N] = requant(quant(x[rows, K]) · Wᵀ), with the activations quantized by <paramref name="input"/>.</summary>
    public void Forward(ReadOnlySpan<float> x, int rows, QuantParams input, Span<float> y)
    {
        int k = Packed.K, kp = Packed.PaddedK, n = Packed.N;
        bool scalar = Int8Gemm.ForcedPath == Int8KernelPath.Scalar;
        var q = ArrayPool<byte>.Shared.Rent(checked(rows * kp));
        try
        {
            Int8Requantize.QuantizeRows(x, rows, k, 1f / input.Scale, input.ZeroPoint, q, kp, scalar);
            fixed (byte* a = q)
                Multiply(a, kp, rows, input, y, n, 1);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(q);
        }
    }

    /// <summary>Runs the GEMM on already-quantized activations, writing float element (i, j) to y[i·rowStride + j·columnStride].</summary>
    public void Multiply(byte* a, int lda, int rows, QuantParams input, Span<float> y, long rowStride, long columnStride, Int8KernelPath? path = null)
    {
        var epilogue = new Int8Epilogue { Scale = ScalesFor(input.Scale), Bias = Bias, Relu = Relu };
        fixed (float* c = y)
            Int8Gemm.Run(a, lda, rows, Packed, input.ZeroPoint, epilogue, Int8OutputKind.Float, c, rowStride, columnStride, path);
    }
}
