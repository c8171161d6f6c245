namespace NeuralCore.Optim;

/// <summary>Decays each rate by <c>gamma</c> every epoch, as PyTorch's <c>ExponentialLR</c>: <c>lr = base · gamma^epoch</c>.</summary>
public sealed class ExponentialLR : LRScheduler
{
    readonly double gamma;

    /// <summary>Creates the schedule and applies epoch 0.</summary>
    /// <param name="optimizer">The optimizer whose rates to set.</param>
    /// <param name="gamma">Multiplicative decay factor per epoch.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="gamma"/> is negative.</exception>
    public ExponentialLR(Optimizer optimizer, double gamma) : base(optimizer)
    {
        this.gamma = ParamGroup.CheckNonNegative(gamma, nameof(gamma));
        Initialize();
    }

    /// <inheritdoc/>
    protected override double ComputeLr(double baseLr, int epoch) => baseLr * Math.Pow(gamma, epoch);
}
