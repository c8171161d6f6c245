namespace NeuralCore.Training;

/// <summary>
/// What <c>Fit</c> recorded: one value per epoch for each key — <c>"loss"</c>, each compiled metric
/// (<c>"accuracy"</c>, ...), <c>"penalty"</c> when the optimizer has L1/L2 penalties, and with validation data
/// <c>"val_loss"</c> and <c>"val_"</c> + each metric. Keras' <c>History.history</c>.
/// </summary>
public sealed class History
{
    readonly List<string> keys = [];
    readonly Dictionary<string, List<double>> values = [];
    readonly Dictionary<string, IReadOnlyList<double>> view = [];

    internal History(IReadOnlyDictionary<string, string>? parameters = null) =>
        Parameters = parameters ?? new Dictionary<string, string>();

    /// <summary>
    /// The settings of the run that produced this history, as invariant-culture strings: <c>"epochs"</c> (requested),
    /// <c>"batch_size"</c>, <c>"accumulation_steps"</c>, <c>"shuffle"</c>, <c>"validation_split"</c>, <c>"training_samples"</c>,
    /// <c>"validation_samples"</c>, <c>"optimizer"</c> (type name), <c>"learning_rate"</c>, <c>"loss"</c> and
    /// <c>"metrics"</c> (comma-separated). A model registry records them with the model.
    /// </summary>
    public IReadOnlyDictionary<string, string> Parameters { get; }

    /// <summary>The per-epoch values recorded under <paramref name="metric"/>.</summary>
    /// <exception cref="KeyNotFoundException">Nothing was recorded under that key; the message lists the keys.</exception>
    public IReadOnlyList<double> this[string metric] =>
        values.TryGetValue(metric, out var list)
            ? list
            : throw new KeyNotFoundException($"History has no \"{MessageText.Clip(metric)}\"; recorded keys: {(keys.Count == 0 ? "(none)" : MessageText.List(keys))}.");

    /// <summary>Every recorded key with its per-epoch values.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<double>> Values => view;

    /// <summary>The recorded keys in the order they were first logged.</summary>
    public IReadOnlyList<string> Keys => keys;

    /// <summary>Number of epochs recorded (training may stop early).</summary>
    public int Epochs { get; private set; }

    readonly List<TrainingCost> costs = [];

    /// <summary>
    /// Each epoch's FLOPs and energy (training steps and validation), one per recorded epoch; empty when <c>Fit</c> ran
    /// with <c>measureCost: false</c>.
    /// </summary>
    public IReadOnlyList<TrainingCost> Costs => costs;

    /// <summary>The whole run's cost (the sum of <see cref="Costs"/>), or null when none was measured.</summary>
    public TrainingCost? TotalCost => costs.Count == 0 ? null : costs.Aggregate((a, b) => a + b);

    internal void AppendCost(TrainingCost cost) => costs.Add(cost);

    readonly List<string> messages = [];

    /// <summary>
    /// Warnings and notices of the run, in order: the first batch whose loss was not finite, the stop requested by
    /// <see cref="TerminateOnNaN"/>, the epoch whose weights <see cref="EarlyStopping"/> restored, and any notice a
    /// callback reported.
    /// </summary>
    public IReadOnlyList<string> Messages => messages;

    internal void AppendMessage(string message) => messages.Add(message);

    internal void Append(IReadOnlyDictionary<string, double> logs)
    {
        foreach (var (key, value) in logs)
        {
            if (!values.TryGetValue(key, out var list))
            {
                values[key] = list = [];
                view[key] = list;
                keys.Add(key);
            }
            list.Add(value);
        }
        Epochs++;
    }

    /// <summary>The last epoch's values, e.g. <c>History(epochs: 5, loss: 0.3121, accuracy: 0.8870)</c>.</summary>
    public override string ToString() =>
        $"History(epochs: {Epochs}{string.Concat(keys.Select(k => FormattableString.Invariant($", {k}: {values[k][^1]:F4}")))})";
}
