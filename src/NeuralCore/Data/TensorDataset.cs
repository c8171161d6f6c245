namespace NeuralCore.Data;

/// <summary>
/// A dataset over two tensors whose first dimension indexes the items, as PyTorch's <c>TensorDataset</c>:
/// item i is (<c>Inputs[i]</c>, <c>Targets[i]</c>), the input optionally passed through a transform.
/// </summary>
public sealed class TensorDataset : Dataset
{
    /// <summary>Creates a dataset of <paramref name="inputs"/>[i] paired with <paramref name="targets"/>[i].</summary>
    /// <param name="inputs">The inputs, [N, ...].</param>
    /// <param name="targets">The targets, [N, ...] (for example Int64 class indices [N]).</param>
    /// <param name="transform">An optional transform applied to each input item.</param>
    /// <exception cref="ArgumentException">A tensor is 0-d, or the first dimensions differ.</exception>
    public TensorDataset(Tensor inputs, Tensor targets, ITransform? transform = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (inputs.Dim == 0 || targets.Dim == 0)
            throw new ArgumentException($"TensorDataset: inputs and targets need a leading item dimension, got {inputs.Shape} and {targets.Shape}.");
        if (inputs.Shape[0] != targets.Shape[0])
            throw new ArgumentException($"TensorDataset: inputs {inputs.Shape} and targets {targets.Shape} differ in their number of items.");
        Inputs = inputs;
        Targets = targets;
        Transform = transform;
    }

    /// <summary>The inputs, [N, ...].</summary>
    public Tensor Inputs { get; }

    /// <summary>The targets, [N, ...].</summary>
    public Tensor Targets { get; }

    /// <summary>The transform applied to each input item, or null.</summary>
    public ITransform? Transform { get; }

    /// <inheritdoc/>
    public override int Count => (int)Inputs.Shape[0];

    /// <inheritdoc/>
    public override bool HasItemTransform => Transform is not null;

    /// <inheritdoc/>
    public override (Tensor Input, Tensor Target) this[int index]
    {
        get
        {
            CheckIndex(index);
            var input = Inputs[index];
            return (Transform is null ? input : Transform.Apply(input), Targets[index]);
        }
    }

    /// <inheritdoc/>
    public override (Tensor Inputs, Tensor Targets) GetBatch(int[] indices)
    {
        if (Transform is not null) return base.GetBatch(indices);
        CheckIndices(indices);
        var idx = Tensor.FromArray(Array.ConvertAll(indices, i => (long)i));
        return (Inputs.IndexSelect(0, idx), Targets.IndexSelect(0, idx));
    }
}
