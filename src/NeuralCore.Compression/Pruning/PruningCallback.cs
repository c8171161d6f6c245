using NeuralCore.Training;

namespace NeuralCore.Compression.Pruning;

/// <summary>
/// Keeps a <see cref="MagnitudePruner"/>'s masks during <c>Fit</c> and, with a schedule, prunes gradually: after
/// every batch's optimizer step it prunes to the schedule's sparsity when the schedule names one for that step,
/// and otherwise re-applies the masks (zeroing what momentum or Adam's moments moved). Steps are counted over the
/// whole training, one per batch (with gradient accumulation, one per accumulated batch).
/// </summary>
public sealed class PruningCallback : Callback
{
    long step;

    /// <summary>Creates the callback.</summary>
    /// <param name="pruner">The pruner over the model being trained.</param>
    /// <param name="schedule">When to prune (<see cref="PolynomialSchedule"/>, <see cref="OneShotSchedule"/>), or null to keep the current masks only.</param>
    public PruningCallback(MagnitudePruner pruner, IPruningSchedule? schedule = null)
    {
        ArgumentNullException.ThrowIfNull(pruner);
        Pruner = pruner;
        Schedule = schedule;
    }

    /// <summary>The pruner.</summary>
    public MagnitudePruner Pruner { get; }

    /// <summary>The schedule, or null.</summary>
    public IPruningSchedule? Schedule { get; }

    /// <summary>Optimizer steps seen so far (over every <c>Fit</c> this callback took part in).</summary>
    public long Steps => step;

    /// <inheritdoc />
    public override void OnTrainBegin() => Pruner.ApplyMasks();

    /// <inheritdoc />
    public override void OnBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        if (Schedule?.SparsityAt(step) is double sparsity) Pruner.Prune(sparsity);
        else Pruner.ApplyMasks();
        step++;
    }
}
