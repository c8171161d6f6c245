using NeuralCore.Data;

namespace NeuralCore.Vision;

/// <summary>Pads each border by <c>padding</c> pixels, then cuts a random <c>size × size</c> window (torchvision's RandomCrop).</summary>
internal sealed class RandomCropTransform : ITransform
{
    readonly int size;
    readonly int padding;
    readonly PaddingMode mode;
    readonly double fill;

    internal RandomCropTransform(int size, int padding, string paddingMode, double fill)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        ArgumentNullException.ThrowIfNull(paddingMode);
        if (!double.IsFinite(fill)) throw new ArgumentOutOfRangeException(nameof(fill), fill, "RandomCrop: the fill value must be finite.");
        this.size = size;
        this.padding = padding;
        mode = PaddingModes.Parse(paddingMode);
        this.fill = fill;
    }

    public Tensor Apply(Tensor input)
    {
        var (_, h, w) = ImageTensor.Dims(input, "RandomCrop");
        int spanH = h + 2 * padding - size, spanW = w + 2 * padding - size;
        if (spanH < 0 || spanW < 0)
            throw new ArgumentException($"RandomCrop: a {size}×{size} crop does not fit an image of shape {input.Shape} padded by {padding}.");
        var gen = TransformContext.Generator;
        int top = gen.NextInt(spanH + 1) - padding;
        int left = gen.NextInt(spanW + 1) - padding;
        return ImageTensor.Run(input, new CropKernel(top, left, size, size, mode, fill), "RandomCrop");
    }

    public override string ToString() => $"RandomCrop(size: {size}, padding: {padding}, paddingMode: {mode.ToString().ToLowerInvariant()}, fill: {fill})";
}
