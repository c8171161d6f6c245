using System.Globalization;
using NeuralCore.Data;
using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Privacy.Accounting;
using NeuralCore.Privacy.PerSample;
using NeuralCore.Training;

namespace NeuralCore.Privacy;

/// <summary>How the per-sample clipping norm is applied.</summary>
public enum ClippingMode
{
    /// <summary>Each sample's gradient over all parameters together is scaled to an L2 norm of at most C.</summary>
    Flat,

    /// <summary>Each parameter's per-sample gradient is clipped to C/√P on its own (P parameters), so the whole
    /// gradient's norm is still at most C.</summary>
    PerLayer,
}

/// <summary>How the clipped sum of per-sample gradients is formed.</summary>
public enum GradSampleMode
{
    /// <summary><see cref="Ghost"/> for flat clipping of a model without parameters shared between layers, else
    /// <see cref="Materialized"/>.</summary>
    Auto,

    /// <summary>Ghost clipping (<see cref="PerSampleGradients.ClipAndSum"/>): per-sample norms from each layer's captured
    /// input and output gradient, then one weighted reduction per parameter, without forming per-sample gradients
    /// where a layer has a cheaper form. Flat clipping only.</summary>
    Ghost,

    /// <summary>Every parameter's per-sample gradient [batch, ...] is formed (<see cref="PerSampleGradients.Compute"/>),
    /// then clipped and summed.</summary>
    Materialized,
}

/// <summary>
/// Differentially private SGD (Abadi et al. 2016) on top of an unchanged model, optimizer and <c>Fit</c>, as Opacus'
/// <c>PrivacyEngine</c>: per-sample gradients (<see cref="PerSampleGradients"/>) are clipped to norm C (by default with
/// ghost clipping, <see cref="GradSampleMode.Ghost"/>), summed,
/// Gaussian noise N(0, σ²C²) is added, and the sum is divided by the expected batch size; batches are drawn by
/// Poisson sampling; a Rényi-DP accountant records every step.
/// </summary>
/// <example>
/// <code>
/// var loader = new DataLoader(train, batchSize: 1024);
/// var engine = new PrivacyEngine();
/// var (privateLoader, dp) = engine.MakePrivate(model, optimizer, loader, noiseMultiplier: 1.1, maxGradNorm: 1.0);
/// model.Fit(privateLoader, epochs: 10, callbacks: [dp.EpsilonCallback(1e-5)]);
/// Console.WriteLine(dp.GetEpsilon(1e-5));
/// </code>
/// </example>
public sealed class PrivacyEngine
{
    /// <summary>
    /// Makes training of <paramref name="model"/> with <paramref name="optimizer"/> differentially private: returns a
    /// loader with Poisson sampling at rate batchSize/N (from <paramref name="loader"/>) and the attached
    /// <see cref="PrivateTraining"/>, whose optimizer step hook clips and noises the gradients.
    /// </summary>
    /// <param name="model">The model (BatchNorm is refused).</param>
    /// <param name="optimizer">The optimizer <c>Fit</c> steps (the one given to <c>Compile</c>); bound to the model's parameters if unbound.</param>
    /// <param name="loader">Gives the dataset and the expected batch size.</param>
    /// <param name="noiseMultiplier">σ ≥ 0: noise std relative to the clipping norm.</param>
    /// <param name="maxGradNorm">C &gt; 0: the per-sample clipping norm (∞ disables clipping; then no privacy is claimed).</param>
    /// <param name="clipping">Flat or per-layer clipping.</param>
    /// <param name="generator">Source of the sampling and the noise (seed it for reproducible runs; a fresh cryptographically seeded one when null).</param>
    /// <param name="gradSampleMode">Ghost clipping or materialized per-sample gradients (<see cref="GradSampleMode.Auto"/>: ghost where it applies).</param>
    /// <exception cref="NotSupportedException">The model contains batch normalization, or ghost clipping was asked for a model whose layers share a parameter.</exception>
    /// <exception cref="ArgumentOutOfRangeException">σ or C out of range.</exception>
    /// <exception cref="ArgumentException">Ghost clipping was asked with per-layer clipping.</exception>
    public (DataLoader Loader, PrivateTraining Training) MakePrivate(Sequential model, Optimizer optimizer, DataLoader loader,
        double noiseMultiplier, double maxGradNorm, ClippingMode clipping = ClippingMode.Flat, Generator? generator = null,
        GradSampleMode gradSampleMode = GradSampleMode.Auto)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(loader);
        if (loader.Dataset.Count == 0) throw new ArgumentException("MakePrivate: the loader's dataset is empty.", nameof(loader));
        double q = Math.Min(1.0, (double)loader.BatchSize / loader.Dataset.Count);
        generator ??= new Generator(BitConverter.ToInt64(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)));
        var training = new PrivateTraining(model, optimizer, noiseMultiplier, maxGradNorm, q, loader.Dataset.Count, clipping, gradSampleMode, generator);
        var privateLoader = new DataLoader(loader.Dataset, new PoissonBatchSampler(q), generator, loader.Prefetch, loader.Workers);
        return (privateLoader, training);
    }

    /// <summary>
    /// As <see cref="MakePrivate"/>, with the noise multiplier chosen by <see cref="RdpAccountant.Calibrate"/> so that
    /// <paramref name="epochs"/> epochs spend at most (<paramref name="targetEpsilon"/>, <paramref name="targetDelta"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A target is out of range.</exception>
    public (DataLoader Loader, PrivateTraining Training) MakePrivateWithEpsilon(Sequential model, Optimizer optimizer, DataLoader loader,
        double targetEpsilon, double targetDelta, int epochs, double maxGradNorm, ClippingMode clipping = ClippingMode.Flat, Generator? generator = null,
        GradSampleMode gradSampleMode = GradSampleMode.Auto)
    {
        ArgumentNullException.ThrowIfNull(loader);
        ArgumentOutOfRangeException.ThrowIfLessThan(epochs, 1);
        if (loader.Dataset.Count == 0) throw new ArgumentException("MakePrivateWithEpsilon: the loader's dataset is empty.", nameof(loader));
        double q = Math.Min(1.0, (double)loader.BatchSize / loader.Dataset.Count);
        long steps = (long)epochs * new PoissonBatchSampler(q).BatchesPerEpoch(loader.Dataset.Count);
        double sigma = RdpAccountant.Calibrate(targetEpsilon, targetDelta, q, steps);
        return MakePrivate(model, optimizer, loader, sigma, maxGradNorm, clipping, generator, gradSampleMode);
    }
}

/// <summary>
/// DP-SGD attached to a model and its optimizer (made by <see cref="PrivacyEngine.MakePrivate"/>): at every optimizer
/// step it replaces the parameters' gradients by (Σᵢ clip(gᵢ) + N(0, σ²C²)) / (q·N) and records the step in
/// <see cref="Accountant"/>. The loss must be a mean over the batch (every <c>Fit</c> loss is). Dispose to detach.
/// </summary>
public sealed class PrivateTraining : IDisposable
{
    readonly Optimizer optimizer;
    readonly Generator generator;
    readonly IDisposable stepHook;

    internal PrivateTraining(Sequential model, Optimizer optimizer, double noiseMultiplier, double maxGradNorm, double sampleRate,
        int datasetSize, ClippingMode clipping, GradSampleMode gradSampleMode, Generator generator)
    {
        if (gradSampleMode == GradSampleMode.Ghost && clipping != ClippingMode.Flat)
            throw new ArgumentException("MakePrivate: ghost clipping computes one norm per sample over all parameters, so it needs flat clipping; per-layer clipping uses GradSampleMode.Materialized.", nameof(gradSampleMode));
        if (!(noiseMultiplier >= 0) || double.IsPositiveInfinity(noiseMultiplier))
            throw new ArgumentOutOfRangeException(nameof(noiseMultiplier), noiseMultiplier, "MakePrivate: the noise multiplier must be a finite number >= 0.");
        if (!(maxGradNorm > 0))
            throw new ArgumentOutOfRangeException(nameof(maxGradNorm), maxGradNorm, "MakePrivate: the clipping norm must be positive.");
        if (double.IsPositiveInfinity(maxGradNorm) && noiseMultiplier > 0)
            throw new ArgumentOutOfRangeException(nameof(maxGradNorm), maxGradNorm, "MakePrivate: noise needs a finite clipping norm (the noise std is sigma * C).");
        this.optimizer = optimizer;
        this.generator = generator;
        NoiseMultiplier = noiseMultiplier;
        MaxGradNorm = maxGradNorm;
        SampleRate = sampleRate;
        ExpectedBatchSize = sampleRate * datasetSize;
        Clipping = clipping;
        PerSample = new PerSampleGradients(model);
        if (gradSampleMode == GradSampleMode.Ghost && PerSample.SharedParameterLayers is { } shared)
        {
            PerSample.Dispose();
            throw new NotSupportedException($"MakePrivate: layers {shared} share a parameter, which ghost clipping does not handle; use GradSampleMode.Materialized.");
        }
        GradSampleMode = gradSampleMode != GradSampleMode.Auto ? gradSampleMode
            : clipping == ClippingMode.Flat && PerSample.SharedParameterLayers is null ? GradSampleMode.Ghost : GradSampleMode.Materialized;
        if (!optimizer.IsBound) optimizer.Bind(model.Parameters());
        stepHook = optimizer.RegisterStepPreHook(_ => Privatize());
    }

    /// <summary>σ, the noise multiplier.</summary>
    public double NoiseMultiplier { get; }

    /// <summary>C, the per-sample clipping norm.</summary>
    public double MaxGradNorm { get; }

    /// <summary>q, the Poisson sampling rate.</summary>
    public double SampleRate { get; }

    /// <summary>q·N, the divisor of the noisy gradient sum.</summary>
    public double ExpectedBatchSize { get; }

    /// <summary>Flat or per-layer clipping.</summary>
    public ClippingMode Clipping { get; }

    /// <summary>Ghost or materialized: how the clipped sum is formed (never <see cref="GradSampleMode.Auto"/>).</summary>
    public GradSampleMode GradSampleMode { get; }

    /// <summary>The per-sample gradient machinery (its <see cref="PerSampleGradients.FallbackLayers"/> names the layers using the slow path).</summary>
    public PerSampleGradients PerSample { get; }

    /// <summary>The accountant recording every private step.</summary>
    public RdpAccountant Accountant { get; } = new();

    /// <summary>The per-sample gradient norms (before clipping) of the last step, for diagnostics.</summary>
    public float[] LastPerSampleNorms { get; private set; } = [];

    /// <summary>The ε spent so far at <paramref name="delta"/>.</summary>
    public double GetEpsilon(double delta) => Accountant.GetEpsilon(delta);

    /// <summary>A <c>Fit</c> callback that adds <c>"epsilon"</c> (spent so far at <paramref name="delta"/>) to every epoch's logs: History and the progress line show it.</summary>
    public Callback EpsilonCallback(double delta) => new EpsilonLog(this, delta);

    sealed class EpsilonLog(PrivateTraining owner, double delta) : Callback
    {
        public override void OnEpochLogs(int epoch, IDictionary<string, double> logs) => logs["epsilon"] = owner.GetEpsilon(delta);
    }

    void Privatize()
    {
        var ps = optimizer.ParamGroups.SelectMany(g => g.Parameters).ToArray();
        Tensor[]? clipped = null;
        // Fit's losses are batch means: each sample's own gradient is the captured one times the batch size.
        if (PerSample.HasCapture && GradSampleMode == GradSampleMode.Ghost)
        {
            var (sums, norms) = PerSample.ClipAndSum(MaxGradNorm, lossScale: PerSample.CapturedBatch);
            LastPerSampleNorms = norms.To(DType.Float32).ToArray<float>();
            clipped = ps.Select(p => sums.TryGetValue(p, out var s) ? s : throw NotHooked(p)).ToArray();
        }
        else if (PerSample.HasCapture)
        {
            var perSample = PerSample.Compute(lossScale: PerSample.CapturedBatch);
            using var noGradClip = Tensor.NoGrad();
            clipped = ClippedSums(ps, perSample);
        }
        using var noGrad = Tensor.NoGrad();
        double std = NoiseMultiplier * (double.IsPositiveInfinity(MaxGradNorm) ? 0 : MaxGradNorm);
        for (int i = 0; i < ps.Length; i++)
        {
            var p = ps[i];
            var sum = clipped?[i] ?? Tensor.ZerosLike(p);
            if (std > 0) sum = sum.Add(Tensor.Randn(p.Shape.ToArray(), p.DType, generator, p.Device).Mul(std));
            p.Grad = sum.Div(ExpectedBatchSize).DetachFromScope();
        }
        PerSample.Clear();
        Accountant.Step(NoiseMultiplier, SampleRate);
    }

    Tensor[] ClippedSums(Tensor[] ps, IReadOnlyDictionary<Tensor, Tensor> perSample)
    {
        var grads = ps.Select(p => perSample.TryGetValue(p, out var g) ? g : throw NotHooked(p)).ToArray();
        Tensor Sq(Tensor g) => GhostTerms.SquaredNormsOf(g);
        Tensor Factor(Tensor norms, double c) => PerSampleGradients.ClipFactors(norms, c);
        Tensor Apply(Tensor g, Tensor factor) => GhostTerms.WeightedSum(g, factor);
        var result = new Tensor[ps.Length];
        if (Clipping == ClippingMode.Flat)
        {
            var total = grads.Select(Sq).Aggregate((a, c) => a.Add(c)).Sqrt();
            LastPerSampleNorms = total.To(DType.Float32).ToArray<float>();
            var factor = Factor(total, MaxGradNorm);
            for (int i = 0; i < ps.Length; i++) result[i] = Apply(grads[i], factor);
        }
        else
        {
            double each = MaxGradNorm / Math.Sqrt(ps.Length);
            Tensor? total = null;
            for (int i = 0; i < ps.Length; i++)
            {
                var sq = Sq(grads[i]);
                total = total is null ? sq : total.Add(sq);
                result[i] = Apply(grads[i], Factor(sq.Sqrt(), each));
            }
            LastPerSampleNorms = total!.Sqrt().To(DType.Float32).ToArray<float>();
        }
        return result;
    }

    static InvalidOperationException NotHooked(Tensor p) =>
        new($"DP-SGD: a parameter of shape {p.Shape} of the optimizer is not in the model's hooked layers; per-sample gradients cannot be formed for it.");

    /// <summary>Removes the optimizer hook and the layer hooks.</summary>
    public void Dispose()
    {
        stepHook.Dispose();
        PerSample.Dispose();
    }

    /// <summary>A summary such as <c>DP-SGD(sigma 1.1, C 1, q 0.0171, steps 120)</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"DP-SGD(sigma {NoiseMultiplier:G4}, C {MaxGradNorm:G4}, q {SampleRate:G4}, steps {Accountant.TotalSteps})");
}
