namespace NeuralCore.Optim;

/// <summary>
/// Decays each rate by <c>gamma</c> at every milestone epoch, as PyTorch's <c>MultiStepLR</c>:
/// <c>lr = base · gamma^(number of milestones ≤ epoch)</c> (a milestone listed twice counts twice).
/// </summary>
public sealed class MultiStepLR : LRScheduler
{
    readonly int[] milestones;
    readonly double gamma;

    /// <summary>Creates the schedule and applies epoch 0.</summary>
    /// <param name="optimizer">The optimizer whose rates to set.</param>
    /// <param name="milestones">Epochs at which to decay (any order).</param>
    /// <param name="gamma">Multiplicative decay factor.</param>
    /// <exception cref="ArgumentOutOfRangeException">A milestone or <paramref name="gamma"/> is negative.</exception>
    public MultiStepLR(Optimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        this.milestones = [.. milestones.Order()];
        if (this.milestones.Length > 0 && this.milestones[0] < 0)
            throw new ArgumentOutOfRangeException(nameof(milestones), this.milestones[0], "Milestones must be non-negative epochs.");
        this.gamma = ParamGroup.CheckNonNegative(gamma, nameof(gamma));
        Initialize();
    }

    /// <summary>The milestones, sorted.</summary>
    public IReadOnlyList<int> Milestones => milestones;

    /// <inheritdoc/>
    protected override double ComputeLr(double baseLr, int epoch) => baseLr * Math.Pow(gamma, milestones.Count(m => m <= epoch));
}
