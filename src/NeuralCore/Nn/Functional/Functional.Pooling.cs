using NeuralCore.Backends;

namespace NeuralCore.Nn;

public static partial class Functional
{
    /// <summary>
    /// 2-d max pooling over square windows (as <c>torch.nn.functional.max_pool2d</c>). Padding is −∞; NaN
    /// propagates. Differentiable: the gradient flows to each window's (first) maximum.
    /// </summary>
    /// <param name="x">[N, C, H, W], or [C, H, W].</param>
    /// <param name="kernelSize">Window size.</param>
    /// <param name="stride">Step between windows; defaults to <paramref name="kernelSize"/>.</param>
    /// <param name="padding">Implicit padding on every side, at most kernelSize / 2.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <exception cref="ArgumentException">Bad parameters, rank or dtype, or an input too small for the window.</exception>
    public static Tensor MaxPool2d(Tensor x, int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false)
        => MaxPool2d(x, (kernelSize, kernelSize), stride is { } s ? (s, s) : null, (padding, padding), ceilMode);

    /// <summary>2-d max pooling with (height, width) window, stride and padding; see the other overload.</summary>
    /// <param name="x">[N, C, H, W], or [C, H, W].</param>
    /// <param name="kernelSize">(height, width) window.</param>
    /// <param name="stride">(height, width) step; defaults to the window.</param>
    /// <param name="padding">(height, width) implicit padding.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <exception cref="ArgumentException">Bad parameters, rank or dtype, or an input too small for the window.</exception>
    public static Tensor MaxPool2d(Tensor x, (int H, int W) kernelSize, (int H, int W)? stride = null, (int H, int W) padding = default, bool ceilMode = false)
        => Pool(x, PoolParams("MaxPool2d", kernelSize, stride, padding, ceilMode, true), "MaxPool2d", ConvOps.MaxPool2d);

    /// <summary>
    /// 2-d average pooling over square windows (as <c>torch.nn.functional.avg_pool2d</c>). Differentiable.
    /// </summary>
    /// <param name="x">[N, C, H, W], or [C, H, W].</param>
    /// <param name="kernelSize">Window size.</param>
    /// <param name="stride">Step between windows; defaults to <paramref name="kernelSize"/>.</param>
    /// <param name="padding">Implicit zero padding on every side, at most kernelSize / 2.</param>
    /// <param name="countIncludePad">Divide by the whole window including padding (default, as PyTorch) or by the covered input elements.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <exception cref="ArgumentException">Bad parameters, rank or dtype, or an input too small for the window.</exception>
    public static Tensor AvgPool2d(Tensor x, int kernelSize, int? stride = null, int padding = 0, bool countIncludePad = true, bool ceilMode = false)
        => AvgPool2d(x, (kernelSize, kernelSize), stride is { } s ? (s, s) : null, (padding, padding), countIncludePad, ceilMode);

    /// <summary>2-d average pooling with (height, width) window, stride and padding; see the other overload.</summary>
    /// <param name="x">[N, C, H, W], or [C, H, W].</param>
    /// <param name="kernelSize">(height, width) window.</param>
    /// <param name="stride">(height, width) step; defaults to the window.</param>
    /// <param name="padding">(height, width) implicit zero padding.</param>
    /// <param name="countIncludePad">Divide by the whole window including padding (default) or by the covered input elements.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <exception cref="ArgumentException">Bad parameters, rank or dtype, or an input too small for the window.</exception>
    public static Tensor AvgPool2d(Tensor x, (int H, int W) kernelSize, (int H, int W)? stride = null, (int H, int W) padding = default,
        bool countIncludePad = true, bool ceilMode = false)
        => Pool(x, PoolParams("AvgPool2d", kernelSize, stride, padding, ceilMode, countIncludePad), "AvgPool2d", ConvOps.AvgPool2d);

    /// <summary>
    /// Adaptive average pooling to a fixed output size (as <c>torch.nn.functional.adaptive_avg_pool2d</c>):
    /// output cell (i, j) averages input rows ⌊i·H/OH⌋ … ⌈(i+1)·H/OH⌉ − 1 and the corresponding columns.
    /// Differentiable.
    /// </summary>
    /// <param name="x">[N, C, H, W], or [C, H, W].</param>
    /// <param name="outputSize">(OH, OW), each at least 1.</param>
    /// <exception cref="ArgumentException">Bad output size, rank or dtype, or an empty input plane.</exception>
    public static Tensor AdaptiveAvgPool2d(Tensor x, (int H, int W) outputSize)
    {
        ArgumentNullException.ThrowIfNull(x);
        CheckPoolInput(x, "AdaptiveAvgPool2d");
        var (oh, ow) = outputSize;
        long h = x.Shape[-2], w = x.Shape[-1];
        if (oh < 1 || ow < 1) throw new ArgumentException($"AdaptiveAvgPool2d: output size ({oh}, {ow}) must be positive.");
        if (h < 1 || w < 1) throw new ArgumentException($"AdaptiveAvgPool2d: input {x.Shape} has an empty spatial plane.");
        long planes = x.Dim == 4 ? x.Shape[0] * x.Shape[1] : x.Shape[0];
        ShapeMath.RequireElements("AdaptiveAvgPool2d", [planes, oh, ow], $"input {x.Shape}, output size ({oh}, {ow})");
        // No planes: an empty result of the right shape, still connected to x for autograd.
        if (planes == 0) return x.Sum([-2, -1], keepDim: true).Expand([.. x.Shape.ToArray()[..^2], oh, ow]);
        // Equal bins are a plain average pool (the same kernel and rounding as PyTorch); otherwise the bins are
        // averaging matrices applied on both sides: y = Ph · x · Pwᵀ, which autograd differentiates as MatMuls.
        if (h % oh == 0 && w % ow == 0)
        {
            int kh = (int)(h / oh), kw = (int)(w / ow);
            return AvgPool2d(x, (kh, kw), (kh, kw));
        }
        // The averaging matrices and the intermediate rows · x are tensors too (the matrices built as Float64 on the CPU).
        ShapeMath.RequireElements("AdaptiveAvgPool2d", [planes, oh, w], $"input {x.Shape}, output size ({oh}, {ow}), intermediate rows");
        var cpu = BackendRegistry.For(Device.Cpu);
        ShapeMath.RequireBytes("AdaptiveAvgPool2d", ShapeMath.MulSaturating(oh, h), DType.Float64, cpu, $"the [{oh}, {h}] row averaging matrix for input {x.Shape}");
        ShapeMath.RequireBytes("AdaptiveAvgPool2d", ShapeMath.MulSaturating(ow, w), DType.Float64, cpu, $"the [{ow}, {w}] column averaging matrix for input {x.Shape}");
        var rows = BinMatrix(oh, (int)h, x);
        var cols = BinMatrix(ow, (int)w, x);
        return rows.MatMul(x).MatMul(cols.Transpose(0, 1));
    }

    /// <summary>Adaptive average pooling to a square output; see the (height, width) overload.</summary>
    /// <param name="x">[N, C, H, W], or [C, H, W].</param>
    /// <param name="outputSize">Output height and width.</param>
    /// <exception cref="ArgumentException">Bad output size, rank or dtype, or an empty input plane.</exception>
    public static Tensor AdaptiveAvgPool2d(Tensor x, int outputSize) => AdaptiveAvgPool2d(x, (outputSize, outputSize));

    // [outSize, inSize] matrix whose row i averages PyTorch's adaptive bin i.
    static Tensor BinMatrix(int outSize, int inSize, Tensor like)
    {
        var m = new double[(long)outSize * inSize];
        for (int i = 0; i < outSize; i++)
        {
            int start = (int)((long)i * inSize / outSize);
            int end = (int)(((long)(i + 1) * inSize + outSize - 1) / outSize);
            for (int k = start; k < end; k++) m[(long)i * inSize + k] = 1.0 / (end - start);
        }
        return Tensor.FromArray(m, outSize, inSize).To(like.DType).To(like.Device);
    }

    static Pool2dParams PoolParams(string op, (int H, int W) kernel, (int H, int W)? stride, (int H, int W) padding, bool ceilMode, bool countIncludePad)
    {
        var s = stride ?? kernel;
        if (kernel.H < 1 || kernel.W < 1) throw new ArgumentException($"{op}: kernel size ({kernel.H}, {kernel.W}) must be positive.");
        if (s.H < 1 || s.W < 1) throw new ArgumentException($"{op}: stride ({s.H}, {s.W}) must be positive.");
        if (padding.H < 0 || padding.W < 0 || padding.H > kernel.H / 2 || padding.W > kernel.W / 2)
            throw new ArgumentException($"{op}: padding ({padding.H}, {padding.W}) must be non-negative and at most half the kernel size ({kernel.H}, {kernel.W}).");
        return new Pool2dParams(kernel.H, kernel.W, s.H, s.W, padding.H, padding.W, ceilMode, countIncludePad);
    }

    static void CheckPoolInput(Tensor x, string op)
    {
        if (x.Dim is not (3 or 4))
            throw new ArgumentException($"{op}: expected a 3-d [C, H, W] or 4-d [N, C, H, W] input, got {x.Shape}.");
        if (!x.DType.IsFloatingPoint()) throw new ArgumentException($"{op}: needs a floating-point input, got {x.DType}.");
    }

    static Tensor Pool(Tensor x, Pool2dParams p, string op, Func<Tensor, Pool2dParams, Tensor> kernel)
    {
        ArgumentNullException.ThrowIfNull(x);
        CheckPoolInput(x, op);
        long h = x.Shape[-2], w = x.Shape[-1];
        long oh = ShapeMath.PoolOutputSize(h, p.KernelH, p.StrideH, p.PadH, p.CeilMode), ow = ShapeMath.PoolOutputSize(w, p.KernelW, p.StrideW, p.PadW, p.CeilMode);
        if (oh < 1 || ow < 1)
            throw new ArgumentException($"{op}: input {x.Shape} is too small for kernel ({p.KernelH}, {p.KernelW}) with padding ({p.PadH}, {p.PadW}): the output would be {oh}x{ow}.");
        long planes = x.Dim == 4 ? x.Shape[0] * x.Shape[1] : x.Shape[0];
        ShapeMath.RequireElements(op, [planes, oh, ow], $"input {x.Shape}, kernel ({p.KernelH}, {p.KernelW}), stride ({p.StrideH}, {p.StrideW}), padding ({p.PadH}, {p.PadW})");
        bool unbatched = x.Dim == 3;
        var y = kernel(unbatched ? x.Unsqueeze(0) : x, p);
        return unbatched ? y.Squeeze(0) : y;
    }
}
