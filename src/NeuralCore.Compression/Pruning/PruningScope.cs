namespace NeuralCore.Compression.Pruning;

/// <summary>How <see cref="MagnitudePruner"/> spreads a target sparsity over the layers.</summary>
public enum PruningScope
{
    /// <summary>Every layer is pruned to the target sparsity (its own smallest-magnitude weights).</summary>
    PerLayer,

    /// <summary>
    /// The smallest-magnitude weights of all layers together are pruned, so the total sparsity is the target and
    /// layers with many small weights lose more.
    /// </summary>
    Global,
}
