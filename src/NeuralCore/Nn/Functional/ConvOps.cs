using NeuralCore.Autograd;
using NeuralCore.Autograd.Rules;
using NeuralCore.Backends;
using NeuralCore.Profiling;

namespace NeuralCore.Nn;

/// <summary>
/// Tensor-level convolution and pooling primitives: each allocates its output, calls the backend kernel and
/// records its backward rule. The backward kernels are ops of their own (with rules in <see cref="ConvRules"/>),
/// so gradients run on every backend and can be differentiated again. Inputs are already validated, 4-d
/// [N, C, H, W] and share one floating dtype; <see cref="Functional"/> does the checking.
/// </summary>
internal static class ConvOps
{
    // Node.Ints layout: conv = [strideH, strideW, padH, padW, dilationH, dilationW, groups, h, w],
    // pool = [kernelH, kernelW, strideH, strideW, padH, padW, ceilMode, countIncludePad, h, w],
    // where (h, w) is the spatial size the backward op must produce.
    public static int[] Ints(Conv2dParams p, int h = 0, int w = 0) =>
        [p.StrideH, p.StrideW, p.PadH, p.PadW, p.DilationH, p.DilationW, p.Groups, h, w];

    public static Conv2dParams ConvParams(int[] i) => new(i[0], i[1], i[2], i[3], i[4], i[5], i[6]);

    public static int[] Ints(Pool2dParams p, int h = 0, int w = 0) =>
        [p.KernelH, p.KernelW, p.StrideH, p.StrideW, p.PadH, p.PadW, p.CeilMode ? 1 : 0, p.CountIncludePad ? 1 : 0, h, w];

    public static Pool2dParams PoolParams(int[] i) => new(i[0], i[1], i[2], i[3], i[4], i[5], i[6] != 0, i[7] != 0);

    /// <summary>x [N, C, H, W] ⋆ w [O, C/groups, kH, kW] → [N, O, OH, OW].</summary>
    public static Tensor Conv2d(Tensor x, Tensor w, Conv2dParams p)
    {
        int[] shape = [x.shape[0], w.shape[0], p.OutputHeight(x.shape[2], w.shape[2]), p.OutputWidth(x.shape[3], w.shape[3])];
        var y = Tensor.Empty(shape, x.DType, x.Backend);
        x.Backend.Conv2d(x.Buf, w.Buf, y.Buf, p);
        FlopCosts.Conv2d("conv2d", x.shape, w.shape, shape);
        return Engine.Record(y, ConvRules.Conv2d, [x, w], ints: Ints(p));
    }

    /// <summary>
    /// Conv2d plus bias [O] broadcast over every output position. A backend with <see cref="IConvBiasFusion"/>
    /// adds the bias while writing the output and reduces its gradient in one pass; others compose the
    /// convolution with a broadcast add.
    /// </summary>
    public static Tensor Conv2dBias(Tensor x, Tensor w, Tensor bias, Conv2dParams p)
    {
        if (x.Backend is not IConvBiasFusion fused) return Conv2d(x, w, p) + bias.Reshape(1, bias.Shape[0], 1, 1);
        int[] shape = [x.shape[0], w.shape[0], p.OutputHeight(x.shape[2], w.shape[2]), p.OutputWidth(x.shape[3], w.shape[3])];
        var y = Tensor.Empty(shape, x.DType, x.Backend);
        fused.Conv2dBias(x.Buf, w.Buf, bias.Buf, y.Buf, p);
        // The same counts as the composed path: the convolution, then one add per output element.
        FlopCosts.Conv2d("conv2d", x.shape, w.shape, shape);
        FlopCosts.Binary(BinaryOp.Add, y.Buf);
        return Engine.Record(y, ConvRules.Conv2dBias, [x, w, bias], ints: Ints(p));
    }

    /// <summary>Bias gradient of <see cref="Conv2dBias"/>: gradOutput [N, O, OH, OW] summed to [O].</summary>
    public static Tensor Conv2dBiasGrad(Tensor gradOutput)
    {
        if (gradOutput.Backend is not IConvBiasFusion fused) return gradOutput.Sum([0, 2, 3]);
        var db = Tensor.Empty([gradOutput.shape[1]], gradOutput.DType, gradOutput.Backend);
        fused.Conv2dBiasGrad(gradOutput.Buf, db.Buf);
        FlopCosts.Reduce(ReduceOp.Sum, gradOutput.Buf);
        return Engine.Record(db, ConvRules.Conv2dBiasGrad, [gradOutput]);
    }

    /// <summary>Gradient of <see cref="Conv2d"/> with respect to an input of spatial size (h, w).</summary>
    public static Tensor Conv2dBackwardInput(Tensor gradOutput, Tensor w, int h, int width, Conv2dParams p)
    {
        var dx = Tensor.Empty([gradOutput.shape[0], w.shape[1] * p.Groups, h, width], gradOutput.DType, gradOutput.Backend);
        gradOutput.Backend.Conv2dBackwardInput(gradOutput.Buf, w.Buf, dx.Buf, p);
        FlopCosts.Conv2d("conv2d_backward_input", dx.shape, w.shape, gradOutput.shape);
        return Engine.Record(dx, ConvRules.Conv2dBackwardInput, [gradOutput, w], ints: Ints(p, h, width));
    }

    /// <summary>Gradient of <see cref="Conv2d"/> with respect to a weight of kernel size (kh, kw), summed over the batch.</summary>
    public static Tensor Conv2dBackwardWeight(Tensor x, Tensor gradOutput, int kh, int kw, Conv2dParams p)
    {
        var dw = Tensor.Empty([gradOutput.shape[1], x.shape[1] / p.Groups, kh, kw], x.DType, x.Backend);
        x.Backend.Conv2dBackwardWeight(x.Buf, gradOutput.Buf, dw.Buf, p);
        FlopCosts.Conv2d("conv2d_backward_weight", x.shape, dw.shape, gradOutput.shape);
        return Engine.Record(dw, ConvRules.Conv2dBackwardWeight, [x, gradOutput], ints: Ints(p, kh, kw));
    }

    /// <summary>Max pooling; the argmax indices are kept only when the pass records a gradient.</summary>
    public static Tensor MaxPool2d(Tensor x, Pool2dParams p)
    {
        int[] shape = [x.shape[0], x.shape[1], p.OutputHeight(x.shape[2]), p.OutputWidth(x.shape[3])];
        var y = Tensor.Empty(shape, x.DType, x.Backend);
        bool recorded = GradMode.Enabled && x.RequiresGrad;
        if (!recorded && x.Backend is IMaxPoolValues values)
        {
            values.MaxPool2dValues(x.Buf, y.Buf, p);
            FlopCosts.Pool("max_pool2d", shape, p);
            return y;
        }
        var indices = Tensor.Empty(shape, DType.Int64, x.Backend);
        x.Backend.MaxPool2d(x.Buf, y.Buf, indices.Buf, p);
        FlopCosts.Pool("max_pool2d", shape, p);
        if (!recorded)
        {
            indices.Dispose();
            return y;
        }
        return Engine.Record(y, ConvRules.MaxPool2d, [x], ints: Ints(p, x.shape[2], x.shape[3]), saved: indices);
    }

    public static Tensor MaxPool2dBackward(Tensor gradOutput, Tensor indices, int h, int w, Pool2dParams p)
    {
        var dx = Tensor.Empty([gradOutput.shape[0], gradOutput.shape[1], h, w], gradOutput.DType, gradOutput.Backend);
        gradOutput.Backend.MaxPool2dBackward(gradOutput.Buf, indices.Buf, dx.Buf, p);
        FlopCosts.Add("max_pool2d_backward", gradOutput.NumElements);
        return Engine.Record(dx, ConvRules.MaxPool2dBackward, [gradOutput], ints: Ints(p, h, w), saved: indices);
    }

    public static Tensor AvgPool2d(Tensor x, Pool2dParams p)
    {
        var y = Tensor.Empty([x.shape[0], x.shape[1], p.OutputHeight(x.shape[2]), p.OutputWidth(x.shape[3])], x.DType, x.Backend);
        x.Backend.AvgPool2d(x.Buf, y.Buf, p);
        FlopCosts.Pool("avg_pool2d", y.shape, p);
        return Engine.Record(y, ConvRules.AvgPool2d, [x], ints: Ints(p, x.shape[2], x.shape[3]));
    }

    public static Tensor AvgPool2dBackward(Tensor gradOutput, int h, int w, Pool2dParams p)
    {
        var dx = Tensor.Empty([gradOutput.shape[0], gradOutput.shape[1], h, w], gradOutput.DType, gradOutput.Backend);
        gradOutput.Backend.AvgPool2dBackward(gradOutput.Buf, dx.Buf, p);
        FlopCosts.Pool("avg_pool2d_backward", gradOutput.shape, p);
        return Engine.Record(dx, ConvRules.AvgPool2dBackward, [gradOutput], ints: Ints(p, h, w));
    }
}
