using NeuralCore.Backends;
using NeuralCore.Profiling;

namespace NeuralCore.Optim;

/// <summary>
/// Adam (Kingma &amp; Ba, 2015, Algorithm 1) with PyTorch's placement of eps and optional AMSGrad, exactly as
/// <c>torch.optim.Adam</c>. At step t, with g the effective gradient (loss gradient + L1/L2 penalty terms):
/// <code>
/// g ← g + wd·w                                     (weightDecay, coupled)
/// m ← β1·m + (1 − β1)·g
/// v ← β2·v + (1 − β2)·g²
/// v̂max ← max(v̂max, v)                              (amsgrad; then v̂max replaces v below)
/// w ← w − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)
/// </code>
/// State per parameter: <c>exp_avg</c> (m), <c>exp_avg_sq</c> (v), <c>max_exp_avg_sq</c> (amsgrad) and the step t.
/// </summary>
public class Adam : Optimizer
{
    static readonly string[] PlainState = ["exp_avg", "exp_avg_sq"];
    static readonly string[] AmsgradState = ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];
    readonly double beta1, beta2, eps, weightDecay;
    readonly bool amsgrad, decoupled;

    /// <summary>Adam over <paramref name="parameters"/>.</summary>
    /// <param name="parameters">The parameters to optimize.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="betas">Decay rates (β1, β2) of the first and second moment estimates; default (0.9, 0.999).</param>
    /// <param name="eps">Term added to the denominator for numerical stability.</param>
    /// <param name="weightDecay">Coupled weight decay wd: adds wd·w to the gradient.</param>
    /// <param name="amsgrad">Use the maximum of past second moments (Reddi et al., 2018).</param>
    /// <exception cref="ArgumentOutOfRangeException">lr, eps or weightDecay is negative, or a beta is outside [0, 1).</exception>
    public Adam(IEnumerable<Tensor> parameters, double lr = 1e-3, (double, double)? betas = null, double eps = 1e-8,
        double weightDecay = 0, bool amsgrad = false)
        : this(parameters, lr, betas, eps, weightDecay, amsgrad, decoupled: false) { }

    /// <summary>Adam over parameter groups, whose <see cref="ParamGroup.Lr"/> and <see cref="ParamGroup.WeightDecay"/> override the arguments.</summary>
    /// <inheritdoc cref="Adam(IEnumerable{Tensor}, double, ValueTuple{double, double}?, double, double, bool)"/>
    public Adam(IEnumerable<ParamGroup> paramGroups, double lr = 1e-3, (double, double)? betas = null, double eps = 1e-8,
        double weightDecay = 0, bool amsgrad = false)
        : this(paramGroups, lr, betas, eps, weightDecay, amsgrad, decoupled: false) { }

    /// <summary>An unbound Adam, given parameters later by <see cref="Optimizer.Bind"/> (or <c>Fit</c>).</summary>
    /// <inheritdoc cref="Adam(IEnumerable{Tensor}, double, ValueTuple{double, double}?, double, double, bool)"/>
    public Adam(double lr = 1e-3, (double, double)? betas = null, double eps = 1e-8, double weightDecay = 0, bool amsgrad = false)
        : this(lr, betas, eps, weightDecay, amsgrad, decoupled: false) { }

    private protected Adam(IEnumerable<Tensor> parameters, double lr, (double, double)? betas, double eps, double weightDecay, bool amsgrad, bool decoupled)
        : base(parameters, lr) =>
        (beta1, beta2, this.eps, this.weightDecay, this.amsgrad, this.decoupled) = Validate(betas, eps, weightDecay, amsgrad, decoupled);

    private protected Adam(IEnumerable<ParamGroup> paramGroups, double lr, (double, double)? betas, double eps, double weightDecay, bool amsgrad, bool decoupled)
        : base(paramGroups, lr) =>
        (beta1, beta2, this.eps, this.weightDecay, this.amsgrad, this.decoupled) = Validate(betas, eps, weightDecay, amsgrad, decoupled);

    private protected Adam(double lr, (double, double)? betas, double eps, double weightDecay, bool amsgrad, bool decoupled)
        : base(lr) =>
        (beta1, beta2, this.eps, this.weightDecay, this.amsgrad, this.decoupled) = Validate(betas, eps, weightDecay, amsgrad, decoupled);

    static (double, double, double, double, bool, bool) Validate((double, double)? betas, double eps, double weightDecay, bool amsgrad, bool decoupled)
    {
        var (b1, b2) = betas ?? (0.9, 0.999);
        if (!(b1 >= 0 && b1 < 1)) throw new ArgumentOutOfRangeException(nameof(betas), b1, $"beta1 must be in [0, 1), got {b1}.");
        if (!(b2 >= 0 && b2 < 1)) throw new ArgumentOutOfRangeException(nameof(betas), b2, $"beta2 must be in [0, 1), got {b2}.");
        NonNegative(eps, nameof(eps));
        NonNegative(weightDecay, nameof(weightDecay));
        return (b1, b2, eps, weightDecay, amsgrad, decoupled);
    }

    /// <summary>The moment decay rates (β1, β2).</summary>
    public (double Beta1, double Beta2) Betas => (beta1, beta2);

    /// <summary>The denominator's stability term.</summary>
    public double Eps => eps;

    /// <summary>The default weight decay (coupled for Adam, decoupled for <see cref="AdamW"/>).</summary>
    public double WeightDecay => weightDecay;

    /// <summary>Whether AMSGrad is used.</summary>
    public bool Amsgrad => amsgrad;

    /// <inheritdoc/>
    protected sealed override IReadOnlyCollection<string> StateNames(ParamGroup group) => amsgrad ? AmsgradState : PlainState;

    /// <inheritdoc/>
    protected sealed override void Update(ParamGroup group, Tensor parameter, Tensor gradient, double lr)
    {
        double wd = group.WeightDecay ?? weightDecay;
        var g = gradient;
        if (wd != 0)
        {
            if (decoupled) parameter.Mul_(1 - lr * wd);
            else g = g.Add(parameter, wd);
        }
        var s = State(parameter);
        var m = s.GetOrZeros("exp_avg", parameter);
        var v = s.GetOrZeros("exp_avg_sq", parameter);
        long t = ++s.Step;
        m.Mul_(beta1).Add_(g, 1 - beta1);
        v.Mul_(beta2).Add_(g.Square(), 1 - beta2);
        var second = v;
        if (amsgrad)
        {
            var vmax = s.GetOrZeros("max_exp_avg_sq", parameter);
            vmax.Copy_(vmax.Maximum(v));
            second = vmax;
        }
        double bias1 = 1 - Math.Pow(beta1, t), bias2Sqrt = Math.Sqrt(1 - Math.Pow(beta2, t));
        var denom = second.Sqrt().Div(bias2Sqrt).Add_(eps);
        parameter.Add_(m.Div(denom), -lr / bias1);
    }

    /// <inheritdoc/>
    private protected sealed override bool TryFusedUpdate(ParamGroup group, Tensor parameter, Tensor gradient, double lr,
        FusedGradientTerms terms)
    {
        if (FusedKernels(parameter, gradient) is not { } kernels) return false;
        var s = State(parameter);
        var m = s.GetOrZeros("exp_avg", parameter);
        var v = s.GetOrZeros("exp_avg_sq", parameter);
        var vmax = amsgrad ? s.GetOrZeros("max_exp_avg_sq", parameter) : null;
        if (!FusedCompatible(parameter, m) || !FusedCompatible(parameter, v) || (vmax is not null && !FusedCompatible(parameter, vmax)))
            return false;
        double wd = group.WeightDecay ?? weightDecay;
        long t = ++s.Step;
        double bias1 = 1 - Math.Pow(beta1, t), bias2Sqrt = Math.Sqrt(1 - Math.Pow(beta2, t));
        var p = new FusedAdamParams(terms with { CoupledDecay = decoupled ? 0 : wd }, beta1, beta2, eps, bias2Sqrt,
            -lr / bias1, decoupled && wd != 0 ? 1 - lr * wd : 1);
        kernels.AdamUpdate(parameter.Buf, gradient.Buf, m.Buf, v.Buf, vmax?.Buf, p);
        FlopCosts.Add("adam_update", FlopCosts.Adam(parameter.NumElements, p, vmax is not null));
        return true;
    }

    /// <summary>The settings, PyTorch-style.</summary>
    public override string ToString() =>
        $"{GetType().Name}(lr: {Lr}, betas: ({beta1}, {beta2}), eps: {eps}, weightDecay: {weightDecay}, amsgrad: {amsgrad}, groups: {ParamGroups.Count})";
}
