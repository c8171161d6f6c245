using NeuralCore.Onnx.Protos;

namespace NeuralCore.Onnx;

/// <summary>
/// The quantization operators: QuantizeLinear and DequantizeLinear (per tensor or per axis, uint8 or int8),
/// DynamicQuantizeLinear and MatMulInteger (Cast, which their graphs also use, is a general operator).
/// </summary>
/// <remarks>
/// NeuralCore has no int8 dtype, so integer ONNX values are carried widened: UINT8 as UInt8, INT8 as Int32 (values
/// in [−128, 127]) and INT32 (MatMulInteger's result) as Int64, as <see cref="OnnxTensors.FromProto"/> reads them.
/// QuantizeLinear takes the output type from its zero point (UInt8: uint8, Int32: int8, none: uint8), computes
/// <c>saturate(round(x / scale) + zero_point)</c> in float32 with rounding half to even, and maps NaN to the zero
/// point. The integer values carry no gradient: imported quantized graphs run for inference.
/// </remarks>
internal static partial class OnnxOps
{
    /// <summary>The operators compiled here.</summary>
    public static readonly HashSet<string> QuantizedOps = ["QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger"];

    static CompiledNode CompileQuantized(NodeProto node, Attrs a, string[] ins)
    {
        int needed = node.OpType is "QuantizeLinear" or "DequantizeLinear" or "MatMulInteger" ? 2 : 1;
        if (ins.Length < needed || ins.Take(needed).Any(string.IsNullOrEmpty))
            throw a.Fail($"needs at least {needed} inputs, got {ins.Length}");
        int maxInputs = node.OpType switch { "MatMulInteger" => 4, "QuantizeLinear" or "DequantizeLinear" => 3, _ => 1 };
        if (ins.Length > maxInputs) throw a.Fail($"has {ins.Length} inputs; {node.OpType} takes at most {maxInputs}");
        int maxOutputs = node.OpType == "DynamicQuantizeLinear" ? 3 : 1;
        if (node.Output.Count > maxOutputs) throw a.Fail($"has {node.Output.Count} outputs; {node.OpType} has {maxOutputs}");
        if (node.Output[0].Length == 0) throw a.Fail("has an empty first output");
        Func<Tensor?[], Tensor[]> run;
        switch (node.OpType)
        {
            case "QuantizeLinear":
            {
                a.Only("axis");
                long axis = a.Int("axis", 1);
                run = t => [QuantizeLinear(t[0]!, t[1]!, t.Length > 2 ? t[2] : null, axis, a)];
                break;
            }
            case "DequantizeLinear":
            {
                a.Only("axis");
                long axis = a.Int("axis", 1);
                run = t => [DequantizeLinear(t[0]!, t[1]!, t.Length > 2 ? t[2] : null, axis, a)];
                break;
            }
            case "DynamicQuantizeLinear":
                a.Only();
                run = t => DynamicQuantizeLinear(t[0]!, a);
                break;
            default:
                a.Only();
                run = t => [MatMulInteger(t[0]!, t[1]!, t.Length > 2 ? t[2] : null, t.Length > 3 ? t[3] : null, a)];
                break;
        }
        return new CompiledNode(ins, [.. node.Output], run);
    }

    /// <summary>The per-channel (or single) scales and zero points of a quantize or dequantize node for <paramref name="x"/>.</summary>
    static (float[] Scales, long[] Zeros, long Inner) QuantAxis(Tensor x, Tensor scale, Tensor? zero, long axis, Attrs a, bool quantize)
    {
        if (scale.DType != DType.Float32) throw new ArgumentException($"{a.Where}: the scale must be FLOAT, got {scale.DType}.");
        var s = scale.Contiguous().ToArray<float>();
        long inner = 1;
        if (scale.Dim > 1 || (scale.Dim == 1 && s.Length != 1))
        {
            if (scale.Dim != 1) throw new ArgumentException($"{a.Where}: the scale must be a scalar or 1-D, got {scale.Shape}.");
            int ax = Axis(axis, x.Dim, a);
            if (x.Shape[ax] != s.Length)
                throw new ArgumentException($"{a.Where}: {s.Length} per-axis scales do not match dimension {ax} of {x.Shape}.");
            for (int d = ax + 1; d < x.Dim; d++) inner *= x.Shape[d];
        }
        // Quantizing divides by the scale; dequantizing multiplies, so a zero scale (DynamicQuantizeLinear's, for an
        // all-zero input) is allowed there.
        foreach (var v in s)
            if (quantize ? !(v > 0) || !float.IsFinite(v) : !(v >= 0) || !float.IsFinite(v))
                throw new ArgumentException($"{a.Where}: scales must be {(quantize ? "positive" : "non-negative")} and finite, found {v}.");
        long[] z;
        if (zero is null) z = new long[s.Length];
        else
        {
            if (zero.NumElements != s.Length || zero.Dim != scale.Dim)
                throw new ArgumentException($"{a.Where}: the zero point {zero.Shape} must have the scale's shape {scale.Shape}.");
            if (zero.DType is not (DType.UInt8 or DType.Int32 or DType.Int64))
                throw new ArgumentException($"{a.Where}: the zero point must be UINT8, INT8 or INT32, got {zero.DType}.");
            z = zero.To(DType.Int64).Contiguous().ToArray<long>();
        }
        return (s, z, inner);
    }

    static int Channel(long i, long inner, int channels) => channels == 1 ? 0 : (int)(i / inner % channels);

    static Tensor QuantizeLinear(Tensor x, Tensor scale, Tensor? zero, long axis, Attrs a)
    {
        if (x.DType != DType.Float32) throw new ArgumentException($"{a.Where}: the input must be FLOAT, got {x.DType}.");
        if (zero is not null && zero.DType is not (DType.UInt8 or DType.Int32))
            throw new ArgumentException($"{a.Where}: the zero point (which sets the output type) must be UINT8 or INT8, got {zero.DType}.");
        bool signed = zero?.DType == DType.Int32;
        var (s, z, inner) = QuantAxis(x, scale, zero, axis, a, quantize: true);
        float lo = signed ? sbyte.MinValue : byte.MinValue, hi = signed ? sbyte.MaxValue : byte.MaxValue;
        var data = x.Contiguous().ToArray<float>();
        var shape = x.Shape.ToArray();
        int[] q = new int[data.Length];
        for (long i = 0; i < data.Length; i++)
        {
            int c = Channel(i, inner, s.Length);
            float v = MathF.Round(data[i] / s[c], MidpointRounding.ToEven) + z[c];
            q[i] = float.IsNaN(v) ? (int)z[c] : (int)MathF.Min(MathF.Max(v, lo), hi);
        }
        return signed ? Tensor.FromArray(q, shape) : Tensor.FromArray(Array.ConvertAll(q, v => (byte)v), shape);
    }

    static Tensor DequantizeLinear(Tensor x, Tensor scale, Tensor? zero, long axis, Attrs a)
    {
        if (x.DType is not (DType.UInt8 or DType.Int32 or DType.Int64))
            throw new ArgumentException($"{a.Where}: the input must be UINT8, INT8 or INT32, got {x.DType}.");
        var (s, z, inner) = QuantAxis(x, scale, zero, axis, a, quantize: false);
        var data = x.To(DType.Int64).Contiguous().ToArray<long>();
        var y = new float[data.Length];
        for (long i = 0; i < data.Length; i++)
        {
            int c = Channel(i, inner, s.Length);
            y[i] = (data[i] - z[c]) * s[c];
        }
        return Tensor.FromArray(y, x.Shape.ToArray());
    }

    /// <summary>
    /// uint8 quantization over the tensor's range widened to contain 0: scale = (max − min) / 255, zero point =
    /// saturate(round(−min / scale)); an all-zero input gives scale 0, zero point 0 and zeros.
    /// </summary>
    static Tensor[] DynamicQuantizeLinear(Tensor x, Attrs a)
    {
        if (x.DType != DType.Float32) throw new ArgumentException($"{a.Where}: the input must be FLOAT, got {x.DType}.");
        var data = x.Contiguous().ToArray<float>();
        float min = 0, max = 0;
        foreach (var v in data)
        {
            if (v < min) min = v;
            if (v > max) max = v;
        }
        if (!float.IsFinite(min) || !float.IsFinite(max))
            throw new ArgumentException($"{a.Where}: the input holds an infinite value; its range cannot be quantized.");
        float scale = (max - min) / 255f;
        var q = new byte[data.Length];
        byte zero = 0;
        if (scale > 0)
        {
            zero = (byte)MathF.Round(MathF.Min(MathF.Max(0f - min / scale, 0f), 255f), MidpointRounding.ToEven);
            for (int i = 0; i < data.Length; i++)
            {
                float v = MathF.Round(data[i] / scale, MidpointRounding.ToEven) + zero;
                q[i] = float.IsNaN(v) ? zero : (byte)MathF.Min(MathF.Max(v, 0f), 255f);
            }
        }
        return [Tensor.FromArray(q, x.Shape.ToArray()), Tensor.Scalar(scale), Tensor.Scalar(zero, DType.UInt8)];
    }

    /// <summary>
    /// (A − a_zero_point) · (B − b_zero_point) in exact integer arithmetic: A [..., M, K] and B [K, N] uint8 or int8,
    /// a scalar A zero point, a scalar or per-column B zero point; INT32 result (carried as Int64).
    /// </summary>
    static Tensor MatMulInteger(Tensor aT, Tensor bT, Tensor? aZero, Tensor? bZero, Attrs a)
    {
        foreach (var (t, what) in new[] { (aT, "A"), (bT, "B") })
            if (t.DType is not (DType.UInt8 or DType.Int32))
                throw new ArgumentException($"{a.Where}: {what} must be UINT8 or INT8, got {t.DType}.");
        if (aT.Dim < 2 || bT.Dim != 2 || aT.Shape[-1] != bT.Shape[0])
            throw new ArgumentException($"{a.Where}: needs A [..., M, K] and a 2-D B [K, N]; got {aT.Shape} and {bT.Shape}.");
        int k = checked((int)bT.Shape[0]), n = checked((int)bT.Shape[1]);
        if (aZero is not null && aZero.NumElements != 1)
            throw new ArgumentException($"{a.Where}: only a scalar A zero point is supported, got {aZero.Shape}.");
        if (bZero is not null && bZero.NumElements != 1 && (bZero.Dim != 1 || bZero.Shape[0] != n))
            throw new ArgumentException($"{a.Where}: the B zero point must be a scalar or [{n}], got {bZero.Shape}.");
        long za = aZero is null ? 0 : aZero.To(DType.Int64).Item<long>();
        var zb = bZero is null ? new long[n] : bZero.To(DType.Int64).Contiguous().ToArray<long>();
        if (zb.Length == 1 && n != 1) zb = Enumerable.Repeat(zb[0], n).ToArray();
        var av = aT.To(DType.Int64).Contiguous().ToArray<long>();
        var bv = bT.To(DType.Int64).Contiguous().ToArray<long>();
        // B transposed and shifted, so each output is one contiguous dot product.
        var bt = new long[bv.Length];
        for (int r = 0; r < k; r++)
            for (int c = 0; c < n; c++) bt[c * k + r] = bv[r * n + c] - zb[c];
        int rows = k == 0 ? 0 : av.Length / k;
        var y = new long[checked((long)rows * n)];
        for (int r = 0; r < rows; r++)
        {
            var row = av.AsSpan(r * k, k);
            for (int c = 0; c < n; c++)
            {
                var col = bt.AsSpan(c * k, k);
                long sum = 0;
                for (int i = 0; i < k; i++) sum += (row[i] - za) * col[i];
                y[(long)r * n + c] = sum;
            }
        }
        var shape = aT.Shape.ToArray();
        shape[^1] = n;
        return Tensor.FromArray(y, shape);
    }
}
