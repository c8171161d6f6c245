using NeuralCore.Nn;

namespace NeuralCore.Explain;

/// <summary>
/// SmoothGrad (Smilkov et al. 2017): the average of an attribution method over noisy copies x + ε of the input,
/// ε ~ N(0, σ²) with σ a fraction of each row's value range (max − min). Works on top of any attribution method
/// given as a function; <see cref="Saliency(Module, Tensor, int, int, double, bool, Generator?, long)"/> and
/// <see cref="IntegratedGradients(Module, Tensor, int, Tensor?, int, int, double, Generator?, long)"/> are the usual pairings.
/// </summary>
public static class SmoothGrad
{
    /// <summary>Averages <paramref name="attribute"/> over <paramref name="samples"/> noisy copies of the inputs.</summary>
    /// <param name="inputs">A floating-point batch [N, ...].</param>
    /// <param name="attribute">The attribution method: maps a batch to attributions of the same shape. It is called
    /// once per noise sample with one noisy copy of the whole batch, so its own memory bound applies per call.</param>
    /// <param name="samples">Number of noisy copies (at least 1).</param>
    /// <param name="noiseFraction">σ as a fraction of each row's range max − min (Smilkov et al. suggest 0.1–0.2).</param>
    /// <param name="squared">Average the squared attributions (SmoothGrad-SQ) instead of the attributions.</param>
    /// <param name="generator">The noise generator; null uses <see cref="Rng.Default"/>.</param>
    /// <returns>The averaged attributions, shaped like <paramref name="inputs"/>.</returns>
    /// <exception cref="ArgumentException">The inputs are not a floating-point batch, or the method returned another shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Samples or the noise fraction are out of range.</exception>
    public static Tensor Attribute(Tensor inputs, Func<Tensor, Tensor> attribute, int samples = 25, double noiseFraction = 0.15,
        bool squared = false, Generator? generator = null)
    {
        ModelRunner.CheckBatch(nameof(SmoothGrad), inputs, 1);
        ArgumentNullException.ThrowIfNull(attribute);
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, "SmoothGrad: samples must be at least 1.");
        if (!(noiseFraction >= 0) || double.IsInfinity(noiseFraction))
            throw new ArgumentOutOfRangeException(nameof(noiseFraction), noiseFraction, "SmoothGrad: the noise fraction must be finite and non-negative.");
        long n = inputs.Shape[0];
        Tensor sigma;
        using (Tensor.NoGrad())
        {
            var flat = inputs.Reshape(n, -1);
            sigma = ((flat.Max(1) - flat.Min(1)) * (float)noiseFraction).Reshape(Baselines.RowShape(inputs, n));
        }
        var sum = Tensor.ZerosLike(inputs);
        for (int s = 0; s < samples; s++)
        {
            using var scope = Tensor.Scope();
            Tensor noisy;
            using (Tensor.NoGrad())
                noisy = inputs + Tensor.Randn(inputs.Shape.ToArray(), inputs.DType, generator, inputs.Device) * sigma;
            var a = attribute(noisy);
            if (a.Shape != inputs.Shape)
                throw new ArgumentException($"SmoothGrad: the attribution method returned shape {a.Shape} for inputs of shape {inputs.Shape}.");
            using (Tensor.NoGrad()) sum.Add_(squared ? a.Square() : a);
        }
        using (Tensor.NoGrad()) return sum / (float)samples;
    }

    /// <summary>SmoothGrad over saliency maps (<see cref="Explain.Saliency"/>).</summary>
    /// <param name="model">The model.</param>
    /// <param name="inputs">A floating-point batch [N, ...].</param>
    /// <param name="target">The output column (class index) to explain.</param>
    /// <param name="samples">Number of noisy copies.</param>
    /// <param name="noiseFraction">σ as a fraction of each row's range.</param>
    /// <param name="abs">Absolute gradients (as the saliency map) or signed ones.</param>
    /// <param name="generator">The noise generator; null uses <see cref="Rng.Default"/>.</param>
    /// <param name="maxBatchElements">Most input elements per internal batch.</param>
    /// <returns>The averaged attributions.</returns>
    public static Tensor Saliency(Module model, Tensor inputs, int target = 0, int samples = 25, double noiseFraction = 0.15,
        bool abs = true, Generator? generator = null, long maxBatchElements = ExplainDefaults.MaxBatchElements) =>
        Attribute(inputs, x => Explain.Saliency.Attribute(model, x, target, abs, maxBatchElements), samples, noiseFraction, false, generator);

    /// <summary>SmoothGrad over integrated gradients (noise on the input, the baseline fixed).</summary>
    /// <param name="model">The model.</param>
    /// <param name="inputs">A floating-point batch [N, ...].</param>
    /// <param name="target">The output column (class index) to explain.</param>
    /// <param name="baselines">The integrated-gradients baseline (null: zeros).</param>
    /// <param name="steps">Gauss–Legendre nodes per integral.</param>
    /// <param name="samples">Number of noisy copies.</param>
    /// <param name="noiseFraction">σ as a fraction of each row's range.</param>
    /// <param name="generator">The noise generator; null uses <see cref="Rng.Default"/>.</param>
    /// <param name="maxBatchElements">Most input elements per internal batch.</param>
    /// <returns>The averaged attributions.</returns>
    public static Tensor IntegratedGradients(Module model, Tensor inputs, int target = 0, Tensor? baselines = null, int steps = 20,
        int samples = 10, double noiseFraction = 0.15, Generator? generator = null, long maxBatchElements = ExplainDefaults.MaxBatchElements) =>
        Attribute(inputs, x => Explain.IntegratedGradients.Attribute(model, x, target, baselines, steps, IntegrationRule.GaussLegendre, maxBatchElements).Attributions,
            samples, noiseFraction, false, generator);
}
