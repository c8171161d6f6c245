using NeuralCore.Nn;

namespace NeuralCore.Compression.Pruning;

/// <summary>
/// The weight-shrinking rule w ← w − λ·sign(w), where a weight that would cross zero becomes exactly zero: soft
/// thresholding, w ← sign(w)·max(|w| − λ, 0), the proximal step of an L1 penalty λ·|w|. Applied once it zeroes
/// every weight with |w| ≤ λ; applied after every optimizer step (<see cref="WeightShrinkageCallback"/>, or
/// <see cref="Apply(Module, double, Func{string, bool}?)"/> in a hand-written loop) it drives the weights that the
/// loss does not hold up to zero and keeps them there, which makes it a pruning method.
/// </summary>
public static class WeightShrinkage
{
    /// <summary>Shrinks the weights of <paramref name="model"/>'s Linear and Conv2d layers by <paramref name="lambda"/>.</summary>
    /// <param name="model">The model, changed in place.</param>
    /// <param name="lambda">The shrinkage λ ≥ 0 (for a proximal step of penalty α·|w| at learning rate η, λ = η·α).</param>
    /// <param name="include">Shrinks only the layers whose dotted name this accepts; null shrinks all.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lambda"/> is negative or not finite.</exception>
    /// <exception cref="ArgumentException">The model has no Linear or Conv2d layer.</exception>
    public static void Apply(Module model, double lambda, Func<string, bool>? include = null) =>
        Apply(PrunableLayer.Find(model, include, nameof(WeightShrinkage)).Select(l => l.Weight), lambda);

    /// <summary>Shrinks each of <paramref name="parameters"/> by <paramref name="lambda"/> in place.</summary>
    /// <param name="parameters">Floating-point tensors, changed in place (gradients are not recorded).</param>
    /// <param name="lambda">The shrinkage λ ≥ 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lambda"/> is negative or not finite.</exception>
    /// <exception cref="ArgumentException">A tensor is not floating point.</exception>
    public static void Apply(IEnumerable<Tensor> parameters, double lambda)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        CheckLambda(lambda);
        using (Tensor.NoGrad())
            foreach (var p in parameters)
            {
                ArgumentNullException.ThrowIfNull(p, nameof(parameters));
                if (!p.DType.IsFloatingPoint())
                    throw new ArgumentException($"WeightShrinkage: parameters must be floating point, got {p.DType} of shape {p.Shape}.", nameof(parameters));
                if (lambda == 0) continue;
                p.Copy_(p.Sign().Mul(p.Abs().Sub(lambda).Clamp(min: 0)));
            }
    }

    internal static void CheckLambda(double lambda)
    {
        if (!(lambda >= 0 && double.IsFinite(lambda)))
            throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "WeightShrinkage: lambda must be finite and non-negative.");
    }
}
