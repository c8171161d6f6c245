using NeuralCore.Data;

namespace NeuralCore.Vision;

/// <summary>Cuts the central <c>size × size</c> window; an image smaller than that is zero-padded (as torchvision).</summary>
internal sealed class CenterCropTransform : ITransform
{
    readonly int size;

    internal CenterCropTransform(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        this.size = size;
    }

    public Tensor Apply(Tensor input)
    {
        var (_, h, w) = ImageTensor.Dims(input, "CenterCrop");
        // torchvision rounds half-way offsets with Python's round(), i.e. to even; Math.Round does the same.
        int top = (int)Math.Round((h - size) / 2.0);
        int left = (int)Math.Round((w - size) / 2.0);
        return ImageTensor.Run(input, new CropKernel(top, left, size, size, PaddingMode.Constant, 0), "CenterCrop");
    }

    public override string ToString() => $"CenterCrop(size: {size})";
}
