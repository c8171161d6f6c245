using NeuralCore.Backends;

namespace NeuralCore.Nn;

public static partial class Functional
{
    /// <summary>
    /// 2-d convolution (cross-correlation, as <c>torch.nn.functional.conv2d</c>) with the same stride, padding and
    /// dilation along both spatial dimensions. Differentiable in input, weight and bias.
    /// </summary>
    /// <param name="input">[N, C, H, W], or [C, H, W] for one unbatched image.</param>
    /// <param name="weight">[O, C/groups, kH, kW].</param>
    /// <param name="bias">[O], added to every output position; optional.</param>
    /// <param name="stride">Step between output positions (≥ 1).</param>
    /// <param name="padding">Zeros added on every side (≥ 0).</param>
    /// <param name="dilation">Spacing between kernel taps (≥ 1).</param>
    /// <param name="groups">Channel groups: each output channel sees only C/groups input channels.</param>
    /// <returns>[N, O, OH, OW] (or [O, OH, OW]) with OH = (H + 2·padding − dilation·(kH − 1) − 1) / stride + 1.</returns>
    /// <exception cref="ArgumentException">Shapes, dtypes or parameters do not fit together; the message names both shapes.</exception>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1)
        => Conv2d(input, weight, bias, (stride, stride), (padding, padding), (dilation, dilation), groups);

    /// <summary>2-d convolution with separate (height, width) stride, padding and dilation; see the other overload.</summary>
    /// <param name="input">[N, C, H, W], or [C, H, W] for one unbatched image.</param>
    /// <param name="weight">[O, C/groups, kH, kW].</param>
    /// <param name="bias">[O], optional.</param>
    /// <param name="stride">(height, width) step between output positions.</param>
    /// <param name="padding">(height, width) zero padding; default none.</param>
    /// <param name="dilation">(height, width) spacing between kernel taps; default (1, 1).</param>
    /// <param name="groups">Channel groups.</param>
    /// <exception cref="ArgumentException">Shapes, dtypes or parameters do not fit together.</exception>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding = default,
        (int H, int W)? dilation = null, int groups = 1)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        var d = dilation ?? (1, 1);
        var p = new Conv2dParams(stride.H, stride.W, padding.H, padding.W, d.H, d.W, groups);
        bool unbatched = CheckConv2d(input, weight, bias, p);
        var x = unbatched ? input.Unsqueeze(0) : input;
        var y = bias is null ? ConvOps.Conv2d(x, weight, p) : ConvOps.Conv2dBias(x, weight, bias, p);
        return unbatched ? y.Squeeze(0) : y;
    }

    // Returns true for a 3-d (unbatched) input.
    static bool CheckConv2d(Tensor input, Tensor weight, Tensor? bias, Conv2dParams p)
    {
        if (input.Dim is not (3 or 4))
            throw new ArgumentException($"Conv2d: expected a 3-d [C, H, W] or 4-d [N, C, H, W] input, got {input.Shape}.");
        if (weight.Dim != 4)
            throw new ArgumentException($"Conv2d: expected a 4-d weight [out, in/groups, kH, kW], got {weight.Shape}.");
        Tensor.CheckSameDevice(input, weight, "Conv2d");
        if (p.Groups < 1) throw new ArgumentException($"Conv2d: groups must be at least 1, got {p.Groups}.");
        if (p.StrideH < 1 || p.StrideW < 1) throw new ArgumentException($"Conv2d: stride must be positive, got ({p.StrideH}, {p.StrideW}).");
        if (p.PadH < 0 || p.PadW < 0) throw new ArgumentException($"Conv2d: padding must be non-negative, got ({p.PadH}, {p.PadW}).");
        if (p.DilationH < 1 || p.DilationW < 1) throw new ArgumentException($"Conv2d: dilation must be positive, got ({p.DilationH}, {p.DilationW}).");
        if (!input.DType.IsFloatingPoint() || input.DType != weight.DType)
            throw new ArgumentException($"Conv2d: input ({input.DType}) and weight ({weight.DType}) must share a floating-point dtype.");
        int off = input.Dim - 3;
        long c = input.Shape[off], h = input.Shape[off + 1], w = input.Shape[off + 2];
        long o = weight.Shape[0], kh = weight.Shape[2], kw = weight.Shape[3];
        if (o % p.Groups != 0)
            throw new ArgumentException($"Conv2d: weight {weight.Shape} has {o} output channels, which groups {p.Groups} does not divide.");
        if (c != weight.Shape[1] * p.Groups)
            throw new ArgumentException($"Conv2d: input {input.Shape} has {c} channels but weight {weight.Shape} expects {weight.Shape[1] * p.Groups} (groups {p.Groups}).");
        long ekh = p.DilationH * (kh - 1) + 1, ekw = p.DilationW * (kw - 1) + 1;
        if (kh < 1 || kw < 1 || ekh > h + 2L * p.PadH || ekw > w + 2L * p.PadW)
            throw new ArgumentException($"Conv2d: kernel ({ekh}, {ekw}) (dilated) of weight {weight.Shape} is larger than the padded input ({h + 2L * p.PadH}, {w + 2L * p.PadW}) of input {input.Shape}.");
        long n = input.Dim == 4 ? input.Shape[0] : 1;
        ShapeMath.RequireElements("Conv2d", [n, o, ShapeMath.ConvOutputSize(h, kh, p.StrideH, p.PadH, p.DilationH), ShapeMath.ConvOutputSize(w, kw, p.StrideW, p.PadW, p.DilationW)],
            $"input {input.Shape}, weight {weight.Shape}, stride ({p.StrideH}, {p.StrideW}), padding ({p.PadH}, {p.PadW}), dilation ({p.DilationH}, {p.DilationW})");
        if (bias is not null)
        {
            Tensor.CheckSameDevice(input, bias, "Conv2d");
            if (bias.Dim != 1 || bias.Shape[0] != o)
                throw new ArgumentException($"Conv2d: bias {bias.Shape} must be 1-d with {o} elements for weight {weight.Shape}.");
            if (bias.DType != input.DType)
                throw new ArgumentException($"Conv2d: bias ({bias.DType}) must have the input's dtype ({input.DType}).");
        }
        return input.Dim == 3;
    }
}
