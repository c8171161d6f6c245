namespace NeuralCore.Optim;

/// <summary>
/// A set of parameters that share hyperparameters inside one <see cref="Optimizer"/>, as a PyTorch
/// <c>param_group</c>. Every setting left null falls back to the optimizer's own value, so changing
/// <see cref="Optimizer.Lr"/> moves every group that has no <see cref="Lr"/> of its own.
/// </summary>
/// <remarks>
/// The penalties <see cref="L1"/> and <see cref="L2"/> are first-class: the optimizer adds the gradient of
/// λ1·Σ|w| + λ2·Σw² over this group's parameters to their gradients in every <see cref="Optimizer.Step"/>
/// (λ1·sign(w) + 2·λ2·w), and reports the penalty's value in <see cref="Optimizer.LastPenalty"/>.
/// </remarks>
public sealed class ParamGroup
{
    readonly Tensor[] parameters;
    double l1, l2;
    double? lr, momentum, weightDecay;

    /// <summary>Creates a group over <paramref name="parameters"/> (in order; each at most once).</summary>
    /// <exception cref="ArgumentException">A parameter is null, not floating point, not a leaf, or listed twice.</exception>
    public ParamGroup(IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        this.parameters = [.. parameters];
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < this.parameters.Length; i++)
        {
            var p = this.parameters[i] ?? throw new ArgumentException($"ParamGroup: parameter {i} is null.", nameof(parameters));
            if (!p.DType.IsFloatingPoint())
                throw new ArgumentException($"ParamGroup: parameter {i} is {p.DType}; only floating-point tensors can be optimized.", nameof(parameters));
            if (!p.IsLeaf)
                throw new ArgumentException($"ParamGroup: parameter {i} is not a leaf (it was produced by {p.GradFnName}); optimize the leaf it came from.", nameof(parameters));
            if (!seen.Add(p))
                throw new ArgumentException($"ParamGroup: parameter {i} (shape {p.Shape}) is listed more than once.", nameof(parameters));
        }
    }

    /// <summary>The group's parameters, in the order given.</summary>
    public IReadOnlyList<Tensor> Parameters => parameters;

    /// <summary>This group's learning rate, or null to use the optimizer's <see cref="Optimizer.Lr"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or NaN.</exception>
    public double? Lr
    {
        get => lr;
        set => lr = value is double v ? CheckNonNegative(v, nameof(Lr)) : null;
    }

    /// <summary>L1 penalty coefficient λ1: adds λ1·Σ|w| to the objective, λ1·sign(w) to each gradient. Default 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or not finite.</exception>
    public double L1
    {
        get => l1;
        set => l1 = CheckFinite(CheckNonNegative(value, nameof(L1)), nameof(L1));
    }

    /// <summary>
    /// L2 penalty coefficient λ2: adds λ2·Σw² to the objective, 2·λ2·w to each gradient (the exact derivative).
    /// PyTorch's <c>weight_decay</c> wd adds wd·w instead, which is λ2 = wd/2. Default 0.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or not finite.</exception>
    public double L2
    {
        get => l2;
        set => l2 = CheckFinite(CheckNonNegative(value, nameof(L2)), nameof(L2));
    }

    /// <summary>This group's momentum (SGD, RMSprop), or null to use the optimizer's.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or NaN.</exception>
    public double? Momentum
    {
        get => momentum;
        set => momentum = value is double v ? CheckNonNegative(v, nameof(Momentum)) : null;
    }

    /// <summary>
    /// This group's <c>weightDecay</c> (PyTorch's argument: coupled wd·w added to the gradient, decoupled
    /// w ← w·(1 − lr·wd) in <see cref="AdamW"/>), or null to use the optimizer's.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or NaN.</exception>
    public double? WeightDecay
    {
        get => weightDecay;
        set => weightDecay = value is double v ? CheckNonNegative(v, nameof(WeightDecay)) : null;
    }

    /// <summary>Number of parameters and elements, and the settings that differ from the optimizer's.</summary>
    public override string ToString()
    {
        var parts = new List<string> { $"{parameters.Length} parameters, {parameters.Sum(p => p.NumElements):N0} elements" };
        if (lr is double r) parts.Add($"lr: {r}");
        if (l1 != 0) parts.Add($"L1: {l1}");
        if (l2 != 0) parts.Add($"L2: {l2}");
        if (momentum is double m) parts.Add($"momentum: {m}");
        if (weightDecay is double w) parts.Add($"weightDecay: {w}");
        return $"ParamGroup({string.Join(", ", parts)})";
    }

    internal static double CheckNonNegative(double value, string name) =>
        value >= 0 ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be non-negative, got {value}.");

    static double CheckFinite(double value, string name) =>
        double.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite, got {value}.");
}
