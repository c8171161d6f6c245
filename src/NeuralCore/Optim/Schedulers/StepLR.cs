namespace NeuralCore.Optim;

/// <summary>
/// Decays each rate by <c>gamma</c> every <c>stepSize</c> epochs, as PyTorch's <c>StepLR</c>:
/// <c>lr = base · gamma^⌊epoch / stepSize⌋</c>.
/// </summary>
public sealed class StepLR : LRScheduler
{
    readonly int stepSize;
    readonly double gamma;

    /// <summary>Creates the schedule and applies epoch 0.</summary>
    /// <param name="optimizer">The optimizer whose rates to set.</param>
    /// <param name="stepSize">Epochs between decays (≥ 1).</param>
    /// <param name="gamma">Multiplicative decay factor.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="stepSize"/> is below 1 or <paramref name="gamma"/> is negative.</exception>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1) : base(optimizer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stepSize, 1);
        this.stepSize = stepSize;
        this.gamma = ParamGroup.CheckNonNegative(gamma, nameof(gamma));
        Initialize();
    }

    /// <inheritdoc/>
    protected override double ComputeLr(double baseLr, int epoch) => baseLr * Math.Pow(gamma, epoch / stepSize);
}
