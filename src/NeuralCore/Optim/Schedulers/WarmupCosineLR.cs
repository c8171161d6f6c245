namespace NeuralCore.Optim;

/// <summary>
/// Linear warmup then cosine decay, the schedule of most transformer training (as Hugging Face's
/// <c>get_cosine_schedule_with_warmup</c>, with a floor): for step s, warmup W and total S,
/// <c>lr = base·s / W</c> while s &lt; W, then <c>lr = etaMin + (base − etaMin)·(1 + cos(π·p)) / 2</c> with
/// <c>p = (s − W) / (S − W)</c>, reaching etaMin at step S and staying there. Step it once per optimizer step.
/// </summary>
public sealed class WarmupCosineLR : LRScheduler
{
    readonly int warmupSteps, totalSteps;
    readonly double etaMin;

    /// <summary>Creates the schedule and applies step 0 (a rate of 0 when there is a warmup, as the formula gives).</summary>
    /// <param name="optimizer">The optimizer whose rates to set.</param>
    /// <param name="warmupSteps">Steps of linear warmup from 0 to the base rate (≥ 0).</param>
    /// <param name="totalSteps">Step at which the decay reaches <paramref name="etaMin"/> (greater than <paramref name="warmupSteps"/>).</param>
    /// <param name="etaMin">The final rate.</param>
    /// <exception cref="ArgumentOutOfRangeException">A step count is out of range or <paramref name="etaMin"/> is negative.</exception>
    public WarmupCosineLR(Optimizer optimizer, int warmupSteps, int totalSteps, double etaMin = 0) : base(optimizer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(totalSteps, warmupSteps);
        this.warmupSteps = warmupSteps;
        this.totalSteps = totalSteps;
        this.etaMin = ParamGroup.CheckNonNegative(etaMin, nameof(etaMin));
        Initialize();
    }

    /// <inheritdoc/>
    protected override double ComputeLr(double baseLr, int epoch)
    {
        if (epoch < warmupSteps) return baseLr * epoch / warmupSteps;
        double progress = Math.Min(1.0, (double)(epoch - warmupSteps) / (totalSteps - warmupSteps));
        return etaMin + (baseLr - etaMin) * (1 + Math.Cos(Math.PI * progress)) / 2;
    }
}
