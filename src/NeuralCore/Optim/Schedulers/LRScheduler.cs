namespace NeuralCore.Optim;

/// <summary>
/// Base class of the epoch-indexed learning-rate schedules, with PyTorch's semantics: constructing a scheduler
/// records each rate as its base rate and applies the schedule's value for epoch 0 (<see cref="LastEpoch"/> = 0);
/// every <see cref="Step"/> advances the epoch by one and sets the rates to the schedule's closed-form value.
/// </summary>
/// <remarks>
/// Rates are per group: the optimizer's default <see cref="Optimizer.Lr"/> follows the schedule from its own base,
/// and so does every group that had its own <see cref="ParamGroup.Lr"/> when the scheduler was created, from that
/// group's base. Groups without their own rate keep following the default, so the scheduler also works on an
/// optimizer that is bound later.
/// </remarks>
public abstract class LRScheduler
{
    readonly double defaultBase;
    readonly List<(ParamGroup Group, double Base)> ownRates = [];

    /// <summary>Records the base rates of <paramref name="optimizer"/>. Derived constructors finish with <see cref="Initialize"/>.</summary>
    protected LRScheduler(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        defaultBase = optimizer.Lr;
        foreach (var g in optimizer.ParamGroups)
            if (g.Lr is double own) ownRates.Add((g, own));
    }

    /// <summary>The optimizer whose rates this scheduler sets.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The epoch index of the rates now set: 0 after construction, then +1 per <see cref="Step"/>.</summary>
    public int LastEpoch { get; private set; } = -1;

    /// <summary>The rate of the first parameter group (the default rate while unbound), as set by the last step.</summary>
    public double LastLr => Optimizer.ParamGroups.Count > 0 ? Optimizer.EffectiveLr(Optimizer.ParamGroups[0]) : Optimizer.Lr;

    /// <summary>The rate of every parameter group, as PyTorch's <c>get_last_lr()</c>.</summary>
    public IReadOnlyList<double> LastLrs => Optimizer.ParamGroups.Select(Optimizer.EffectiveLr).ToArray();

    /// <summary>The base rate of every parameter group: the rate it had when the scheduler was created.</summary>
    public IReadOnlyList<double> BaseLrs => Optimizer.ParamGroups.Select(BaseOf).ToArray();

    double BaseOf(ParamGroup group)
    {
        foreach (var (g, b) in ownRates)
            if (ReferenceEquals(g, group)) return b;
        return defaultBase;
    }

    /// <summary>Advances one epoch and sets the rates.</summary>
    /// <exception cref="InvalidOperationException">The schedule is not defined past its last step (<see cref="OneCycleLR"/>).</exception>
    public void Step()
    {
        int epoch = LastEpoch + 1;
        double defaultLr = ComputeLr(defaultBase, epoch);
        var own = ownRates.Select(o => ComputeLr(o.Base, epoch)).ToArray();
        LastEpoch = epoch;
        Optimizer.Lr = defaultLr;
        for (int i = 0; i < own.Length; i++) ownRates[i].Group.Lr = own[i];
    }

    /// <summary>Applies epoch 0 (PyTorch's initial step); call it last in a derived constructor.</summary>
    protected void Initialize()
    {
        if (LastEpoch >= 0) throw new InvalidOperationException($"{GetType().Name}: already initialized.");
        Step();
    }

    /// <summary>The schedule: the rate at <paramref name="epoch"/> for a group whose base rate is <paramref name="baseLr"/>.</summary>
    protected abstract double ComputeLr(double baseLr, int epoch);
}
