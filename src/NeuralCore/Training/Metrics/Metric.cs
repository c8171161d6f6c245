namespace NeuralCore.Training;

/// <summary>
/// A quantity accumulated over batches and reported per epoch (Keras' stateful metrics): <see cref="Reset"/>,
/// then <see cref="Update"/> per batch, then read <see cref="Result"/>. <c>Fit</c> and <c>Evaluate</c> pass the
/// predictions after the compiled loss's <see cref="Loss.Activate"/> (probabilities for a loss on logits).
/// </summary>
public abstract class Metric
{
    static readonly string[] KnownNames = ["accuracy", "acc", "mae", "mean_absolute_error", "mse", "mean_squared_error"];

    /// <summary>Creates a metric reported under <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    protected Metric(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
    }

    /// <summary>The key under which the metric appears in <see cref="History"/> and <see cref="EvaluationResult"/>.</summary>
    public string Name { get; }

    /// <summary>Forgets everything accumulated.</summary>
    public abstract void Reset();

    /// <summary>Accumulates one batch; <paramref name="prediction"/> and <paramref name="target"/> are batch first.</summary>
    public abstract void Update(Tensor prediction, Tensor target);

    /// <summary>The metric over everything accumulated since <see cref="Reset"/> (NaN before any update).</summary>
    public abstract double Result { get; }

    /// <summary>
    /// The device-side running sums behind <see cref="Result"/>, so that <c>Fit</c> can download them together with
    /// the step's loss (one wait for the device per step). Metrics defined outside the library have none: their
    /// <see cref="Result"/> reads on its own.
    /// </summary>
    internal virtual IEnumerable<DeviceSum> Sums => [];

    /// <summary>A fresh metric with the same settings (Fit keeps separate copies for training and validation).</summary>
    public abstract Metric Clone();

    /// <summary>
    /// The built-in metric with a Keras name: <c>accuracy</c> (or <c>acc</c>), <c>mae</c>/<c>mean_absolute_error</c>,
    /// <c>mse</c>/<c>mean_squared_error</c>. The metric is reported under the name as given (lower-cased).
    /// </summary>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the known names.</exception>
    public static Metric FromName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var key = name.Trim().ToLowerInvariant();
        return key switch
        {
            "accuracy" or "acc" => new Accuracy(key),
            "mae" or "mean_absolute_error" => new MeanAbsoluteError(key),
            "mse" or "mean_squared_error" => new MeanSquaredError(key),
            _ => throw new ArgumentException($"Unknown metric \"{name}\". Known names: {string.Join(", ", KnownNames)}.", nameof(name)),
        };
    }

    /// <summary>Converts a Keras metric name (see <see cref="FromName"/>).</summary>
    /// <exception cref="ArgumentException">The name is unknown.</exception>
    public static implicit operator Metric(string name) => FromName(name);

    /// <inheritdoc />
    public override string ToString() => Name;
}
