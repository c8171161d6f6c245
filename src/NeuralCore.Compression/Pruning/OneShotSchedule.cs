namespace NeuralCore.Compression.Pruning;

/// <summary>Prunes once, to <see cref="Sparsity"/>, after step <see cref="Step"/>; the masks are kept from then on.</summary>
public sealed class OneShotSchedule : IPruningSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="sparsity">Fraction of the weights to prune, in [0, 1].</param>
    /// <param name="step">The optimizer step after which to prune (0: after the first).</param>
    /// <exception cref="ArgumentOutOfRangeException">The sparsity is outside [0, 1] or the step negative.</exception>
    public OneShotSchedule(double sparsity, long step = 0)
    {
        MagnitudePruner.CheckSparsity(sparsity, nameof(sparsity));
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        Sparsity = sparsity;
        Step = step;
    }

    /// <summary>The sparsity pruned to.</summary>
    public double Sparsity { get; }

    /// <summary>The step after which the pruning happens.</summary>
    public long Step { get; }

    /// <inheritdoc />
    public double? SparsityAt(long step) => step == Step ? Sparsity : null;
}
