using NeuralCore.Backends;
using NeuralCore.Profiling;

namespace NeuralCore.Autograd.Rules;

/// <summary>Backward rules of the fused losses.</summary>
internal static class LossRules
{
    /// <summary>
    /// Fused cross-entropy over logits x [N, C] and index targets t (inputs x, t; saved: the per-row log Σ exp and
    /// the loss divisor, see <see cref="IFusedLossKernels.CrossEntropyForward"/>; A: the ignore index):
    /// dx = dy·(softmax(x) − onehot(t)) / divisor, 0 on ignored rows.
    /// </summary>
    public static readonly BackwardRule CrossEntropy = new("CrossEntropy", (n, g) =>
    {
        Tensor x = n.Inputs[0], t = n.Inputs[1];
        if (!n.NeedsGrad(0)) return [null, null];
        var kernels = (IFusedLossKernels)x.Backend;
        var dy = g.IsContiguous && g.DType == x.DType ? g : g.To(x.DType).Contiguous();
        var dx = Tensor.Empty([(int)x.Shape[0], (int)x.Shape[1]], x.DType, x.Backend);
        kernels.CrossEntropyBackward(x.Buf, t.Buf, (long)n.A, n.Saved!.Buf, dy.Buf, dx.Buf);
        FlopCosts.Add("cross_entropy_backward", FlopCosts.CrossEntropyBackward(x.Buf.Shape));
        return [dx, null];
    });
}
