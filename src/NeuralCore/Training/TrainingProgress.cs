namespace NeuralCore.Training;

/// <summary>
/// One progress report from <c>Fit</c>: sent after every training step, and once more per epoch after validation
/// with <see cref="EpochCompleted"/> set (that report's <see cref="Metrics"/> include the <c>val_</c> entries).
/// Steps rise 1..<see cref="Steps"/> within an epoch; the report for the last step is the epoch-completed one.
/// </summary>
/// <param name="Epoch">The epoch, 1-based.</param>
/// <param name="Epochs">Number of epochs requested.</param>
/// <param name="Step">Training steps (batches) done in this epoch, 1-based.</param>
/// <param name="Steps">Training steps per epoch.</param>
/// <param name="Loss">Mean training loss over this epoch's steps so far.</param>
/// <param name="Metrics">Running metric values for this epoch (and validation values once the epoch is completed).</param>
/// <param name="SamplesPerSecond">Training samples per second in this epoch so far.</param>
/// <param name="Eta">Estimated time left in this epoch; at completion, zero.</param>
public sealed record TrainingProgress(
    int Epoch, int Epochs, int Step, int Steps, double Loss, IReadOnlyDictionary<string, double> Metrics,
    double SamplesPerSecond, TimeSpan Eta)
{
    /// <summary>True for the report sent when the epoch (including validation) is done.</summary>
    public bool EpochCompleted { get; init; }

    /// <summary>Wall-clock time spent in this epoch so far.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>The epoch's FLOPs and energy, on the epoch-completed report when <c>Fit</c> measures them; otherwise null.</summary>
    public TrainingCost? Cost { get; init; }

    /// <summary>
    /// A warning or notice (a loss that is not finite, weights restored by <see cref="EarlyStopping"/>, ...), also
    /// recorded in <see cref="History.Messages"/>. A report with a message repeats the latest step's values and is not
    /// a step of its own (its <see cref="EpochCompleted"/> is false); null on ordinary reports.
    /// </summary>
    public string? Message { get; init; }
}
