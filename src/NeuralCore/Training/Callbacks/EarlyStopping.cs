namespace NeuralCore.Training;

/// <summary>
/// Stops training when a monitored quantity has stopped improving (Keras' <c>EarlyStopping</c>): at the
/// <see cref="Patience"/>-th consecutive epoch without an improvement larger than <c>minDelta</c> (the first such
/// epoch when patience is 0 or 1, as in Keras), it requests a stop.
/// With <c>restoreBestWeights</c> the model gets the weights of its best epoch back when training ends, whether
/// or not it stopped early.
/// </summary>
public sealed class EarlyStopping : Callback
{
    readonly MonitoredValue monitored;
    Dictionary<string, Tensor>? bestWeights;
    int wait;

    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">Logged quantity to watch (<c>"val_loss"</c>, <c>"val_accuracy"</c>, <c>"loss"</c>, ...).</param>
    /// <param name="patience">Consecutive epochs without improvement that stop training (0 and 1 both stop at the first).</param>
    /// <param name="minDelta">Smallest change that counts as an improvement.</param>
    /// <param name="mode"><c>"min"</c>, <c>"max"</c>, or <c>"auto"</c> (max for accuracy-like names, else min).</param>
    /// <param name="restoreBestWeights">Restore the best epoch's weights when training ends.</param>
    /// <exception cref="ArgumentException">Bad <paramref name="mode"/> or empty <paramref name="monitor"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Negative <paramref name="patience"/> or <paramref name="minDelta"/>.</exception>
    public EarlyStopping(string monitor = "val_loss", int patience = 0, double minDelta = 0, string mode = "auto", bool restoreBestWeights = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        monitored = new MonitoredValue(nameof(EarlyStopping), monitor, mode, minDelta);
        Patience = patience;
        RestoreBestWeights = restoreBestWeights;
    }

    /// <summary>The watched quantity.</summary>
    public string Monitor => monitored.Monitor;

    /// <summary>Consecutive epochs without improvement that stop training.</summary>
    public int Patience { get; }

    /// <summary>Whether the best weights are restored at the end of training.</summary>
    public bool RestoreBestWeights { get; }

    /// <summary>The best monitored value seen in the last Fit.</summary>
    public double Best => monitored.Best;

    /// <summary>The 0-based epoch with the best value, or -1 before any.</summary>
    public int BestEpoch { get; private set; } = -1;

    /// <summary>The 0-based epoch at which training was stopped, or -1 when it ran to the end.</summary>
    public int StoppedEpoch { get; private set; } = -1;

    /// <summary>
    /// The 0-based epoch whose weights were restored when training ended, or -1 when none were (restoring is off, or
    /// no epoch improved). The restore is also recorded in <see cref="History.Messages"/>.
    /// </summary>
    public int RestoredEpoch { get; private set; } = -1;

    /// <inheritdoc />
    public override void OnTrainBegin()
    {
        monitored.Reset();
        bestWeights = null;
        wait = 0;
        BestEpoch = -1;
        StoppedEpoch = -1;
        RestoredEpoch = -1;
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        ArgumentNullException.ThrowIfNull(logs);
        if (monitored.TryImprove(monitored.Read(logs)))
        {
            wait = 0;
            BestEpoch = epoch;
            if (RestoreBestWeights) bestWeights = Snapshot();
            return;
        }
        if (++wait >= Patience)
        {
            StoppedEpoch = epoch;
            StopTraining = true;
        }
    }

    /// <inheritdoc />
    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs)
    {
        if (bestWeights is null) return;
        Model.LoadStateDict(bestWeights);
        foreach (var t in bestWeights.Values) t.Dispose();
        bestWeights = null;
        RestoredEpoch = BestEpoch;
        Notify(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"EarlyStopping: restored the weights of epoch {BestEpoch + 1} (1-based), the best {Monitor}: {Best:G6}."));
    }

    Dictionary<string, Tensor> Snapshot()
    {
        using var noGrad = Tensor.NoGrad();
        if (bestWeights is not null)
            foreach (var t in bestWeights.Values) t.Dispose();
        return Model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone().DetachFromScope());
    }
}
