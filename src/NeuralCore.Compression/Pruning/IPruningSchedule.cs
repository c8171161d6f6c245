namespace NeuralCore.Compression.Pruning;

/// <summary>When and how far a <see cref="PruningCallback"/> prunes during training.</summary>
public interface IPruningSchedule
{
    /// <summary>
    /// The sparsity to prune to after optimizer step <paramref name="step"/> (0-based, counted over the whole
    /// training), or null when the masks stay as they are at that step.
    /// </summary>
    double? SparsityAt(long step);
}
