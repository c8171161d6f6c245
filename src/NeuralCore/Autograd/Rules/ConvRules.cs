using NeuralCore.Nn;

namespace NeuralCore.Autograd.Rules;

/// <summary>
/// Backward rules of convolution and pooling. Conv2d, its input gradient BI and its weight gradient BW are
/// bilinear and close under differentiation: d/dx of Conv2d(x, w) is BI(g, w), d/dw is BW(x, g); BI and BW
/// differentiate back into the other two. Pool gradients are linear in the output gradient, so their own
/// rules are the forward pool (average) and a gather at the saved argmax positions (max).
/// </summary>
internal static class ConvRules
{
    public static readonly BackwardRule Conv2d = new("Conv2d", (n, g) =>
    {
        Tensor x = n.Inputs[0], w = n.Inputs[1];
        var p = ConvOps.ConvParams(n.Ints);
        return
        [
            n.NeedsGrad(0) ? ConvOps.Conv2dBackwardInput(g, w, x.shape[2], x.shape[3], p) : null,
            n.NeedsGrad(1) ? ConvOps.Conv2dBackwardWeight(x, g, w.shape[2], w.shape[3], p) : null,
        ];
    });

    /// <summary>Conv2d with a fused bias: the bias gradient sums the output gradient per channel.</summary>
    public static readonly BackwardRule Conv2dBias = new("Conv2dBias", (n, g) =>
    {
        Tensor x = n.Inputs[0], w = n.Inputs[1];
        var p = ConvOps.ConvParams(n.Ints);
        return
        [
            n.NeedsGrad(0) ? ConvOps.Conv2dBackwardInput(g, w, x.shape[2], x.shape[3], p) : null,
            n.NeedsGrad(1) ? ConvOps.Conv2dBackwardWeight(x, g, w.shape[2], w.shape[3], p) : null,
            n.NeedsGrad(2) ? ConvOps.Conv2dBiasGrad(g) : null,
        ];
    });

    /// <summary>db = Σ gy over (n, y, x), so d gy broadcasts g [O] back over [N, O, OH, OW].</summary>
    public static readonly BackwardRule Conv2dBiasGrad = new("Conv2dBiasGrad", (n, g) =>
    {
        var gy = n.Inputs[0];
        return [g.Reshape(1, g.Shape[0], 1, 1).Expand(gy.Shape.ToArray()).Contiguous()];
    });

    /// <summary>dx = BI(gy, w): d gy = Conv2d(g, w), d w = BW(g, gy).</summary>
    public static readonly BackwardRule Conv2dBackwardInput = new("Conv2dBackwardInput", (n, g) =>
    {
        Tensor gy = n.Inputs[0], w = n.Inputs[1];
        var p = ConvOps.ConvParams(n.Ints);
        return
        [
            n.NeedsGrad(0) ? ConvOps.Conv2d(g, w, p) : null,
            n.NeedsGrad(1) ? ConvOps.Conv2dBackwardWeight(g, gy, w.shape[2], w.shape[3], p) : null,
        ];
    });

    /// <summary>dw = BW(x, gy): d x = BI(gy, g), d gy = Conv2d(x, g).</summary>
    public static readonly BackwardRule Conv2dBackwardWeight = new("Conv2dBackwardWeight", (n, g) =>
    {
        Tensor x = n.Inputs[0], gy = n.Inputs[1];
        var p = ConvOps.ConvParams(n.Ints);
        return
        [
            n.NeedsGrad(0) ? ConvOps.Conv2dBackwardInput(gy, g, x.shape[2], x.shape[3], p) : null,
            n.NeedsGrad(1) ? ConvOps.Conv2d(x, g, p) : null,
        ];
    });

    public static readonly BackwardRule MaxPool2d = new("MaxPool2d", (n, g) =>
        [ConvOps.MaxPool2dBackward(g, n.Saved!, n.Ints[8], n.Ints[9], ConvOps.PoolParams(n.Ints))]);

    /// <summary>dx scatters gy to the argmax positions, so d gy gathers g from them.</summary>
    public static readonly BackwardRule MaxPool2dBackward = new("MaxPool2dBackward", (n, g) =>
    {
        var idx = n.Saved!;
        long nb = idx.Shape[0], c = idx.Shape[1];
        var planes = g.Reshape(nb, c, g.Shape[2] * g.Shape[3]);
        return [planes.Gather(2, idx.Reshape(nb, c, idx.Shape[2] * idx.Shape[3])).Reshape(idx.Shape.ToArray())];
    });

    public static readonly BackwardRule AvgPool2d = new("AvgPool2d", (n, g) =>
        [ConvOps.AvgPool2dBackward(g, n.Ints[8], n.Ints[9], ConvOps.PoolParams(n.Ints))]);

    /// <summary>The adjoint of the adjoint is the average pool itself.</summary>
    public static readonly BackwardRule AvgPool2dBackward = new("AvgPool2dBackward", (n, g) =>
        [ConvOps.AvgPool2d(g, ConvOps.PoolParams(n.Ints))]);
}
