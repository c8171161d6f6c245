namespace NeuralCore.Backends;

/// <summary>
/// Operand validation of the optional fused capabilities (<see cref="IFusedOptimizerKernels"/>,
/// <see cref="IFusedLossKernels"/>, <see cref="IConvBiasFusion"/>, <see cref="IFusedAttentionKernels"/>), shared by every backend that implements them
/// so that all reject the same operands with the same messages.
/// </summary>
internal static class FusedOperandChecks
{
    /// <summary>The parameter is contiguous; every other operand is contiguous and of its dtype and size.</summary>
    public static void Optimizer(string op, BufferView parameter, params ReadOnlySpan<BufferView> others)
    {
        if (!parameter.IsContiguous) throw new ArgumentException($"{op}: the parameter must be contiguous.");
        foreach (var o in others)
        {
            if (!o.IsContiguous || o.Count != parameter.Count || o.DType != parameter.DType)
                throw new ArgumentException($"{op}: every operand must be contiguous, of the parameter's dtype {parameter.DType} and size {parameter.Count}; got {o.DType} of {o.Count} elements.");
        }
    }

    /// <summary>Logits [N, C], targets [N] and the saved [N + 1] buffer of a fused cross-entropy.</summary>
    public static void CrossEntropy(BufferView logits, BufferView target, BufferView saved)
    {
        if (logits.Rank != 2 || !logits.IsContiguous || logits.DType is not (DType.Float32 or DType.Float64))
            throw new ArgumentException($"CrossEntropy: logits must be dense 2-d Float32/Float64, got {logits.DType} of rank {logits.Rank}.");
        int n = logits.Shape[0];
        if (target.Count != n || !target.IsContiguous || target.DType is not (DType.Int64 or DType.Int32))
            throw new ArgumentException($"CrossEntropy: targets must be dense Int64/Int32 with {n} elements, got {target.DType} with {target.Count}.");
        if (saved.Count != n + 1 || !saved.IsContiguous || saved.DType != logits.DType)
            throw new ArgumentException($"CrossEntropy: saved must be dense {logits.DType} with {n + 1} elements (log Σ exp per row, then the divisor).");
    }

    /// <summary>The forward's output, [N] (returns true: per-sample losses) or 0-d.</summary>
    public static bool CrossEntropyOutput(BufferView logits, BufferView output)
    {
        int n = logits.Shape[0];
        bool perSample = output.Rank == 1;
        if (!output.IsContiguous || output.DType != logits.DType || (perSample ? output.Count != n : output.Rank != 0))
            throw new ArgumentException($"CrossEntropyForward: output must be dense {logits.DType}, [{n}] or 0-d.");
        return perSample;
    }

    /// <summary>The backward's gradients: gradInput shaped like the logits, gradOutput [N] (returns true) or 0-d.</summary>
    public static bool CrossEntropyGradients(BufferView logits, BufferView gradOutput, BufferView gradInput)
    {
        int n = logits.Shape[0];
        if (!gradInput.IsContiguous || gradInput.DType != logits.DType || gradInput.Count != logits.Count)
            throw new ArgumentException($"CrossEntropyBackward: gradInput must be dense {logits.DType} shaped like the logits.");
        bool perSample = gradOutput.Rank == 1;
        if (gradOutput.DType != logits.DType || !gradOutput.IsContiguous || (perSample ? gradOutput.Count != n : gradOutput.Rank != 0))
            throw new ArgumentException($"CrossEntropyBackward: gradOutput must be dense {logits.DType}, [{n}] or 0-d.");
        return perSample;
    }

    /// <summary>A convolution bias: 1-d, one element per output channel, of the input's dtype.</summary>
    public static void ConvBias(BufferView bias, int outChannels, DType dtype)
    {
        if (bias.Rank != 1 || bias.Shape[0] != outChannels || bias.DType != dtype)
            throw new ArgumentException($"Conv2dBias: bias must be a 1-d {dtype} view of {outChannels} elements, got {bias.DType} {ShapeMath.Format(bias.Shape)}.");
    }

    /// <summary>gradOutput [N, O, OH, OW] and a contiguous gradBias [O] of one floating dtype.</summary>
    public static void ConvBiasGrad(BufferView gradOutput, BufferView gradBias)
    {
        if (gradOutput.Rank != 4 || gradBias.Rank != 1 || gradBias.Shape[0] != gradOutput.Shape[1] || gradOutput.DType != gradBias.DType)
            throw new ArgumentException($"Conv2dBiasGrad: expects gradOutput [N, O, OH, OW] and gradBias [O] of one dtype, got {gradOutput.DType} {ShapeMath.Format(gradOutput.Shape)} and {gradBias.DType} {ShapeMath.Format(gradBias.Shape)}.");
        if (!gradBias.IsContiguous) throw new ArgumentException("Conv2dBiasGrad: the destination must be contiguous.");
        if (gradOutput.DType is not (DType.Float32 or DType.Float64))
            throw new ArgumentException($"Conv2dBiasGrad: needs Float32 or Float64 operands, got {gradOutput.DType}.");
    }

    /// <summary>
    /// The operands of a fused attention pass (see <see cref="IFusedAttentionKernels"/>); returns (B, H, Lq, Lk, D, Dv).
    /// </summary>
    public static (int B, int H, int Lq, int Lk, int D, int Dv) Attention(string op, BufferView q, BufferView k, BufferView v,
        BufferView? mask, BufferView output, BufferView logSumExp)
    {
        if (q.Rank != 4 || k.Rank != 4 || v.Rank != 4)
            throw new ArgumentException($"{op}: query, key and value must be [B, H, L, D], got ranks {q.Rank}, {k.Rank}, {v.Rank}.");
        if (q.DType is not (DType.Float32 or DType.Float64) || k.DType != q.DType || v.DType != q.DType)
            throw new ArgumentException($"{op}: query, key and value must share a Float32/Float64 dtype, got {q.DType}, {k.DType}, {v.DType}.");
        int b = q.Shape[0], h = q.Shape[1], lq = q.Shape[2], d = q.Shape[3], lk = k.Shape[2], dv = v.Shape[3];
        if (k.Shape[0] != b || k.Shape[1] != h || k.Shape[3] != d || v.Shape[0] != b || v.Shape[1] != h || v.Shape[2] != lk)
            throw new ArgumentException($"{op}: query [{string.Join(", ", q.Shape)}], key [{string.Join(", ", k.Shape)}] and value [{string.Join(", ", v.Shape)}] do not fit [B, H, Lq, D], [B, H, Lk, D], [B, H, Lk, Dv].");
        RequireUnitLastStride(op, "query", q);
        RequireUnitLastStride(op, "key", k);
        RequireUnitLastStride(op, "value", v);
        if (mask is BufferView m && (m.Rank != 4 || m.Shape[0] != b || m.Shape[1] != h || m.Shape[2] != lq || m.Shape[3] != lk || m.DType != q.DType))
            throw new ArgumentException($"{op}: the mask must be viewed as [{b}, {h}, {lq}, {lk}] of {q.DType}, got [{string.Join(", ", m.Shape)}] of {m.DType}.");
        RequireDense(op, "output", output, q.DType, b * h * lq * dv);
        RequireDense(op, "logSumExp", logSumExp, q.DType, b * h * lq);
        return (b, h, lq, lk, d, dv);
    }

    /// <summary>A dense operand of the given dtype and element count.</summary>
    public static void RequireDense(string op, string name, BufferView view, DType dtype, int count)
    {
        if (!view.IsContiguous || view.DType != dtype || view.Count != count)
            throw new ArgumentException($"{op}: {name} must be dense {dtype} with {count} elements, got {view.DType} with {view.Count}.");
    }

    static void RequireUnitLastStride(string op, string name, BufferView view)
    {
        if (view.Shape[3] > 1 && view.Strides[3] != 1)
            throw new ArgumentException($"{op}: {name} must have unit stride in its last dimension, got strides [{string.Join(", ", view.Strides)}].");
    }
}
