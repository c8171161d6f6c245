namespace NeuralCore.Optim;

/// <summary>
/// The 1cycle policy (Smith &amp; Topin, 2018) as PyTorch's <c>OneCycleLR</c>, stepped once per batch: the rate
/// rises from <c>maxLr / divFactor</c> to <c>maxLr</c> over the first <c>pctStart·totalSteps − 1</c> steps, then
/// anneals to <c>maxLr / (divFactor·finalDivFactor)</c> at step <c>totalSteps − 1</c> (with <c>threePhase</c>, it
/// first comes back down to the initial rate, symmetrically, and then anneals). Cosine annealing from a to b over a
/// phase at fraction p is <c>b + (a − b)·(1 + cos(π·p))/2</c>; linear is <c>a + (b − a)·p</c>. Every group follows the
/// same schedule (the optimizer's own rates are ignored); momentum is not cycled.
/// </summary>
public sealed class OneCycleLR : LRScheduler
{
    readonly (double EndStep, double Start, double End)[] phases;
    readonly bool cosine;

    /// <summary>Creates the schedule and applies step 0 (rate <c>maxLr / divFactor</c>).</summary>
    /// <param name="optimizer">The optimizer whose rates to set.</param>
    /// <param name="maxLr">The peak rate.</param>
    /// <param name="totalSteps">Number of steps in the cycle (Step may be called this many times).</param>
    /// <param name="pctStart">Fraction of the cycle spent increasing the rate.</param>
    /// <param name="annealStrategy">"cos" or "linear".</param>
    /// <param name="divFactor">Initial rate = maxLr / divFactor.</param>
    /// <param name="finalDivFactor">Final rate = initial rate / finalDivFactor.</param>
    /// <param name="threePhase">Use PyTorch's three-phase variant.</param>
    /// <exception cref="ArgumentException">A setting is out of range, or a phase would be empty.</exception>
    public OneCycleLR(Optimizer optimizer, double maxLr, int totalSteps, double pctStart = 0.3, string annealStrategy = "cos",
        double divFactor = 25, double finalDivFactor = 1e4, bool threePhase = false) : base(optimizer)
    {
        ParamGroup.CheckNonNegative(maxLr, nameof(maxLr));
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 1);
        if (!(pctStart >= 0 && pctStart <= 1)) throw new ArgumentOutOfRangeException(nameof(pctStart), pctStart, "pctStart must be in [0, 1].");
        if (!(divFactor > 0)) throw new ArgumentOutOfRangeException(nameof(divFactor), divFactor, "divFactor must be positive.");
        if (!(finalDivFactor > 0)) throw new ArgumentOutOfRangeException(nameof(finalDivFactor), finalDivFactor, "finalDivFactor must be positive.");
        cosine = annealStrategy switch
        {
            "cos" => true,
            "linear" => false,
            _ => throw new ArgumentException($"OneCycleLR: annealStrategy must be \"cos\" or \"linear\", got \"{annealStrategy}\".", nameof(annealStrategy)),
        };
        TotalSteps = totalSteps;
        double initial = maxLr / divFactor, min = initial / finalDivFactor, up = pctStart * totalSteps - 1;
        phases = threePhase
            ? [(up, initial, maxLr), (2 * pctStart * totalSteps - 2, maxLr, initial), (totalSteps - 1, initial, min)]
            : [(up, initial, maxLr), (totalSteps - 1, maxLr, min)];
        double previous = 0;
        foreach (var (end, _, _) in phases)
        {
            if (!(end > previous))
                throw new ArgumentException($"OneCycleLR: with totalSteps {totalSteps} and pctStart {pctStart} a phase of the cycle would have no steps; use more steps or another pctStart.");
            previous = end;
        }
        Initialize();
    }

    /// <summary>Number of steps in the cycle.</summary>
    public int TotalSteps { get; }

    /// <inheritdoc/>
    protected override double ComputeLr(double baseLr, int epoch)
    {
        if (epoch > TotalSteps)
            throw new InvalidOperationException($"OneCycleLR: tried to step {epoch} times; the cycle has totalSteps = {TotalSteps}.");
        double startStep = 0;
        int i = 0;
        for (; i < phases.Length - 1 && epoch > phases[i].EndStep; i++) startStep = phases[i].EndStep;
        var (end, a, b) = phases[i];
        double pct = (epoch - startStep) / (end - startStep);
        // Step totalSteps lies one step past the last phase (pct > 1), as in PyTorch; a linear anneal could dip
        // below zero there, which no optimizer accepts.
        return Math.Max(0, cosine ? b + (a - b) / 2 * (Math.Cos(Math.PI * pct) + 1) : (b - a) * pct + a);
    }
}
