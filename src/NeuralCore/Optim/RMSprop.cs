namespace NeuralCore.Optim;

/// <summary>
/// RMSprop (Hinton, Lecture 6e; centered form of Graves, 2013) exactly as <c>torch.optim.RMSprop</c>:
/// <code>
/// g ← g + wd·w                                  (weightDecay, coupled)
/// s ← α·s + (1 − α)·g²
/// ḡ ← α·ḡ + (1 − α)·g;  d ← √(s − ḡ²) + eps     (centered)   else  d ← √s + eps
/// b ← momentum·b + g/d;  w ← w − lr·b            (momentum &gt; 0) else  w ← w − lr·g/d
/// </code>
/// State per parameter: <c>square_avg</c> (s), <c>grad_avg</c> (ḡ, centered), <c>momentum_buffer</c> (b) and the step.
/// </summary>
public sealed class RMSprop : Optimizer
{
    readonly double alpha, eps, weightDecay, momentum;
    readonly bool centered;

    /// <summary>RMSprop over <paramref name="parameters"/>.</summary>
    /// <param name="parameters">The parameters to optimize.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="alpha">Smoothing constant of the squared-gradient average (Keras' rho).</param>
    /// <param name="eps">Term added to the denominator for numerical stability.</param>
    /// <param name="weightDecay">Coupled weight decay wd: adds wd·w to the gradient.</param>
    /// <param name="momentum">Momentum factor.</param>
    /// <param name="centered">Normalize by an estimate of the gradient's variance instead of its second moment.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is negative, or alpha is above 1.</exception>
    public RMSprop(IEnumerable<Tensor> parameters, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0,
        double momentum = 0, bool centered = false)
        : base(parameters, lr) =>
        (this.alpha, this.eps, this.weightDecay, this.momentum, this.centered) = Validate(alpha, eps, weightDecay, momentum, centered);

    /// <summary>RMSprop over parameter groups, whose <see cref="ParamGroup.Lr"/>, <see cref="ParamGroup.Momentum"/> and
    /// <see cref="ParamGroup.WeightDecay"/> override the arguments.</summary>
    /// <inheritdoc cref="RMSprop(IEnumerable{Tensor}, double, double, double, double, double, bool)"/>
    public RMSprop(IEnumerable<ParamGroup> paramGroups, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0,
        double momentum = 0, bool centered = false)
        : base(paramGroups, lr) =>
        (this.alpha, this.eps, this.weightDecay, this.momentum, this.centered) = Validate(alpha, eps, weightDecay, momentum, centered);

    /// <summary>An unbound RMSprop, given parameters later by <see cref="Optimizer.Bind"/> (or <c>Fit</c>).</summary>
    /// <inheritdoc cref="RMSprop(IEnumerable{Tensor}, double, double, double, double, double, bool)"/>
    public RMSprop(double lr = 1e-2, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0, double momentum = 0, bool centered = false)
        : base(lr) =>
        (this.alpha, this.eps, this.weightDecay, this.momentum, this.centered) = Validate(alpha, eps, weightDecay, momentum, centered);

    static (double, double, double, double, bool) Validate(double alpha, double eps, double weightDecay, double momentum, bool centered)
    {
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, $"alpha must be in [0, 1], got {alpha}.");
        NonNegative(eps, nameof(eps));
        NonNegative(weightDecay, nameof(weightDecay));
        NonNegative(momentum, nameof(momentum));
        return (alpha, eps, weightDecay, momentum, centered);
    }

    /// <summary>The smoothing constant α.</summary>
    public double Alpha => alpha;

    /// <summary>The denominator's stability term.</summary>
    public double Eps => eps;

    /// <summary>The default coupled weight decay.</summary>
    public double WeightDecay => weightDecay;

    /// <summary>The default momentum factor.</summary>
    public double Momentum => momentum;

    /// <summary>Whether the centered variant is used.</summary>
    public bool Centered => centered;

    /// <inheritdoc/>
    protected override IReadOnlyCollection<string> StateNames(ParamGroup group)
    {
        var names = new List<string> { "square_avg" };
        if ((group.Momentum ?? momentum) > 0) names.Add("momentum_buffer");
        if (centered) names.Add("grad_avg");
        return names;
    }

    /// <inheritdoc/>
    protected override void Update(ParamGroup group, Tensor parameter, Tensor gradient, double lr)
    {
        double wd = group.WeightDecay ?? weightDecay, mom = group.Momentum ?? momentum;
        var g = wd != 0 ? gradient.Add(parameter, wd) : gradient;
        var s = State(parameter);
        s.Step++;
        var squareAvg = s.GetOrZeros("square_avg", parameter);
        squareAvg.Mul_(alpha).Add_(g.Square(), 1 - alpha);
        Tensor avg;
        if (centered)
        {
            var gradAvg = s.GetOrZeros("grad_avg", parameter);
            gradAvg.Mul_(alpha).Add_(g, 1 - alpha);
            avg = squareAvg.Sub(gradAvg.Square()).Sqrt();
        }
        else avg = squareAvg.Sqrt();
        avg.Add_(eps);
        if (mom > 0)
        {
            var buf = s.GetOrZeros("momentum_buffer", parameter);
            buf.Mul_(mom).Add_(g.Div(avg));
            parameter.Add_(buf, -lr);
        }
        else parameter.Add_(g.Div(avg), -lr);
    }

    /// <summary>The settings, PyTorch-style.</summary>
    public override string ToString() =>
        $"RMSprop(lr: {Lr}, alpha: {alpha}, eps: {eps}, weightDecay: {weightDecay}, momentum: {momentum}, centered: {centered}, groups: {ParamGroups.Count})";
}
