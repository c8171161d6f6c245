namespace NeuralCore.Data;

/// <summary>A view of selected items of another dataset, as PyTorch's <c>Subset</c>: item i is <c>dataset[indices[i]]</c>.</summary>
public sealed class Subset : Dataset
{
    readonly int[] indices;

    /// <summary>Creates the subset of <paramref name="dataset"/> at <paramref name="indices"/>.</summary>
    /// <param name="dataset">The underlying dataset.</param>
    /// <param name="indices">Indices into <paramref name="dataset"/>; copied, repeats allowed.</param>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside the underlying dataset.</exception>
    public Subset(Dataset dataset, IEnumerable<int> indices)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(indices);
        this.indices = indices.ToArray();
        int n = dataset.Count;
        foreach (int i in this.indices)
            if ((uint)i >= (uint)n)
                throw new ArgumentOutOfRangeException(nameof(indices), i, $"Subset: index {i} is outside the underlying dataset's {n} items.");
        Dataset = dataset;
    }

    /// <summary>The underlying dataset.</summary>
    public Dataset Dataset { get; }

    /// <summary>The indices into <see cref="Dataset"/>.</summary>
    public IReadOnlyList<int> Indices => indices;

    /// <inheritdoc/>
    public override int Count => indices.Length;

    /// <inheritdoc/>
    public override bool HasItemTransform => Dataset.HasItemTransform;

    /// <inheritdoc/>
    public override (Tensor Input, Tensor Target) this[int index]
    {
        get
        {
            CheckIndex(index);
            return Dataset[indices[index]];
        }
    }

    /// <inheritdoc/>
    public override (Tensor Inputs, Tensor Targets) GetBatch(int[] indices)
    {
        CheckIndices(indices);
        return Dataset.GetBatch(Array.ConvertAll(indices, i => this.indices[i]));
    }
}
