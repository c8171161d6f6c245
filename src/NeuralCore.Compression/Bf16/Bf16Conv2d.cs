using NeuralCore.Nn;

namespace NeuralCore.Compression.Bf16;

/// <summary>
/// Inference-only 2-d convolution with bfloat16 weights (groups 1): the input is unfolded into patches (im2col,
/// zero padding) and multiplied with the bfloat16 weight [outChannels, inChannels·kH·kW] by the same kernel as
/// <see cref="Bf16Linear"/>, accumulating in float32. Runs on the CPU without gradients.
/// Shape: input [N, inChannels, H, W] Float32/Float64; output [N, outChannels, H', W'] Float32 on the CPU.
/// </summary>
public sealed class Bf16Conv2d : Module
{
    readonly ushort[] weight;
    readonly float[]? bias;

    /// <summary>Converts a float <see cref="Conv2d"/>.</summary>
    /// <exception cref="NotSupportedException">The convolution is grouped.</exception>
    public Bf16Conv2d(Conv2d conv)
    {
        ArgumentNullException.ThrowIfNull(conv);
        if (conv.Groups != 1) throw new NotSupportedException($"Bf16Conv2d: grouped convolutions (groups {conv.Groups}) are not supported.");
        (InChannels, OutChannels, KernelSize, Stride, Padding, Dilation) = (conv.InChannels, conv.OutChannels, conv.KernelSize, conv.Stride, conv.Padding, conv.Dilation);
        weight = BFloat16.FromTensor(conv.Weight);
        bias = conv.Bias is null ? null : Bf16Linear.Floats(conv.Bias);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Kernel height and width.</summary>
    public (int H, int W) KernelSize { get; }

    /// <summary>Stride.</summary>
    public (int H, int W) Stride { get; }

    /// <summary>Zero padding on each side.</summary>
    public (int H, int W) Padding { get; }

    /// <summary>Dilation.</summary>
    public (int H, int W) Dilation { get; }

    /// <summary>The weight's bfloat16 bits, row-major [outChannels, inChannels, kH, kW].</summary>
    public ReadOnlySpan<ushort> WeightBits => weight;

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The input is not [N, inChannels, H, W] or is smaller than the dilated kernel.</exception>
    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Dim != 4 || x.Shape[1] != InChannels)
            throw new ArgumentException($"Bf16Conv2d: expected input [N, {InChannels}, H, W], got {x.Shape}.", nameof(x));
        int n = (int)x.Shape[0], h = (int)x.Shape[2], w = (int)x.Shape[3];
        int oh = (h + 2 * Padding.H - Dilation.H * (KernelSize.H - 1) - 1) / Stride.H + 1;
        int ow = (w + 2 * Padding.W - Dilation.W * (KernelSize.W - 1) - 1) / Stride.W + 1;
        if (oh < 1 || ow < 1)
            throw new ArgumentException($"Bf16Conv2d: input {x.Shape} is smaller than the kernel {KernelSize} (padding {Padding}, dilation {Dilation}).", nameof(x));
        int patch = InChannels * KernelSize.H * KernelSize.W;
        var input = Bf16Linear.Floats(x);
        var cols = new float[checked((long)n * oh * ow * patch)];
        Unfold(input, cols, n, h, w, oh, ow);
        var output = new float[(long)n * oh * ow * OutChannels];
        Bf16Gemm.Multiply(cols, weight, bias, output, n * oh * ow, patch, OutChannels);
        using (Tensor.NoGrad())
            return Tensor.FromArray(output, n, oh, ow, OutChannels).Permute(0, 3, 1, 2).Contiguous();
    }

    // cols[(b·oh + i)·ow + j, (c·kH + u)·kW + v] = input[b, c, i·sH − pH + u·dH, j·sW − pW + v·dW], or 0 in the padding.
    void Unfold(float[] input, float[] cols, int n, int h, int w, int oh, int ow)
    {
        int kh = KernelSize.H, kw = KernelSize.W, patch = InChannels * kh * kw;
        for (int b = 0; b < n; b++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    int row = ((b * oh + i) * ow + j) * patch;
                    for (int c = 0; c < InChannels; c++)
                        for (int u = 0; u < kh; u++)
                        {
                            int y = i * Stride.H - Padding.H + u * Dilation.H;
                            for (int v = 0; v < kw; v++)
                            {
                                int xx = j * Stride.W - Padding.W + v * Dilation.W;
                                cols[row + (c * kh + u) * kw + v] = y >= 0 && y < h && xx >= 0 && xx < w ? input[((b * InChannels + c) * h + y) * w + xx] : 0f;
                            }
                        }
                }
    }

    /// <inheritdoc />
    protected override string ExtraRepr() =>
        $"{InChannels}, {OutChannels}, kernelSize: ({KernelSize.H}, {KernelSize.W}), stride: ({Stride.H}, {Stride.W}), padding: ({Padding.H}, {Padding.W}), weights: bfloat16";
}
