using NeuralCore.Nn;
using NeuralCore.Training.Losses;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Training;

/// <summary>
/// A training objective for <see cref="Sequential.Compile(Optim.Optimizer, Loss, IEnumerable{string}?)"/>: maps a
/// batch of predictions and targets to a scalar. Built-in losses are the static members, or a Keras name
/// converted implicitly (<c>"categorical_crossentropy"</c>, <c>"mse"</c>, ...); derive from this class (or use
/// <see cref="Create"/>) for your own.
/// </summary>
public abstract class Loss
{
    static readonly string[] KnownNames =
    [
        "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy",
        "mse", "mean_squared_error", "mae", "mean_absolute_error", "huber",
    ];

    /// <summary>Creates a loss named <paramref name="name"/> (the name is shown in errors and summaries).</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    protected Loss(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
    }

    /// <summary>The loss's name, e.g. <c>"categorical_crossentropy"</c>.</summary>
    public string Name { get; }

    /// <summary>The mean loss of the batch, as a 0-d tensor that can be back-propagated.</summary>
    /// <param name="prediction">Model outputs, batch first.</param>
    /// <param name="target">Targets for the batch (the loss documents which layouts it accepts).</param>
    public abstract Tensor Compute(Tensor prediction, Tensor target);

    /// <summary>
    /// Turns raw model outputs into the predictions this loss scores: softmax for a categorical loss on logits,
    /// sigmoid for a binary loss on logits, the outputs themselves otherwise. <see cref="Sequential.Predict"/>
    /// returns this, and metrics are computed on it.
    /// </summary>
    public virtual Tensor Activate(Tensor output) => output;

    /// <summary>
    /// The loss to use for <paramref name="model"/>: losses whose input kind is "auto" (logits or probabilities)
    /// decide it here from the model's last layer. The default returns this loss.
    /// </summary>
    internal virtual Loss ResolveFor(Module model) => this;

    /// <summary>
    /// Cross-entropy on logits (PyTorch's <c>F.CrossEntropy</c>): class-index (Int64) targets of shape [N] or
    /// probability/one-hot targets of the prediction's shape [N, C].
    /// </summary>
    public static Loss CrossEntropy { get; } = new CategoricalCrossentropyLoss("cross_entropy", fromLogits: true, labelSmoothing: 0, sparse: false);

    /// <summary>Mean squared error; a target with the prediction's element count is reshaped to match it.</summary>
    public static Loss Mse { get; } = new ElementwiseLoss("mean_squared_error", (p, t) => F.Mse(p, t));

    /// <summary>Mean absolute error (L1); a target with the prediction's element count is reshaped to match it.</summary>
    public static Loss L1 { get; } = new ElementwiseLoss("mean_absolute_error", (p, t) => F.L1Loss(p, t));

    /// <summary>Huber loss with delta 1 (quadratic below 1, linear above).</summary>
    public static Loss Huber { get; } = new ElementwiseLoss("huber", (p, t) => F.HuberLoss(p, t));

    /// <summary>Binary cross-entropy on probabilities in [0, 1] (the model ends in a sigmoid); targets 0/1 of the prediction's element count.</summary>
    public static Loss BinaryCrossEntropy { get; } = new BinaryCrossentropyLoss("binary_crossentropy", fromLogits: false);

    /// <summary>Binary cross-entropy on logits (sigmoid folded in, numerically stable); targets 0/1.</summary>
    public static Loss BinaryCrossEntropyWithLogits { get; } = new BinaryCrossentropyLoss("binary_crossentropy_with_logits", fromLogits: true);

    /// <summary>
    /// Keras' categorical cross-entropy. Targets are one-hot (or probability) rows [N, C] or class indices [N]
    /// (both are accepted). <paramref name="fromLogits"/>: true when the model outputs logits (a final
    /// <c>Dense(10)</c> without activation, as in the Keras-style program of the docs), false when it outputs
    /// probabilities (a final softmax); null (the default, and what the string name gives) decides at
    /// <c>Compile</c> from the model's last layer: a <see cref="Nn.Softmax"/> module or a <see cref="Dense"/>
    /// with <see cref="Activation.Softmax"/> means probabilities, anything else logits. Used directly (not through
    /// <c>Compile</c>), null means logits.
    /// </summary>
    /// <param name="fromLogits">Whether predictions are logits; null decides from the model.</param>
    /// <param name="labelSmoothing">Mixes targets with the uniform distribution: t·(1−s) + s/C.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="labelSmoothing"/> is outside [0, 1].</exception>
    public static Loss CategoricalCrossentropy(bool? fromLogits = null, double labelSmoothing = 0) =>
        new CategoricalCrossentropyLoss("categorical_crossentropy", fromLogits, labelSmoothing, sparse: false);

    /// <summary>
    /// Keras' sparse categorical cross-entropy: class-index targets [N] (any integer or integral float dtype).
    /// <paramref name="fromLogits"/> as in <see cref="CategoricalCrossentropy"/>.
    /// </summary>
    public static Loss SparseCategoricalCrossentropy(bool? fromLogits = null) =>
        new CategoricalCrossentropyLoss("sparse_categorical_crossentropy", fromLogits, 0, sparse: true);

    /// <summary>
    /// Keras' binary cross-entropy; <paramref name="fromLogits"/> null decides at <c>Compile</c>: probabilities
    /// when the model ends in a sigmoid (<see cref="Nn.Sigmoid"/> or <see cref="Activation.Sigmoid"/>), logits otherwise
    /// (and logits when used directly, not through <c>Compile</c>). Targets 0/1 with the prediction's element count.
    /// </summary>
    public static Loss BinaryCrossentropy(bool? fromLogits = null) => new BinaryCrossentropyLoss("binary_crossentropy", fromLogits);

    /// <summary>A loss from a function returning the scalar batch loss; predictions pass through unchanged.</summary>
    /// <param name="name">Name shown in summaries.</param>
    /// <param name="compute">(prediction, target) → 0-d loss tensor.</param>
    public static Loss Create(string name, Func<Tensor, Tensor, Tensor> compute)
    {
        ArgumentNullException.ThrowIfNull(compute);
        return new ElementwiseLoss(name, compute, alignTarget: false);
    }

    /// <summary>
    /// The built-in loss with a Keras name: <c>categorical_crossentropy</c>, <c>sparse_categorical_crossentropy</c>,
    /// <c>binary_crossentropy</c> (these three decide logits vs probabilities from the model),
    /// <c>mse</c>/<c>mean_squared_error</c>, <c>mae</c>/<c>mean_absolute_error</c>, <c>huber</c>.
    /// Case, spaces and dashes are ignored.
    /// </summary>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the known names.</exception>
    public static Loss FromName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant().Replace('-', '_').Replace(' ', '_') switch
        {
            "categorical_crossentropy" => CategoricalCrossentropy(),
            "sparse_categorical_crossentropy" => SparseCategoricalCrossentropy(),
            "binary_crossentropy" => BinaryCrossentropy(),
            "mse" or "mean_squared_error" => Mse,
            "mae" or "mean_absolute_error" => L1,
            "huber" => Huber,
            _ => throw new ArgumentException(
                $"Unknown loss \"{name}\". Known names: {string.Join(", ", KnownNames)}; or pass a Loss object (Loss.CrossEntropy, Loss.Mse, ...).",
                nameof(name)),
        };
    }

    /// <summary>Converts a Keras loss name (see <see cref="FromName"/>).</summary>
    /// <exception cref="ArgumentException">The name is unknown.</exception>
    public static implicit operator Loss(string name) => FromName(name);

    /// <inheritdoc />
    public override string ToString() => Name;
}
