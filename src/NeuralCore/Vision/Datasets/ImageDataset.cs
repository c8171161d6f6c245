using NeuralCore.Data;

namespace NeuralCore.Vision;

/// <summary>
/// A labelled image dataset held in memory as UInt8 [N, C, H, W] pixels and Int64 [N] labels. With a
/// transform, item i is the transform applied to the UInt8 [C, H, W] image; without one it is the image as
/// the concrete dataset documents (Cifar10: UInt8; FashionMnist and Mnist: Float32 in [0, 1]).
/// </summary>
public abstract class ImageDataset : Dataset
{
    /// <summary>Initializes the dataset over decoded pixels and labels.</summary>
    /// <param name="rawImages">UInt8 pixels, [N, C, H, W].</param>
    /// <param name="labels">Int64 class indices, [N].</param>
    /// <param name="classes">The class names, indexed by label.</param>
    /// <param name="transform">The per-item transform, or null.</param>
    /// <param name="source">Where the data was read from.</param>
    protected ImageDataset(Tensor rawImages, Tensor labels, IReadOnlyList<string> classes, ITransform? transform, string source)
    {
        ArgumentNullException.ThrowIfNull(rawImages);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classes);
        ArgumentNullException.ThrowIfNull(source);
        if (rawImages.Dim != 4 || rawImages.DType != DType.UInt8)
            throw new ArgumentException($"ImageDataset: images must be UInt8 [N, C, H, W], got {rawImages.DType} {rawImages.Shape}.");
        if (labels.Dim != 1 || labels.DType != DType.Int64 || labels.Shape[0] != rawImages.Shape[0])
            throw new ArgumentException($"ImageDataset: labels must be Int64 [{rawImages.Shape[0]}], got {labels.DType} {labels.Shape}.");
        RawImages = rawImages;
        Labels = labels;
        Classes = classes;
        Transform = transform;
        Source = source;
    }

    /// <summary>The pixels as read, UInt8 [N, C, H, W].</summary>
    protected Tensor RawImages { get; }

    /// <summary>What an item's input is when there is no transform: a tensor [N, C, H, W] indexed by item.</summary>
    protected abstract Tensor UntransformedImages { get; }

    /// <summary>The class index of each image, Int64 [N].</summary>
    public Tensor Labels { get; }

    /// <summary>The class names; label k names <c>Classes[k]</c>.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>The transform applied to each item's UInt8 [C, H, W] image, or null.</summary>
    public ITransform? Transform { get; }

    /// <summary>The directory (or directories) the data was read from.</summary>
    public string Source { get; }

    /// <inheritdoc/>
    public override int Count => (int)Labels.Shape[0];

    /// <inheritdoc/>
    public override bool HasItemTransform => Transform is not null;

    /// <inheritdoc/>
    public override (Tensor Input, Tensor Target) this[int index]
    {
        get
        {
            CheckIndex(index);
            var input = Transform is null ? UntransformedImages[index] : Transform.Apply(RawImages[index]);
            return (input, Labels[index]);
        }
    }

    /// <inheritdoc/>
    public override (Tensor Inputs, Tensor Targets) GetBatch(int[] indices)
    {
        if (Transform is not null) return base.GetBatch(indices);
        CheckIndices(indices);
        var idx = Tensor.FromArray(Array.ConvertAll(indices, i => (long)i));
        return (UntransformedImages.IndexSelect(0, idx), Labels.IndexSelect(0, idx));
    }
}
