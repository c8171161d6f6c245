namespace NeuralCore.Training;

/// <summary>Tracks the best value of a logged quantity for callbacks that watch one (EarlyStopping, ModelCheckpoint).</summary>
internal sealed class MonitoredValue
{
    readonly string owner;
    readonly double minDelta;

    public MonitoredValue(string owner, string monitor, string mode, double minDelta)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(monitor);
        ArgumentNullException.ThrowIfNull(mode);
        if (minDelta < 0 || double.IsNaN(minDelta))
            throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, $"{owner}: minDelta must be non-negative.");
        this.owner = owner;
        this.minDelta = minDelta;
        Monitor = monitor;
        Maximize = mode.ToLowerInvariant() switch
        {
            "min" => false,
            "max" => true,
            // Keras' rule: accuracy-like quantities grow, everything else (losses, errors) shrinks.
            "auto" => monitor.Contains("acc", StringComparison.OrdinalIgnoreCase) || monitor.Contains("auc", StringComparison.OrdinalIgnoreCase),
            _ => throw new ArgumentException($"{owner}: mode must be \"auto\", \"min\" or \"max\", got \"{mode}\".", nameof(mode)),
        };
        Reset();
    }

    public string Monitor { get; }

    public bool Maximize { get; }

    public double Best { get; private set; }

    public void Reset() => Best = Maximize ? double.NegativeInfinity : double.PositiveInfinity;

    /// <summary>The monitored value in <paramref name="logs"/>.</summary>
    /// <exception cref="InvalidOperationException">The value was not logged; the message lists what was.</exception>
    public double Read(IReadOnlyDictionary<string, double> logs) =>
        logs.TryGetValue(Monitor, out var v)
            ? v
            : throw new InvalidOperationException(
                $"{owner}: \"{Monitor}\" is not in the epoch logs (available: {MessageText.List(logs.Keys)}). " +
                "Validation values need validationData or validationSplit in Fit.");

    /// <summary>Records <paramref name="value"/> as the best if it improves on it by more than minDelta.</summary>
    public bool TryImprove(double value)
    {
        bool improved = Maximize ? value > Best + minDelta : value < Best - minDelta;
        if (improved) Best = value;
        return improved;
    }
}
