using NeuralCore.Nn;

namespace NeuralCore.Explain;

/// <summary>
/// Integrated gradients (Sundararajan et al. 2017): (x − b) ⊙ ∫₀¹ ∇f(b + α(x − b)) dα along the straight path
/// from a baseline b to the input x. By completeness the attributions sum to f(x) − f(b); the result reports how
/// far the numerical integral is from that (<see cref="IntegratedGradientsResult.RelativeDelta"/>).
/// </summary>
public static class IntegratedGradients
{
    /// <summary>Computes integrated-gradient attributions for every row of <paramref name="inputs"/>.</summary>
    /// <param name="model">Any module mapping a batch [N, ...] to outputs [N] or [N, classes].</param>
    /// <param name="inputs">A floating-point batch [N, ...] on the model's device.</param>
    /// <param name="target">The output column (class index) to explain.</param>
    /// <param name="baselines">The baseline b: shaped like <paramref name="inputs"/> or [1, ...] for one baseline
    /// shared by all rows; null means zeros.</param>
    /// <param name="steps">Intervals of the trapezoid rule or nodes of the Gauss–Legendre rule (at least 1).</param>
    /// <param name="rule">The quadrature rule.</param>
    /// <param name="maxBatchElements">Most input elements per internal batch: the N × (path points) interpolated
    /// inputs are processed in chunks of at most this many elements.</param>
    /// <returns>The attributions (shaped like the inputs) and the completeness check per row.</returns>
    /// <exception cref="ArgumentException">The inputs are not a floating-point batch, or the baselines' shape does not fit.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Steps or the bound are not positive, or the target is not an output column.</exception>
    public static IntegratedGradientsResult Attribute(Module model, Tensor inputs, int target = 0, Tensor? baselines = null,
        int steps = 50, IntegrationRule rule = IntegrationRule.GaussLegendre, long maxBatchElements = ExplainDefaults.MaxBatchElements)
    {
        const string op = nameof(IntegratedGradients);
        ModelRunner.CheckBatch(op, inputs, maxBatchElements);
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, $"{op}: steps must be at least 1.");
        var baseline = Baselines.Resolve(op, inputs, baselines);
        using var _ = ModelRunner.Prepare(model);
        var (nodes, weights) = Quadrature.For(rule, steps);
        long n = inputs.Shape[0], features = ModelRunner.RowElements(inputs);
        int points = nodes.Length;
        Tensor diff;
        using (Tensor.NoGrad()) diff = (inputs - baseline).Contiguous();
        var integral = Tensor.Zeros([n, features], inputs.DType, inputs.Device);
        long totalRows = n * points;
        int chunk = ModelRunner.RowsPerChunk(features, maxBatchElements);
        for (long r0 = 0; r0 < totalRows; r0 += chunk)
        {
            int len = (int)Math.Min(chunk, totalRows - r0);
            using var scope = Tensor.Scope();
            long firstSample = r0 / points, lastSample = (r0 + len - 1) / points;
            int spanned = (int)(lastSample - firstSample + 1);
            var sampleIndex = new long[len];
            var alpha = new float[len];
            var weighting = new float[spanned * len];
            for (int j = 0; j < len; j++)
            {
                long r = r0 + j;
                sampleIndex[j] = r / points;
                int k = (int)(r % points);
                alpha[j] = (float)nodes[k];
                weighting[(sampleIndex[j] - firstSample) * len + j] = (float)weights[k];
            }
            Tensor batch;
            using (Tensor.NoGrad())
            {
                var index = Tensor.FromArray(sampleIndex, len).To(inputs.Device);
                var a = Tensor.FromArray(alpha, len).To(inputs.Device).To(inputs.DType).Reshape(Baselines.RowShape(inputs, len));
                batch = baseline.IndexSelect(0, index) + a * diff.IndexSelect(0, index);
            }
            var g = ModelRunner.Gradient(op, model, batch, target, long.MaxValue);
            using (Tensor.NoGrad())
            {
                var w = Tensor.FromArray(weighting, spanned, len).To(inputs.Device).To(inputs.DType);
                integral.Narrow(0, firstSample, spanned).Add_(w.MatMul(g.Reshape(len, features)));
            }
        }
        using (Tensor.NoGrad())
        {
            var attributions = integral.Reshape(inputs.Shape.ToArray()) * diff;
            var fx = ModelRunner.ToDoubles(ModelRunner.Forward(op, model, inputs, target, maxBatchElements));
            var fb = ModelRunner.ToDoubles(ModelRunner.Forward(op, model, baseline, target, maxBatchElements));
            var sums = ModelRunner.ToDoubles(attributions.Reshape(n, features).Sum(1));
            return new IntegratedGradientsResult(attributions, fx, fb, sums);
        }
    }
}
