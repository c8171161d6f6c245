using NeuralCore.Nn;

namespace NeuralCore.Explain;

/// <summary>
/// Saliency maps (Simonyan et al. 2014): the gradient of the target output with respect to the input,
/// d f_target(x) / d x, optionally as absolute values. For a linear model f(x) = w·x + c it is w.
/// </summary>
public static class Saliency
{
    /// <summary>Computes the input gradient of the target output for every row of <paramref name="inputs"/>.</summary>
    /// <param name="model">Any module mapping a batch [N, ...] to outputs [N] or [N, classes]. It runs in evaluation
    /// mode with parameter gradients off; both are restored afterwards.</param>
    /// <param name="inputs">A floating-point batch [N, ...] on the model's device.</param>
    /// <param name="target">The output column (class index) to explain; 0 for single-output models.</param>
    /// <param name="abs">Return absolute values (the classic saliency map); false keeps the sign.</param>
    /// <param name="maxBatchElements">Most input elements per internal forward/backward batch.</param>
    /// <returns>Attributions shaped like <paramref name="inputs"/>, on the same device.</returns>
    /// <exception cref="ArgumentException">The inputs are not a floating-point batch.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The target is not an output column, or the bound is not positive.</exception>
    public static Tensor Attribute(Module model, Tensor inputs, int target = 0, bool abs = true,
        long maxBatchElements = ExplainDefaults.MaxBatchElements)
    {
        ModelRunner.CheckBatch(nameof(Saliency), inputs, maxBatchElements);
        using var _ = ModelRunner.Prepare(model);
        var g = ModelRunner.Gradient(nameof(Saliency), model, inputs, target, maxBatchElements);
        if (!abs) return g;
        using (Tensor.NoGrad()) return g.Abs();
    }
}
