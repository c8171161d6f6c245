using NeuralCore.Backends;
using NeuralCore.Profiling;

namespace NeuralCore.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and coupled weight decay,
/// exactly as PyTorch's <c>torch.optim.SGD</c>:
/// <code>
/// g ← g + wd·w                                   (weightDecay)
/// b ← g on the first step, else momentum·b + (1 − dampening)·g
/// g ← g + momentum·b (nesterov) or b             (when momentum ≠ 0)
/// w ← w − lr·g
/// </code>
/// g already includes the group's L1/L2 penalty gradients (see <see cref="Optimizer"/>), and is −∇loss when
/// <c>maximize</c> is set.
/// </summary>
public sealed class Sgd : Optimizer
{
    static readonly string[] MomentumState = ["momentum_buffer"];
    readonly double momentum, dampening, weightDecay;
    readonly bool nesterov, maximize;

    /// <summary>SGD over <paramref name="parameters"/>.</summary>
    /// <param name="parameters">The parameters to optimize.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="momentum">Momentum factor (0 = plain SGD).</param>
    /// <param name="dampening">Dampening of the momentum's gradient term (not applied on the first step).</param>
    /// <param name="nesterov">Nesterov momentum; needs momentum &gt; 0 and dampening = 0.</param>
    /// <param name="weightDecay">Coupled weight decay wd: adds wd·w to the gradient.</param>
    /// <param name="maximize">Ascend the objective instead of descending it.</param>
    /// <exception cref="ArgumentException">A setting is negative, or nesterov is set without momentum or with dampening.</exception>
    public Sgd(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double dampening = 0, bool nesterov = false,
        double weightDecay = 0, bool maximize = false)
        : base(parameters, lr) =>
        (this.momentum, this.dampening, this.nesterov, this.weightDecay, this.maximize) =
            Validate(momentum, dampening, nesterov, weightDecay, maximize);

    /// <summary>SGD over parameter groups, whose <see cref="ParamGroup.Lr"/>, <see cref="ParamGroup.Momentum"/> and
    /// <see cref="ParamGroup.WeightDecay"/> override the arguments.</summary>
    /// <inheritdoc cref="Sgd(IEnumerable{Tensor}, double, double, double, bool, double, bool)"/>
    public Sgd(IEnumerable<ParamGroup> paramGroups, double lr, double momentum = 0, double dampening = 0, bool nesterov = false,
        double weightDecay = 0, bool maximize = false)
        : base(paramGroups, lr) =>
        (this.momentum, this.dampening, this.nesterov, this.weightDecay, this.maximize) =
            Validate(momentum, dampening, nesterov, weightDecay, maximize);

    /// <summary>An unbound SGD (Keras default lr 0.01), given parameters later by <see cref="Optimizer.Bind"/> (or <c>Fit</c>).</summary>
    /// <inheritdoc cref="Sgd(IEnumerable{Tensor}, double, double, double, bool, double, bool)"/>
    public Sgd(double lr = 0.01, double momentum = 0, double dampening = 0, bool nesterov = false, double weightDecay = 0,
        bool maximize = false)
        : base(lr) =>
        (this.momentum, this.dampening, this.nesterov, this.weightDecay, this.maximize) =
            Validate(momentum, dampening, nesterov, weightDecay, maximize);

    static (double, double, bool, double, bool) Validate(double momentum, double dampening, bool nesterov, double weightDecay, bool maximize)
    {
        NonNegative(momentum, nameof(momentum));
        NonNegative(dampening, nameof(dampening));
        NonNegative(weightDecay, nameof(weightDecay));
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException($"Sgd: Nesterov momentum requires momentum > 0 and dampening = 0 (got momentum {momentum}, dampening {dampening}).", nameof(nesterov));
        return (momentum, dampening, nesterov, weightDecay, maximize);
    }

    /// <summary>The default momentum factor.</summary>
    public double Momentum => momentum;

    /// <summary>The dampening of the momentum's gradient term.</summary>
    public double Dampening => dampening;

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov => nesterov;

    /// <summary>The default coupled weight decay.</summary>
    public double WeightDecay => weightDecay;

    /// <inheritdoc/>
    protected override bool Maximize => maximize;

    /// <inheritdoc/>
    protected override IReadOnlyCollection<string> StateNames(ParamGroup group) =>
        (group.Momentum ?? momentum) != 0 ? MomentumState : [];

    /// <inheritdoc/>
    protected override void Update(ParamGroup group, Tensor parameter, Tensor gradient, double lr)
    {
        double mom = group.Momentum ?? momentum, wd = group.WeightDecay ?? weightDecay;
        if (nesterov && mom <= 0)
            throw new InvalidOperationException($"Sgd: Nesterov momentum requires momentum > 0, but a parameter group sets Momentum = {mom}.");
        var g = wd != 0 ? gradient.Add(parameter, wd) : gradient;
        if (mom != 0)
        {
            var s = State(parameter);
            if (!s.TryGet("momentum_buffer", out var buf)) s.Set("momentum_buffer", buf = g.Clone());
            else buf.Mul_(mom).Add_(g, 1 - dampening);
            g = nesterov ? g.Add(buf, mom) : buf;
        }
        parameter.Add_(g, -lr);
    }

    /// <inheritdoc/>
    private protected override bool TryFusedUpdate(ParamGroup group, Tensor parameter, Tensor gradient, double lr,
        FusedGradientTerms terms)
    {
        double mom = group.Momentum ?? momentum, wd = group.WeightDecay ?? weightDecay;
        if (nesterov && mom <= 0) return false; // Update reports the bad setting.
        if (FusedKernels(parameter, gradient) is not { } kernels) return false;
        Tensor? buf = null;
        bool initialize = false;
        if (mom != 0)
        {
            var s = State(parameter);
            if (s.TryGet("momentum_buffer", out buf))
            {
                if (!FusedCompatible(parameter, buf)) return false;
            }
            else
            {
                s.Set("momentum_buffer", buf = Tensor.ZerosLike(parameter));
                initialize = true;
            }
        }
        var p = new FusedSgdParams(terms with { CoupledDecay = wd }, lr, mom, dampening, nesterov, initialize);
        kernels.SgdUpdate(parameter.Buf, gradient.Buf, buf?.Buf, p);
        FlopCosts.Add("sgd_update", FlopCosts.Sgd(parameter.NumElements, p, buf is not null));
        return true;
    }

    /// <summary>The settings, PyTorch-style.</summary>
    public override string ToString() =>
        $"Sgd(lr: {Lr}, momentum: {momentum}, dampening: {dampening}, nesterov: {nesterov}, weightDecay: {weightDecay}, maximize: {maximize}, groups: {ParamGroups.Count})";
}
