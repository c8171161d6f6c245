using System.Globalization;

namespace NeuralCore.Training;

/// <summary>
/// Thrown by <c>Fit</c> when its cancellation token is cancelled. Cancellation takes effect at a batch boundary: the
/// model keeps the weights of the last completed optimizer step, and <see cref="History"/> holds the epochs completed
/// before it. No further callbacks run (in particular <see cref="EarlyStopping"/> restores no weights).
/// </summary>
public sealed class FitCanceledException : OperationCanceledException
{
    internal FitCanceledException(History history, int epoch, int batch, CancellationToken token)
        : base(string.Create(CultureInfo.InvariantCulture,
            $"Fit was canceled before batch {batch + 1} of epoch {epoch + 1} (1-based); {history.Epochs} epoch(s) completed."), token)
    {
        History = history;
        Epoch = epoch;
        Batch = batch;
    }

    /// <summary>The epochs completed before the cancellation.</summary>
    public History History { get; }

    /// <summary>The 0-based epoch that was running.</summary>
    public int Epoch { get; }

    /// <summary>The 0-based batch of <see cref="Epoch"/> that was not run.</summary>
    public int Batch { get; }
}
