using NeuralCore.Backends;
using NeuralCore.Profiling;

namespace NeuralCore.Autograd.Rules;

/// <summary>Backward rule of the fused attention.</summary>
internal static class AttentionRules
{
    /// <summary>
    /// Fused scaled dot-product attention (inputs q, k, v and optionally the additive mask, which gets no gradient;
    /// output saved; saved: log Σ exp per query row; A: scale; Ints[0]: causal; B: dropout probability, Ints[1..4]:
    /// the dropout's seed and first block as 32-bit halves): the backend recomputes the weights and the dropout mask
    /// block by block (see <see cref="IFusedAttentionKernels.AttentionBackward"/>).
    /// </summary>
    public static readonly BackwardRule ScaledDotProduct = new("ScaledDotProductAttention", (n, g) =>
    {
        Tensor q = n.Inputs[0], k = n.Inputs[1], v = n.Inputs[2];
        Tensor? mask = n.Inputs.Length > 3 ? n.Inputs[3] : null;
        var kernels = (IFusedAttentionKernels)q.Backend;
        var dO = g.DType == q.DType && (g.Buf.Shape[^1] <= 1 || g.Buf.Strides[^1] == 1) ? g : g.To(q.DType).Contiguous();
        var dq = Tensor.Empty([.. q.Buf.Shape], q.DType, q.Backend);
        var dk = Tensor.Empty([.. k.Buf.Shape], q.DType, q.Backend);
        var dv = Tensor.Empty([.. v.Buf.Shape], q.DType, q.Backend);
        var dropout = n.B > 0 ? new AttentionDropout(n.B, Join(n.Ints[1], n.Ints[2]), Join(n.Ints[3], n.Ints[4])) : AttentionDropout.None;
        kernels.AttentionBackward(q.Buf, k.Buf, v.Buf, mask?.Buf, n.Ints[0] != 0, n.A, dropout, n.Output.Buf, n.Saved!.Buf, dO.Buf,
            dq.Buf, dk.Buf, dv.Buf);
        FlopCosts.Add("scaled_dot_product_attention_backward", FlopCosts.AttentionBackward(q.Buf.Shape, v.Buf.Shape));
        return mask is null
            ? [n.NeedsGrad(0) ? dq : null, n.NeedsGrad(1) ? dk : null, n.NeedsGrad(2) ? dv : null]
            : [n.NeedsGrad(0) ? dq : null, n.NeedsGrad(1) ? dk : null, n.NeedsGrad(2) ? dv : null, null];
    });

    /// <summary>The node's integers for a dropout: causal flag, then seed and first block as (low, high) 32-bit halves.</summary>
    public static int[] Ints(bool causal, AttentionDropout dropout) =>
        [causal ? 1 : 0, (int)(uint)dropout.Seed, (int)(uint)(dropout.Seed >> 32), (int)(uint)dropout.Start, (int)(uint)(dropout.Start >> 32)];

    static ulong Join(int low, int high) => ((ulong)(uint)high << 32) | (uint)low;
}
