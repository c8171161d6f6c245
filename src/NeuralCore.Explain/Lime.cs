using NeuralCore.Nn;

namespace NeuralCore.Explain;

/// <summary>
/// LIME-style local surrogates (Ribeiro et al. 2016): perturb the input around x, weight each perturbation with
/// the exponential kernel exp(−d² / width²) on its distance d from x, and fit a weighted ridge regression to the
/// model's target output. The coefficients are the explanation; <see cref="LimeResult.R2"/> says how well the
/// linear surrogate fits locally.
/// </summary>
public static class Lime
{
    /// <summary>
    /// The interpretable (binary) form, as LIME does for images and text: each perturbation switches feature groups
    /// on (x) or off (the baseline), each with probability ½; the regression is on the on/off indicators and
    /// d² is the fraction of groups switched off. For a linear model the coefficient of a group is Σ w ⊙ (x − b) over it.
    /// </summary>
    /// <param name="model">Any module mapping a batch [N, ...] to outputs [N] or [N, classes].</param>
    /// <param name="input">One row [1, ...] on the model's device.</param>
    /// <param name="target">The output column (class index) to explain.</param>
    /// <param name="featureGroups">Group id of every element (see <see cref="FeatureGroups"/>); null means one group per element.</param>
    /// <param name="baseline">What switched-off features become: [1, ...]; null means zeros.</param>
    /// <param name="samples">Perturbations (the first is x itself).</param>
    /// <param name="kernelWidth">Width of the exponential kernel on the distance (distances lie in [0, 1]).</param>
    /// <param name="ridge">The ridge penalty λ on the coefficients (the intercept is not penalised).</param>
    /// <param name="generator">Draws the perturbations; null uses <see cref="Rng.Default"/>.</param>
    /// <param name="maxBatchElements">Most input elements per internal batch.</param>
    /// <returns>One coefficient per group, the intercept and the weighted R².</returns>
    /// <exception cref="ArgumentException">The input is not one floating-point row, or the groups or baseline do not fit.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Samples, kernel width or ridge are out of range.</exception>
    public static LimeResult Explain(Module model, Tensor input, int target = 0, int[]? featureGroups = null, Tensor? baseline = null,
        int samples = 1000, double kernelWidth = 0.25, double ridge = 1e-3, Generator? generator = null,
        long maxBatchElements = ExplainDefaults.MaxBatchElements)
    {
        const string op = nameof(Lime);
        CheckArguments(op, input, samples, kernelWidth, ridge, maxBatchElements);
        generator ??= Rng.Default;
        var features = ModelRunner.RowElements(input);
        featureGroups ??= FeatureGroups.PerElement(checked((int)features));
        using var _ = ModelRunner.Prepare(model);
        var game = new Coalitions(op, model, input.Detach(), Baselines.Resolve(op, input, baseline), featureGroups, target, maxBatchElements);
        int m = game.Groups;
        var coalitions = new List<bool[]>(samples) { Enumerable.Repeat(true, m).ToArray() };
        while (coalitions.Count < samples)
            coalitions.Add(Enumerable.Range(0, m).Select(_ => generator.NextDouble() < 0.5).ToArray());
        var y = game.Values(coalitions);
        var x = coalitions.Select(z => Array.ConvertAll(z, on => on ? 1.0 : 0.0)).ToArray();
        var w = coalitions.Select(z => Kernel(z.Count(on => !on) / (double)m, kernelWidth)).ToArray();
        var (coef, intercept, r2) = LeastSquares.WeightedRidge(x, y, w, ridge, op);
        return new LimeResult(coef, intercept, r2);
    }

    /// <summary>
    /// The continuous form, as LIME does for tabular data: perturbations x + σ ⊙ ε with ε ~ N(0, I); the regression
    /// is on the perturbed feature values and d² = mean((x' − x)² / σ²). Coefficients are in output units per unit of
    /// each feature, so for a linear model f(x) = w·x + c they are w.
    /// </summary>
    /// <param name="model">Any module mapping a batch [N, ...] to outputs [N] or [N, classes].</param>
    /// <param name="input">One row [1, ...] on the model's device.</param>
    /// <param name="scale">σ, the perturbation scale per element ([1, ...] or [...], e.g. the training data's standard deviation).</param>
    /// <param name="target">The output column (class index) to explain.</param>
    /// <param name="samples">Perturbations.</param>
    /// <param name="kernelWidth">Width of the exponential kernel on the standardized distance.</param>
    /// <param name="ridge">The ridge penalty λ on the coefficients of the standardized features.</param>
    /// <param name="generator">Draws the perturbations; null uses <see cref="Rng.Default"/>.</param>
    /// <param name="maxBatchElements">Most input elements per internal batch.</param>
    /// <returns>One coefficient per element, the intercept and the weighted R².</returns>
    /// <exception cref="ArgumentException">The input is not one floating-point row, or the scale does not fit or is not positive.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Samples, kernel width or ridge are out of range.</exception>
    public static LimeResult ExplainContinuous(Module model, Tensor input, Tensor scale, int target = 0, int samples = 1000,
        double kernelWidth = 0.75, double ridge = 1e-3, Generator? generator = null, long maxBatchElements = ExplainDefaults.MaxBatchElements)
    {
        const string op = nameof(Lime);
        CheckArguments(op, input, samples, kernelWidth, ridge, maxBatchElements);
        ArgumentNullException.ThrowIfNull(scale);
        long features = ModelRunner.RowElements(input);
        if (scale.NumElements != features)
            throw new ArgumentException($"{op}: scale {scale.Shape} needs one entry per element of the row {input.Shape}.");
        var sigma = ModelRunner.ToDoubles(scale);
        if (sigma.Any(s => !(s > 0) || double.IsInfinity(s)))
            throw new ArgumentException($"{op}: every scale entry must be positive and finite.");
        using var _ = ModelRunner.Prepare(model);
        Tensor noise, outputs;
        using (Tensor.NoGrad())
        {
            noise = Tensor.Randn([samples, features], DType.Float64, generator, Device.Cpu);
            var sigmaT = scale.Detach().Reshape(1, features).To(input.DType);
            var perturbed = (input.Reshape(1, features) + noise.To(input.Device).To(input.DType) * sigmaT).Reshape(ModelRunner.WithRows(input, samples));
            outputs = ModelRunner.Forward(op, model, perturbed, target, maxBatchElements);
        }
        var eps = noise.ToArray<double>();
        var y = ModelRunner.ToDoubles(outputs);
        var x = new double[samples][];
        var w = new double[samples];
        for (int k = 0; k < samples; k++)
        {
            x[k] = new double[features];
            double d2 = 0;
            for (int j = 0; j < features; j++) { x[k][j] = eps[k * features + j]; d2 += x[k][j] * x[k][j]; }
            w[k] = Kernel(d2 / features, kernelWidth);
        }
        // Fit on the standardized offsets ε, then convert to per-unit coefficients β_j / σ_j (the row's own
        // values enter only the intercept: c = fit(0) − Σ β_j x_j / σ_j).
        var (beta, intercept, r2) = LeastSquares.WeightedRidge(x, y, w, ridge, op);
        var rowValues = ModelRunner.ToDoubles(input);
        var coef = new double[features];
        for (int j = 0; j < features; j++)
        {
            coef[j] = beta[j] / sigma[j];
            intercept -= coef[j] * rowValues[j];
        }
        return new LimeResult(coef, intercept, r2);
    }

    static double Kernel(double squaredDistance, double width) => Math.Exp(-squaredDistance / (width * width));

    static void CheckArguments(string op, Tensor input, int samples, double kernelWidth, double ridge, long maxBatchElements)
    {
        ModelRunner.CheckBatch(op, input, maxBatchElements);
        if (input.Shape[0] != 1) throw new ArgumentException($"{op}: explains one row [1, ...], got {input.Shape}.");
        if (samples < 2) throw new ArgumentOutOfRangeException(nameof(samples), samples, $"{op}: at least 2 samples are needed.");
        if (!(kernelWidth > 0) || double.IsInfinity(kernelWidth))
            throw new ArgumentOutOfRangeException(nameof(kernelWidth), kernelWidth, $"{op}: the kernel width must be positive and finite.");
        if (!(ridge >= 0) || double.IsInfinity(ridge))
            throw new ArgumentOutOfRangeException(nameof(ridge), ridge, $"{op}: the ridge penalty must be non-negative and finite.");
    }
}
