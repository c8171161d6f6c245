namespace NeuralCore.Training;

/// <summary>Mean of |prediction − target| over all elements; a target with the prediction's element count is reshaped to match.</summary>
/// <param name="name">Reported name.</param>
public sealed class MeanAbsoluteError(string name = "mae") : Metric(name)
{
    readonly ErrorAccumulator accumulator = new();

    /// <inheritdoc />
    public override void Reset() => accumulator.Reset();

    /// <inheritdoc />
    public override void Update(Tensor prediction, Tensor target) => accumulator.Add(prediction, target, d => d.Abs());

    /// <inheritdoc />
    public override double Result => accumulator.Mean;

    internal override IEnumerable<DeviceSum> Sums => [accumulator.Sum];

    /// <inheritdoc />
    public override Metric Clone() => new MeanAbsoluteError(Name);
}
