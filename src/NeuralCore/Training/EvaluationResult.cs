namespace NeuralCore.Training;

/// <summary>What <c>Evaluate</c> measured: the mean loss and each compiled metric over the whole dataset.</summary>
public sealed class EvaluationResult
{
    internal EvaluationResult(double loss, IReadOnlyDictionary<string, double> metrics)
    {
        Loss = loss;
        Metrics = metrics;
    }

    /// <summary>The compiled loss, averaged over samples.</summary>
    public double Loss { get; }

    /// <summary>Each compiled metric by name (<c>"accuracy"</c>, ...).</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; }

    /// <summary>The metric named <paramref name="metric"/>; <c>"loss"</c> gives <see cref="Loss"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such metric was compiled; the message lists the available ones.</exception>
    public double this[string metric] =>
        metric == "loss" ? Loss
        : Metrics.TryGetValue(metric, out var v) ? v
        : throw new KeyNotFoundException($"No metric \"{metric}\" was evaluated; available: {MessageText.List(Metrics.Keys.Prepend("loss"))}.");

    /// <summary>For example <c>loss: 0.3521, accuracy: 0.8734</c>.</summary>
    public override string ToString() =>
        string.Join(", ", Metrics.Select(kv => FormattableString.Invariant($"{kv.Key}: {kv.Value:F4}"))
            .Prepend(FormattableString.Invariant($"loss: {Loss:F4}")));
}
