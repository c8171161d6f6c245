namespace NeuralCore.Optim;

/// <summary>
/// Adam with decoupled weight decay (Loshchilov &amp; Hutter, 2019), as <c>torch.optim.AdamW</c>: before the
/// <see cref="Adam"/> update (which then applies no coupled decay), every parameter shrinks as
/// <c>w ← w·(1 − lr·wd)</c>. The L1/L2 penalties of a <see cref="ParamGroup"/> still enter the gradient.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>AdamW over <paramref name="parameters"/>.</summary>
    /// <param name="parameters">The parameters to optimize.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="betas">Decay rates (β1, β2) of the moment estimates; default (0.9, 0.999).</param>
    /// <param name="eps">Term added to the denominator for numerical stability.</param>
    /// <param name="weightDecay">Decoupled weight decay wd: w ← w·(1 − lr·wd) each step.</param>
    /// <param name="amsgrad">Use the maximum of past second moments.</param>
    /// <exception cref="ArgumentOutOfRangeException">lr, eps or weightDecay is negative, or a beta is outside [0, 1).</exception>
    public AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, (double, double)? betas = null, double eps = 1e-8,
        double weightDecay = 1e-2, bool amsgrad = false)
        : base(parameters, lr, betas, eps, weightDecay, amsgrad, decoupled: true) { }

    /// <summary>AdamW over parameter groups, whose <see cref="ParamGroup.Lr"/> and <see cref="ParamGroup.WeightDecay"/> override the arguments.</summary>
    /// <inheritdoc cref="AdamW(IEnumerable{Tensor}, double, ValueTuple{double, double}?, double, double, bool)"/>
    public AdamW(IEnumerable<ParamGroup> paramGroups, double lr = 1e-3, (double, double)? betas = null, double eps = 1e-8,
        double weightDecay = 1e-2, bool amsgrad = false)
        : base(paramGroups, lr, betas, eps, weightDecay, amsgrad, decoupled: true) { }

    /// <summary>An unbound AdamW, given parameters later by <see cref="Optimizer.Bind"/> (or <c>Fit</c>).</summary>
    /// <inheritdoc cref="AdamW(IEnumerable{Tensor}, double, ValueTuple{double, double}?, double, double, bool)"/>
    public AdamW(double lr = 1e-3, (double, double)? betas = null, double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false)
        : base(lr, betas, eps, weightDecay, amsgrad, decoupled: true) { }
}
