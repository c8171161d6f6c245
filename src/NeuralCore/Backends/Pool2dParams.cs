namespace NeuralCore.Backends;

/// <summary>
/// Hyper-parameters of a 2-d max or average pooling, as in <c>torch.nn.functional.max_pool2d</c> and
/// <c>avg_pool2d</c>. Input [N, C, H, W] and output [N, C, OH, OW] travel in the views given to the kernel.
/// Padding is implicit (−∞ for max pooling, zeros for average pooling) and at most half the kernel.
/// </summary>
/// <param name="KernelH">Window height (≥ 1).</param>
/// <param name="KernelW">Window width (≥ 1).</param>
/// <param name="StrideH">Vertical step between windows (≥ 1).</param>
/// <param name="StrideW">Horizontal step between windows (≥ 1).</param>
/// <param name="PadH">Implicit padding rows on both sides (0 ≤ PadH ≤ KernelH / 2).</param>
/// <param name="PadW">Implicit padding columns on both sides (0 ≤ PadW ≤ KernelW / 2).</param>
/// <param name="CeilMode">Round the output size up, so a last partial window that starts inside the input counts.</param>
/// <param name="CountIncludePad">Average pooling divides by the window size including padding (PyTorch's default) rather than by the number of input elements covered.</param>
public readonly record struct Pool2dParams(int KernelH, int KernelW, int StrideH, int StrideW, int PadH, int PadW,
    bool CeilMode = false, bool CountIncludePad = true)
{
    /// <summary>Output height for an input of height <paramref name="height"/> (computed in 64-bit; 0 when the window does not fit).</summary>
    /// <exception cref="ArgumentException">The stride is not positive.</exception>
    public int OutputHeight(int height) => OutputSize(height, KernelH, StrideH, PadH, CeilMode);

    /// <summary>Output width for an input of width <paramref name="width"/> (computed in 64-bit; 0 when the window does not fit).</summary>
    /// <exception cref="ArgumentException">The stride is not positive.</exception>
    public int OutputWidth(int width) => OutputSize(width, KernelW, StrideW, PadW, CeilMode);

    /// <summary>
    /// Checks a kernel's operands against these parameters (what every backend's pooling kernels validate first):
    /// input [N, C, H, W] and output [N, C, OH, OW] of one dtype, with OH and OW as these parameters give them.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes, parameters or dtypes do not fit (the message names <paramref name="op"/>).</exception>
    internal void Check(string op, BufferView input, BufferView output)
    {
        if (input.Rank != 4 || output.Rank != 4 || input.Shape[0] != output.Shape[0] || input.Shape[1] != output.Shape[1]
            || output.Shape[2] != OutputHeight(input.Shape[2]) || output.Shape[3] != OutputWidth(input.Shape[3]))
            throw new ArgumentException($"{op}: inconsistent shapes input {ShapeMath.Format(input.Shape)}, output {ShapeMath.Format(output.Shape)} for {this}.");
        if (KernelH < 1 || KernelW < 1 || StrideH < 1 || StrideW < 1 || PadH < 0 || PadW < 0 || PadH > KernelH / 2 || PadW > KernelW / 2)
            throw new ArgumentException($"{op}: invalid parameters {this}.");
        if (input.DType != output.DType) throw new ArgumentException($"{op}: operands must share a dtype, got {input.DType} and {output.DType}.");
    }

    static int OutputSize(int size, int kernel, int stride, int pad, bool ceil)
    {
        if (stride < 1) throw new ArgumentException($"Pool2d: stride must be positive, got {stride}.");
        return ShapeMath.ToDim(ShapeMath.PoolOutputSize(size, kernel, stride, pad, ceil), "Pool2d", "output size");
    }
}
