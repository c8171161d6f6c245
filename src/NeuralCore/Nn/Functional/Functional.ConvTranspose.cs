using NeuralCore.Backends;

namespace NeuralCore.Nn;

public static partial class Functional
{
    /// <summary>
    /// 2-d transposed convolution (the gradient of <see cref="Conv2d(Tensor, Tensor, Tensor?, int, int, int, int)"/>
    /// with respect to its input), as <c>torch.nn.functional.conv_transpose2d</c>. It runs on the convolution's
    /// input-gradient kernel, so it is differentiable in input, weight and bias on every backend.
    /// </summary>
    /// <param name="input">[N, Cin, H, W], or [Cin, H, W] for one unbatched image.</param>
    /// <param name="weight">PyTorch's layout [Cin, Cout/groups, kH, kW].</param>
    /// <param name="bias">[Cout], optional.</param>
    /// <param name="stride">(height, width) step between input positions in the output; default (1, 1).</param>
    /// <param name="padding">(height, width) implicit padding removed from each side of the output; default none.</param>
    /// <param name="outputPadding">(height, width) extra rows/columns added at the bottom/right of the output, each smaller than the stride.</param>
    /// <param name="groups">Channel groups: Cin and Cout are split into that many independent groups.</param>
    /// <param name="dilation">(height, width) spacing between kernel taps; default (1, 1).</param>
    /// <returns>[N, Cout, OH, OW] with OH = (H − 1)·stride − 2·padding + dilation·(kH − 1) + outputPadding + 1 (likewise OW).</returns>
    /// <exception cref="ArgumentException">Shapes, dtypes or parameters do not fit together; the message names the shapes.</exception>
    public static Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding = default,
        (int H, int W) outputPadding = default, int groups = 1, (int H, int W)? dilation = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        var d = dilation ?? (1, 1);
        var p = new Conv2dParams(stride.H, stride.W, padding.H, padding.W, d.H, d.W, groups);
        var (oh, ow) = CheckConvTranspose2d(input, weight, bias, p, outputPadding);
        var x = input.Dim == 3 ? input.Unsqueeze(0) : input;
        var y = ConvOps.Conv2dBackwardInput(x, weight, oh, ow, p);
        if (bias is not null) y = y + bias.Reshape(1, bias.Shape[0], 1, 1);
        return input.Dim == 3 ? y.Squeeze(0) : y;
    }

    /// <summary>Transposed convolution with the same stride, padding, output padding and dilation along both dimensions; see the other overload.</summary>
    /// <param name="input">[N, Cin, H, W], or [Cin, H, W].</param>
    /// <param name="weight">[Cin, Cout/groups, kH, kW].</param>
    /// <param name="bias">[Cout], optional.</param>
    /// <param name="stride">Step (≥ 1).</param>
    /// <param name="padding">Padding removed from each side (≥ 0).</param>
    /// <param name="outputPadding">Extra size on one side, smaller than the stride.</param>
    /// <param name="groups">Channel groups.</param>
    /// <param name="dilation">Spacing between kernel taps (≥ 1).</param>
    /// <exception cref="ArgumentException">Shapes, dtypes or parameters do not fit together.</exception>
    public static Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int outputPadding = 0,
        int groups = 1, int dilation = 1) =>
        ConvTranspose2d(input, weight, bias, (stride, stride), (padding, padding), (outputPadding, outputPadding), groups, (dilation, dilation));

    static (int H, int W) CheckConvTranspose2d(Tensor input, Tensor weight, Tensor? bias, Conv2dParams p, (int H, int W) outputPadding)
    {
        const string op = "ConvTranspose2d";
        if (input.Dim is not (3 or 4))
            throw new ArgumentException($"{op}: expected a 3-d [C, H, W] or 4-d [N, C, H, W] input, got {input.Shape}.");
        if (weight.Dim != 4)
            throw new ArgumentException($"{op}: expected a 4-d weight [in, out/groups, kH, kW], got {weight.Shape}.");
        Tensor.CheckSameDevice(input, weight, op);
        if (p.Groups < 1) throw new ArgumentException($"{op}: groups must be at least 1, got {p.Groups}.");
        if (p.StrideH < 1 || p.StrideW < 1) throw new ArgumentException($"{op}: stride must be positive, got ({p.StrideH}, {p.StrideW}).");
        if (p.PadH < 0 || p.PadW < 0) throw new ArgumentException($"{op}: padding must be non-negative, got ({p.PadH}, {p.PadW}).");
        if (p.DilationH < 1 || p.DilationW < 1) throw new ArgumentException($"{op}: dilation must be positive, got ({p.DilationH}, {p.DilationW}).");
        if (outputPadding.H < 0 || outputPadding.W < 0 || outputPadding.H >= p.StrideH || outputPadding.W >= p.StrideW)
            throw new ArgumentException($"{op}: output padding ({outputPadding.H}, {outputPadding.W}) must be non-negative and smaller than the stride ({p.StrideH}, {p.StrideW}).");
        if (!input.DType.IsFloatingPoint() || input.DType != weight.DType)
            throw new ArgumentException($"{op}: input ({input.DType}) and weight ({weight.DType}) must share a floating-point dtype.");
        int off = input.Dim - 3;
        long c = input.Shape[off], h = input.Shape[off + 1], w = input.Shape[off + 2];
        long kh = weight.Shape[2], kw = weight.Shape[3];
        if (weight.Shape[0] != c)
            throw new ArgumentException($"{op}: input {input.Shape} has {c} channels but weight {weight.Shape} expects {weight.Shape[0]} (layout [in, out/groups, kH, kW]).");
        if (c % p.Groups != 0)
            throw new ArgumentException($"{op}: groups {p.Groups} does not divide the {c} input channels of {input.Shape}.");
        if (kh < 1 || kw < 1 || h < 1 || w < 1)
            throw new ArgumentException($"{op}: input {input.Shape} and weight {weight.Shape} need positive spatial sizes.");
        long oh = (h - 1) * p.StrideH - 2L * p.PadH + p.DilationH * (kh - 1) + outputPadding.H + 1;
        long ow = (w - 1) * p.StrideW - 2L * p.PadW + p.DilationW * (kw - 1) + outputPadding.W + 1;
        if (oh < 1 || ow < 1)
            throw new ArgumentException($"{op}: input {input.Shape}, weight {weight.Shape}, stride ({p.StrideH}, {p.StrideW}) and padding ({p.PadH}, {p.PadW}) give a non-positive output size ({oh}, {ow}).");
        long n = input.Dim == 4 ? input.Shape[0] : 1;
        ShapeMath.RequireElements(op, [n, weight.Shape[1] * p.Groups, oh, ow], $"input {input.Shape}, weight {weight.Shape}");
        if (bias is not null)
        {
            Tensor.CheckSameDevice(input, bias, op);
            if (bias.Dim != 1 || bias.Shape[0] != weight.Shape[1] * p.Groups)
                throw new ArgumentException($"{op}: bias {bias.Shape} must be 1-d with {weight.Shape[1] * p.Groups} elements for weight {weight.Shape} and groups {p.Groups}.");
            if (bias.DType != input.DType)
                throw new ArgumentException($"{op}: bias ({bias.DType}) must have the input's dtype ({input.DType}).");
        }
        return ((int)oh, (int)ow);
    }
}
