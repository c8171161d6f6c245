using NeuralCore.Nn;

namespace NeuralCore.Explain;

/// <summary>
/// Gradient × input (Shrikumar et al. 2016): x ⊙ d f_target(x) / d x. For a linear model f(x) = w·x + c it is w ⊙ x,
/// the contribution of each feature measured from a zero baseline.
/// </summary>
public static class GradientTimesInput
{
    /// <summary>Computes x ⊙ ∇f_target(x) for every row of <paramref name="inputs"/>.</summary>
    /// <param name="model">Any module mapping a batch [N, ...] to outputs [N] or [N, classes].</param>
    /// <param name="inputs">A floating-point batch [N, ...] on the model's device.</param>
    /// <param name="target">The output column (class index) to explain.</param>
    /// <param name="maxBatchElements">Most input elements per internal forward/backward batch.</param>
    /// <returns>Attributions shaped like <paramref name="inputs"/>.</returns>
    /// <exception cref="ArgumentException">The inputs are not a floating-point batch.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The target is not an output column, or the bound is not positive.</exception>
    public static Tensor Attribute(Module model, Tensor inputs, int target = 0, long maxBatchElements = ExplainDefaults.MaxBatchElements)
    {
        ModelRunner.CheckBatch(nameof(GradientTimesInput), inputs, maxBatchElements);
        using var _ = ModelRunner.Prepare(model);
        var g = ModelRunner.Gradient(nameof(GradientTimesInput), model, inputs, target, maxBatchElements);
        using (Tensor.NoGrad()) return g * inputs;
    }
}
