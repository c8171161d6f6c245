namespace NeuralCore.Backends;

/// <summary>
/// Hyper-parameters of a 2-d convolution, as in <c>torch.nn.functional.conv2d</c>. Tensor shapes travel in the
/// views given to the kernel: input [N, C, H, W], weight [O, C/groups, kH, kW], output [N, O, OH, OW] with
/// <c>OH = (H + 2·PadH − DilationH·(kH − 1) − 1) / StrideH + 1</c> (likewise OW).
/// </summary>
/// <param name="StrideH">Vertical step between output positions (≥ 1).</param>
/// <param name="StrideW">Horizontal step between output positions (≥ 1).</param>
/// <param name="PadH">Zero rows added above and below the input (≥ 0).</param>
/// <param name="PadW">Zero columns added left and right of the input (≥ 0).</param>
/// <param name="DilationH">Vertical spacing between kernel taps (≥ 1).</param>
/// <param name="DilationW">Horizontal spacing between kernel taps (≥ 1).</param>
/// <param name="Groups">Number of channel groups; C and O are both multiples of it (≥ 1).</param>
public readonly record struct Conv2dParams(int StrideH, int StrideW, int PadH, int PadW, int DilationH, int DilationW, int Groups)
{
    /// <summary>
    /// Output height for an input of height <paramref name="height"/> and kernel height <paramref name="kernelH"/>
    /// (computed in 64-bit; 0 when the dilated kernel does not fit the padded input).
    /// </summary>
    /// <exception cref="ArgumentException">The stride is not positive, or the height exceeds <see cref="int.MaxValue"/>.</exception>
    public int OutputHeight(int height, int kernelH) => OutputSize(height, kernelH, StrideH, PadH, DilationH, "height");

    /// <summary>
    /// Output width for an input of width <paramref name="width"/> and kernel width <paramref name="kernelW"/>
    /// (computed in 64-bit; 0 when the dilated kernel does not fit the padded input).
    /// </summary>
    /// <exception cref="ArgumentException">The stride is not positive, or the width exceeds <see cref="int.MaxValue"/>.</exception>
    public int OutputWidth(int width, int kernelW) => OutputSize(width, kernelW, StrideW, PadW, DilationW, "width");

    static int OutputSize(int size, int kernel, int stride, int pad, int dilation, string axis)
    {
        if (stride < 1) throw new ArgumentException($"Conv2d: stride must be positive, got {stride}.");
        return ShapeMath.ToDim(ShapeMath.ConvOutputSize(size, kernel, stride, pad, dilation), "Conv2d", $"output {axis}");
    }
}
