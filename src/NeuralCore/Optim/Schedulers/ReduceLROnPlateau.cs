namespace NeuralCore.Optim;

/// <summary>
/// Reduces the rates by <c>factor</c> when a monitored metric stops improving, as PyTorch's
/// <c>ReduceLROnPlateau</c>. Call <see cref="Step(double)"/> once per epoch with the metric (e.g. validation loss).
/// </summary>
/// <remarks>
/// A metric improves when it beats the best so far by the threshold: in "rel" mode by a factor (min:
/// <c>m &lt; best·(1 − threshold)</c>, max: <c>m &gt; best·(1 + threshold)</c>), in "abs" mode by an amount
/// (<c>m &lt; best − threshold</c>, <c>m &gt; best + threshold</c>). After more than <c>patience</c> epochs without
/// improvement every rate becomes <c>max(lr·factor, minLr)</c> (a change below <c>eps</c> is skipped), then
/// <c>cooldown</c> epochs pass during which bad epochs are not counted. The optimizer's default rate and every group
/// with its own rate are reduced, each from its current value. It is not an <see cref="LRScheduler"/>, whose
/// <see cref="LRScheduler.Step"/> takes no metric.
/// </remarks>
public sealed class ReduceLROnPlateau
{
    readonly bool minimize, relative;
    readonly double factor, threshold, minLr, eps;
    readonly int patience, cooldown;
    int cooldownCounter;

    /// <summary>Creates the scheduler; rates are unchanged until a plateau.</summary>
    /// <param name="optimizer">The optimizer whose rates to reduce.</param>
    /// <param name="mode">"min" (the metric should decrease) or "max".</param>
    /// <param name="factor">Multiplier applied to the rates, in [0, 1).</param>
    /// <param name="patience">Epochs without improvement tolerated before reducing.</param>
    /// <param name="threshold">Minimum improvement that counts (see <paramref name="thresholdMode"/>).</param>
    /// <param name="minLr">Lower bound of every rate.</param>
    /// <param name="cooldown">Epochs to wait after a reduction before counting bad epochs again.</param>
    /// <param name="thresholdMode">"rel" or "abs".</param>
    /// <param name="eps">Reductions smaller than this are skipped.</param>
    /// <exception cref="ArgumentException">A mode is unknown or a setting is out of range.</exception>
    public ReduceLROnPlateau(Optimizer optimizer, string mode = "min", double factor = 0.1, int patience = 10, double threshold = 1e-4,
        double minLr = 0, int cooldown = 0, string thresholdMode = "rel", double eps = 1e-8)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        minimize = mode switch
        {
            "min" => true,
            "max" => false,
            _ => throw new ArgumentException($"ReduceLROnPlateau: mode must be \"min\" or \"max\", got \"{mode}\".", nameof(mode)),
        };
        relative = thresholdMode switch
        {
            "rel" => true,
            "abs" => false,
            _ => throw new ArgumentException($"ReduceLROnPlateau: thresholdMode must be \"rel\" or \"abs\", got \"{thresholdMode}\".", nameof(thresholdMode)),
        };
        if (!(factor >= 0 && factor < 1)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "factor must be in [0, 1).");
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        ArgumentOutOfRangeException.ThrowIfNegative(cooldown);
        (this.factor, this.patience, this.cooldown) = (factor, patience, cooldown);
        this.threshold = ParamGroup.CheckNonNegative(threshold, nameof(threshold));
        this.minLr = ParamGroup.CheckNonNegative(minLr, nameof(minLr));
        this.eps = ParamGroup.CheckNonNegative(eps, nameof(eps));
        Best = minimize ? double.PositiveInfinity : double.NegativeInfinity;
    }

    /// <summary>The optimizer whose rates this scheduler reduces.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Number of <see cref="Step(double)"/> calls so far.</summary>
    public int LastEpoch { get; private set; }

    /// <summary>The best metric seen so far (±∞ before the first step).</summary>
    public double Best { get; private set; }

    /// <summary>Consecutive epochs without improvement, as counted now.</summary>
    public int NumBadEpochs { get; private set; }

    /// <summary>The rate of the first parameter group (the default rate while unbound).</summary>
    public double LastLr => Optimizer.ParamGroups.Count > 0 ? Optimizer.EffectiveLr(Optimizer.ParamGroups[0]) : Optimizer.Lr;

    /// <summary>The rate of every parameter group.</summary>
    public IReadOnlyList<double> LastLrs => Optimizer.ParamGroups.Select(Optimizer.EffectiveLr).ToArray();

    /// <summary>Records one epoch's <paramref name="metric"/> and reduces the rates after a plateau.</summary>
    public void Step(double metric)
    {
        LastEpoch++;
        if (IsBetter(metric))
        {
            Best = metric;
            NumBadEpochs = 0;
        }
        else NumBadEpochs++;
        if (cooldownCounter > 0)
        {
            cooldownCounter--;
            NumBadEpochs = 0;
        }
        if (NumBadEpochs > patience)
        {
            Optimizer.Lr = Reduced(Optimizer.Lr);
            foreach (var g in Optimizer.ParamGroups)
                if (g.Lr is double own) g.Lr = Reduced(own);
            cooldownCounter = cooldown;
            NumBadEpochs = 0;
        }
    }

    double Reduced(double lr)
    {
        double next = Math.Max(lr * factor, minLr);
        return lr - next > eps ? next : lr;
    }

    bool IsBetter(double metric) => (minimize, relative) switch
    {
        (true, true) => metric < Best * (1 - threshold),
        (true, false) => metric < Best - threshold,
        (false, true) => metric > Best * (1 + threshold),
        (false, false) => metric > Best + threshold,
    };
}
