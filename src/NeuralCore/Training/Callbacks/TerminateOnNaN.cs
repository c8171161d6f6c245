using System.Globalization;

namespace NeuralCore.Training;

/// <summary>
/// Stops training as soon as the training loss is NaN or infinite (Keras' <c>TerminateOnNaN</c>): after the batch
/// whose loss is not finite, <c>Fit</c> finishes that epoch's bookkeeping and ends. The stop is recorded in
/// <see cref="History.Messages"/> and shown by the progress output.
/// </summary>
public sealed class TerminateOnNaN : Callback
{
    int epoch;

    /// <summary>The 0-based epoch in which training was stopped, or -1 when it was not.</summary>
    public int StoppedEpoch { get; private set; } = -1;

    /// <summary>The 0-based batch after which training was stopped, or -1 when it was not.</summary>
    public int StoppedBatch { get; private set; } = -1;

    /// <inheritdoc />
    public override void OnTrainBegin()
    {
        StoppedEpoch = -1;
        StoppedBatch = -1;
    }

    /// <inheritdoc />
    public override void OnEpochBegin(int epoch) => this.epoch = epoch;

    /// <inheritdoc />
    public override void OnBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        ArgumentNullException.ThrowIfNull(logs);
        // The logged loss is the epoch's running mean: it is finite exactly while every batch loss so far is.
        if (StopTraining || !logs.TryGetValue("loss", out double loss) || double.IsFinite(loss)) return;
        StoppedEpoch = epoch;
        StoppedBatch = batch;
        StopTraining = true;
        Notify(string.Create(CultureInfo.InvariantCulture,
            $"TerminateOnNaN: the loss is {loss} after batch {batch + 1} of epoch {epoch + 1} (1-based); training stopped."));
    }
}
