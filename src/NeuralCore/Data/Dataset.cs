namespace NeuralCore.Data;

/// <summary>
/// A map-style dataset: a fixed number of (input, target) items addressed by index, as PyTorch's
/// <c>torch.utils.data.Dataset</c>. Feed it to a <see cref="DataLoader"/> for shuffled mini-batches.
/// </summary>
public abstract partial class Dataset
{
    /// <summary>Initializes a dataset.</summary>
    protected Dataset()
    {
    }

    /// <summary>The number of items.</summary>
    public abstract int Count { get; }

    /// <summary>The item at <paramref name="index"/> (0 ≤ index &lt; <see cref="Count"/>).</summary>
    /// <param name="index">The item index.</param>
    /// <returns>The item's input and target.</returns>
    public abstract (Tensor Input, Tensor Target) this[int index] { get; }

    /// <summary>
    /// True when items pass through a per-item transform (augmentation, conversion). The
    /// <see cref="DataLoader"/> then builds the items of a batch in parallel, each with its own generator,
    /// instead of calling <see cref="GetBatch"/>. The default is false.
    /// </summary>
    public virtual bool HasItemTransform => false;

    /// <summary>
    /// The items at <paramref name="indices"/> stacked along a new leading dimension. The default stacks
    /// <see cref="this[int]"/> one item at a time; tensor-backed datasets override it with a single gather.
    /// </summary>
    /// <param name="indices">The item indices, in batch order; at least one.</param>
    /// <returns>Inputs shaped [B, ...input shape] and targets shaped [B, ...target shape].</returns>
    /// <exception cref="ArgumentException"><paramref name="indices"/> is empty, or items differ in shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside [0, <see cref="Count"/>).</exception>
    public virtual (Tensor Inputs, Tensor Targets) GetBatch(int[] indices)
    {
        CheckIndices(indices);
        var inputs = new Tensor[indices.Length];
        var targets = new Tensor[indices.Length];
        for (int i = 0; i < indices.Length; i++) (inputs[i], targets[i]) = this[indices[i]];
        return (Tensor.Stack(inputs), Tensor.Stack(targets));
    }

    /// <summary>Throws unless <paramref name="indices"/> is non-empty and every index is in range.</summary>
    /// <param name="indices">The indices to check.</param>
    /// <exception cref="ArgumentException"><paramref name="indices"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside [0, <see cref="Count"/>).</exception>
    protected void CheckIndices(int[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.Length == 0) throw new ArgumentException("GetBatch: expects at least one index.", nameof(indices));
        int count = Count;
        foreach (int i in indices)
            if ((uint)i >= (uint)count)
                throw new ArgumentOutOfRangeException(nameof(indices), i, $"Index {i} is outside the dataset's {count} items.");
    }

    /// <summary>Throws unless <paramref name="index"/> is in [0, <see cref="Count"/>).</summary>
    /// <param name="index">The index to check.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is out of range.</exception>
    protected void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Index {index} is outside the dataset's {Count} items.");
    }
}
