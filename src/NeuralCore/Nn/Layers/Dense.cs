namespace NeuralCore.Nn;

/// <summary>
/// Keras-style fully connected layer: <c>units</c> outputs and an activation; the input size is inferred on
/// the first call (parameters exist after it). Shape: [*, in] → [*, units].
/// </summary>
public sealed class Dense : Module
{
    Linear? linear;

    /// <summary>Creates the layer; the input size is taken from the first input.</summary>
    /// <param name="units">Output size.</param>
    /// <param name="activation">The activation after the affine map.</param>
    /// <param name="useBias">Whether the layer has a bias.</param>
    /// <param name="kernelRegularizer">Penalty on the weight, added to the training loss (<see cref="Regularizers"/>).</param>
    /// <param name="biasRegularizer">Penalty on the bias, added to the training loss.</param>
    /// <param name="activityRegularizer">Penalty on the layer's output per sample, added to the training loss.</param>
    public Dense(int units, Activation activation = Activation.None, bool useBias = true,
        Regularizer? kernelRegularizer = null, Regularizer? biasRegularizer = null, Regularizer? activityRegularizer = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(units);
        Units = units;
        ActivationFunction = activation;
        UseBias = useBias;
        KernelRegularizer = kernelRegularizer;
        BiasRegularizer = biasRegularizer;
        ActivityRegularizer = activityRegularizer;
    }

    /// <summary>Creates the layer with a known input size (parameters exist at once).</summary>
    /// <param name="inFeatures">Input size.</param>
    /// <param name="units">Output size.</param>
    /// <param name="activation">The activation after the affine map.</param>
    /// <param name="useBias">Whether the layer has a bias.</param>
    /// <param name="kernelRegularizer">Penalty on the weight, added to the training loss (<see cref="Regularizers"/>).</param>
    /// <param name="biasRegularizer">Penalty on the bias, added to the training loss.</param>
    /// <param name="activityRegularizer">Penalty on the layer's output per sample, added to the training loss.</param>
    public Dense(int inFeatures, int units, Activation activation = Activation.None, bool useBias = true,
        Regularizer? kernelRegularizer = null, Regularizer? biasRegularizer = null, Regularizer? activityRegularizer = null)
        : this(units, activation, useBias, kernelRegularizer, biasRegularizer, activityRegularizer) => Build(inFeatures);

    /// <summary>Creates the layer with an activation given by its Keras name (<c>new Dense(32, activation: "relu")</c>).</summary>
    /// <param name="units">Output size.</param>
    /// <param name="activation">A name <see cref="Activations.FromName"/> accepts; null or empty for none.</param>
    /// <param name="useBias">Whether the layer has a bias.</param>
    /// <param name="kernelRegularizer">Penalty on the weight, added to the training loss (<see cref="Regularizers"/>).</param>
    /// <param name="biasRegularizer">Penalty on the bias, added to the training loss.</param>
    /// <param name="activityRegularizer">Penalty on the layer's output per sample, added to the training loss.</param>
    /// <exception cref="ArgumentException">Unknown activation name.</exception>
    public Dense(int units, string? activation, bool useBias = true,
        Regularizer? kernelRegularizer = null, Regularizer? biasRegularizer = null, Regularizer? activityRegularizer = null)
        : this(units, Activations.FromName(activation), useBias, kernelRegularizer, biasRegularizer, activityRegularizer) { }

    /// <summary>Creates the layer with a known input size and an activation given by its Keras name.</summary>
    /// <param name="inFeatures">Input size.</param>
    /// <param name="units">Output size.</param>
    /// <param name="activation">A name <see cref="Activations.FromName"/> accepts; null or empty for none.</param>
    /// <param name="useBias">Whether the layer has a bias.</param>
    /// <param name="kernelRegularizer">Penalty on the weight, added to the training loss (<see cref="Regularizers"/>).</param>
    /// <param name="biasRegularizer">Penalty on the bias, added to the training loss.</param>
    /// <param name="activityRegularizer">Penalty on the layer's output per sample, added to the training loss.</param>
    /// <exception cref="ArgumentException">Unknown activation name.</exception>
    public Dense(int inFeatures, int units, string? activation, bool useBias = true,
        Regularizer? kernelRegularizer = null, Regularizer? biasRegularizer = null, Regularizer? activityRegularizer = null)
        : this(inFeatures, units, Activations.FromName(activation), useBias, kernelRegularizer, biasRegularizer, activityRegularizer) { }

    /// <summary>Penalty on <see cref="Weight"/> added to the training loss, or null.</summary>
    public Regularizer? KernelRegularizer { get; set; }

    /// <summary>Penalty on <see cref="Bias"/> added to the training loss, or null.</summary>
    public Regularizer? BiasRegularizer { get; set; }

    /// <summary>Penalty on the layer's output (divided by the batch size) added to the training loss, or null.</summary>
    public Regularizer? ActivityRegularizer { get; set; }

    /// <inheritdoc />
    protected override IEnumerable<Tensor> OwnRegularizationLosses()
    {
        if (linear is null) yield break;
        if (KernelRegularizer is not null) yield return KernelRegularizer.Penalty(linear.Weight);
        if (BiasRegularizer is not null && linear.Bias is not null) yield return BiasRegularizer.Penalty(linear.Bias);
    }

    /// <summary>Output size.</summary>
    public int Units { get; }

    /// <summary>The activation applied after the affine map.</summary>
    public Activation ActivationFunction { get; }

    /// <summary>Whether the layer has a bias.</summary>
    public bool UseBias { get; }

    /// <summary>True once the input size is known and parameters exist.</summary>
    public bool IsBuilt => linear is not null;

    /// <summary>Input size, or null before the first call.</summary>
    public int? InFeatures => linear?.InFeatures;

    /// <summary>Weight [units, inFeatures] (PyTorch layout).</summary>
    /// <exception cref="InvalidOperationException">Before the first call.</exception>
    public Tensor Weight => (linear ?? throw NotBuilt()).Weight;

    /// <summary>Bias [units], or null.</summary>
    public Tensor? Bias => (linear ?? throw NotBuilt()).Bias;

    InvalidOperationException NotBuilt() =>
        new("Dense: the input size is not known yet; call Forward once (or Build(inFeatures)) before reading parameters.");

    /// <summary>Creates the parameters for <paramref name="inFeatures"/> inputs (no-op when already built with that size).</summary>
    public void Build(int inFeatures)
    {
        if (linear is not null)
        {
            if (linear.InFeatures != inFeatures)
                throw new ArgumentException($"Dense: built for {linear.InFeatures} input features, got {inFeatures}.");
            return;
        }
        // Created where To(DType)/To(Device) placed this layer before it was built.
        var built = new Linear(inFeatures, Units, UseBias);
        if (PlacementDType is DType t) built.To(t);
        if (Placement is Device d) built.To(d);
        linear = built;
        RegisterModule("linear", linear);
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor x)
    {
        if (x.Dim == 0) throw new ArgumentException("Dense: input must have at least one dimension.");
        Build((int)x.Shape[-1]);
        var y = ActivationFunction.Apply(linear!.Forward(x));
        ActivityRegularization.Record(ActivityRegularizer, y);
        return y;
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => $"units: {Units}, activation: {ActivationFunction}, inFeatures: {(InFeatures?.ToString() ?? "?")}";
}
