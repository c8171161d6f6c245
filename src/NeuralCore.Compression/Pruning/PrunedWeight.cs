namespace NeuralCore.Compression.Pruning;

/// <summary>One weight under a <see cref="MagnitudePruner"/>: the layer and its mask (1 keeps a weight, 0 prunes it).</summary>
public sealed class PrunedWeight
{
    internal PrunedWeight(PrunableLayer layer)
    {
        Layer = layer;
        using (Tensor.NoGrad()) Mask = Tensor.OnesLike(layer.Weight).DetachFromScope();
    }

    /// <summary>The layer and its weight.</summary>
    public PrunableLayer Layer { get; }

    /// <summary>The mask, shaped, typed and placed like the weight.</summary>
    public Tensor Mask { get; internal set; }

    /// <summary>How many weights the mask prunes.</summary>
    public long Pruned { get; internal set; }

    /// <summary>The mask's sparsity: <see cref="Pruned"/> over the weight's element count.</summary>
    public double Sparsity => (double)Pruned / Layer.Weight.NumElements;
}
