namespace NeuralCore.Backends;

/// <summary>
/// Optional backend capability: one-pass optimizer updates. A backend that implements it updates a parameter,
/// its gradient's penalty terms and its optimizer state in a single sweep over the elements instead of the
/// ten or so tensor ops of the composed update. Optimizers use it when the parameter's storage backend
/// implements it and every operand is dense, on one device and of one floating dtype; otherwise they run the
/// composed <see cref="Tensor"/> ops, which work on every device. Both paths compute the same formulas in the
/// same order, element by element, in the parameter's dtype.
/// </summary>
/// <remarks>
/// Every view passed here is contiguous (<see cref="BufferView.IsContiguous"/>), has the parameter's shape and
/// dtype (Float32 or Float64), and lives in this backend's memory. The gradient is read only.
/// </remarks>
public interface IFusedOptimizerKernels
{
    /// <summary>
    /// One Adam/AdamW step over every element, with w the parameter and g the raw gradient:
    /// <code>
    /// e  = gradSign·g + l1·sign(w) + l2Factor·w + coupledDecay·w   (each term only when its factor ≠ 0)
    /// m  = β1·m + (1 − β1)·e
    /// v  = β2·v + (1 − β2)·e²
    /// vm = max(vm, v)                                              (amsgrad: vm replaces v below)
    /// w  = w·decoupledScale + stepScale · m / (√v / bias2Sqrt + eps)
    /// </code>
    /// </summary>
    void AdamUpdate(BufferView parameter, BufferView gradient, BufferView expAvg, BufferView expAvgSq,
        BufferView? maxExpAvgSq, in FusedAdamParams p);

    /// <summary>
    /// One SGD step over every element:
    /// <code>
    /// e = gradSign·g + l1·sign(w) + l2Factor·w + coupledDecay·w
    /// b = e (initialize) or momentum·b + (1 − dampening)·e          (when a buffer is given)
    /// e = e + momentum·b (nesterov) or b                            (when a buffer is given)
    /// w = w − lr·e
    /// </code>
    /// </summary>
    void SgdUpdate(BufferView parameter, BufferView gradient, BufferView? momentumBuffer, in FusedSgdParams p);
}

/// <summary>The gradient terms shared by the fused updates (see <see cref="IFusedOptimizerKernels"/>).</summary>
/// <param name="GradSign">1, or −1 when maximizing.</param>
/// <param name="L1">λ1 of the L1 penalty (adds λ1·sign(w)).</param>
/// <param name="L2Factor">2·λ2 of the L2 penalty (adds 2·λ2·w).</param>
/// <param name="CoupledDecay">Coupled weight decay wd (adds wd·w).</param>
public readonly record struct FusedGradientTerms(double GradSign, double L1, double L2Factor, double CoupledDecay);

/// <summary>Scalars of one fused Adam/AdamW step.</summary>
/// <param name="Terms">Effective-gradient terms.</param>
/// <param name="Beta1">First-moment decay β1.</param>
/// <param name="Beta2">Second-moment decay β2.</param>
/// <param name="Eps">Denominator stability term.</param>
/// <param name="Bias2Sqrt">√(1 − β2ᵗ).</param>
/// <param name="StepScale">−lr / (1 − β1ᵗ).</param>
/// <param name="DecoupledScale">1 − lr·wd for AdamW's decoupled decay; 1 when there is none.</param>
public readonly record struct FusedAdamParams(FusedGradientTerms Terms, double Beta1, double Beta2, double Eps,
    double Bias2Sqrt, double StepScale, double DecoupledScale);

/// <summary>Scalars of one fused SGD step.</summary>
/// <param name="Terms">Effective-gradient terms.</param>
/// <param name="Lr">Learning rate.</param>
/// <param name="Momentum">Momentum factor (used only with a buffer).</param>
/// <param name="Dampening">Dampening of the gradient term of the momentum.</param>
/// <param name="Nesterov">Nesterov momentum.</param>
/// <param name="InitializeBuffer">True on the first step: the buffer is set to the effective gradient.</param>
public readonly record struct FusedSgdParams(FusedGradientTerms Terms, double Lr, double Momentum, double Dampening,
    bool Nesterov, bool InitializeBuffer);
