namespace NeuralCore.Optim;

/// <summary>
/// Cosine annealing (Loshchilov &amp; Hutter, 2017, SGDR without restarts) in PyTorch's closed form:
/// <c>lr = etaMin + (base − etaMin)·(1 + cos(π·epoch / tMax)) / 2</c>, reaching <c>etaMin</c> at epoch tMax and
/// rising again after it, as PyTorch's <c>CosineAnnealingLR</c>.
/// </summary>
public sealed class CosineAnnealingLR : LRScheduler
{
    readonly int tMax;
    readonly double etaMin;

    /// <summary>Creates the schedule and applies epoch 0.</summary>
    /// <param name="optimizer">The optimizer whose rates to set.</param>
    /// <param name="tMax">Epochs of the half cosine period (≥ 1).</param>
    /// <param name="etaMin">The minimum rate.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tMax"/> is below 1 or <paramref name="etaMin"/> is negative.</exception>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0) : base(optimizer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tMax, 1);
        this.tMax = tMax;
        this.etaMin = ParamGroup.CheckNonNegative(etaMin, nameof(etaMin));
        Initialize();
    }

    /// <inheritdoc/>
    protected override double ComputeLr(double baseLr, int epoch) =>
        etaMin + (baseLr - etaMin) * (1 + Math.Cos(Math.PI * epoch / tMax)) / 2;
}
