using System.Globalization;

namespace NeuralCore.Nn;

/// <summary>
/// 2-d average pooling, as <c>torch.nn.AvgPool2d</c>. Shape: input [N, C, H, W] (or [C, H, W]) → output
/// [N, C, OH, OW] with OH = (H + 2·padding − kernelH) / stride + 1 (rounded up in ceil mode). No parameters.
/// </summary>
public sealed class AvgPool2d : Module
{
    /// <summary>Creates the layer with a square window.</summary>
    /// <param name="kernelSize">Window size.</param>
    /// <param name="stride">Step between windows; defaults to <paramref name="kernelSize"/>.</param>
    /// <param name="padding">Implicit zero padding, at most kernelSize / 2.</param>
    /// <param name="countIncludePad">Divide by the whole window including padding (default) or by the covered input elements.</param>
    /// <param name="ceilMode">Round the output size up.</param>
    public AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool countIncludePad = true, bool ceilMode = false)
        : this((kernelSize, kernelSize), stride is { } s ? (s, s) : null, (padding, padding), countIncludePad, ceilMode)
    {
    }

    /// <summary>Creates the layer with a (height, width) window.</summary>
    /// <param name="kernelSize">(height, width) window.</param>
    /// <param name="stride">(height, width) step; defaults to the window.</param>
    /// <param name="padding">(height, width) implicit zero padding.</param>
    /// <param name="countIncludePad">Divide by the whole window including padding (default) or by the covered input elements.</param>
    /// <param name="ceilMode">Round the output size up.</param>
    /// <exception cref="ArgumentException">A size is out of range.</exception>
    public AvgPool2d((int H, int W) kernelSize, (int H, int W)? stride = null, (int H, int W) padding = default, bool countIncludePad = true, bool ceilMode = false)
    {
        var s = stride ?? kernelSize;
        if (kernelSize.H < 1 || kernelSize.W < 1 || s.H < 1 || s.W < 1 || padding.H < 0 || padding.W < 0 || padding.H > kernelSize.H / 2 || padding.W > kernelSize.W / 2)
            throw new ArgumentException($"AvgPool2d: kernel size ({kernelSize.H}, {kernelSize.W}) and stride ({s.H}, {s.W}) must be positive and padding ({padding.H}, {padding.W}) between 0 and half the kernel.");
        KernelSize = kernelSize;
        Stride = s;
        Padding = padding;
        CountIncludePad = countIncludePad;
        CeilMode = ceilMode;
    }

    /// <summary>(height, width) window.</summary>
    public (int H, int W) KernelSize { get; }

    /// <summary>(height, width) step between windows.</summary>
    public (int H, int W) Stride { get; }

    /// <summary>(height, width) implicit zero padding.</summary>
    public (int H, int W) Padding { get; }

    /// <summary>Whether padded positions count in the divisor.</summary>
    public bool CountIncludePad { get; }

    /// <summary>Whether the output size is rounded up.</summary>
    public bool CeilMode { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Functional.AvgPool2d(x, KernelSize, Stride, Padding, CountIncludePad, CeilMode);

    /// <inheritdoc />
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture,
        $"kernelSize: {PoolRepr.Size(KernelSize)}, stride: {PoolRepr.Size(Stride)}, padding: {PoolRepr.Size(Padding)}, countIncludePad: {CountIncludePad}, ceilMode: {CeilMode}");
}
