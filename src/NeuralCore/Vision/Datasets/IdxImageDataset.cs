using NeuralCore.Data;

namespace NeuralCore.Vision;

/// <summary>
/// An MNIST-format dataset (IDX files): grayscale images as <see cref="Images"/>, Float32 [N, 1, H, W] in
/// [0, 1], and Int64 <see cref="ImageDataset.Labels"/>. Without a transform item i is (Float32 [1, H, W], label);
/// with one, the transform receives the UInt8 [1, H, W] image.
/// </summary>
public abstract class IdxImageDataset : ImageDataset
{
    readonly Lazy<Tensor> images;

    private protected IdxImageDataset((Tensor Images, Tensor Labels, string Source) data, IReadOnlyList<string> classes, ITransform? transform)
        : base(data.Images, data.Labels, classes, transform, data.Source)
    {
        // Created on first use, possibly inside a caller's Tensor.Scope (a Fit step): the cache must outlive it.
        images = new Lazy<Tensor>(() => ToTensorTransform.Scale(RawImages).DetachFromScope(), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>All images as Float32 [N, 1, H, W] in [0, 1] (what Keras-style <c>Fit</c> feeds); converted on first use.</summary>
    public Tensor Images => images.Value;

    /// <summary>All images as read, UInt8 [N, 1, H, W].</summary>
    public Tensor Pixels => RawImages;

    /// <inheritdoc/>
    protected override Tensor UntransformedImages => Images;
}
