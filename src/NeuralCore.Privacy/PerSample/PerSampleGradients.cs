using NeuralCore.Nn;

namespace NeuralCore.Privacy.PerSample;

/// <summary>
/// Computes the gradient of each sample's loss separately (per-sample gradients) from one ordinary forward and
/// backward pass, as Opacus' <c>GradSampleModule</c>: a forward hook on each layer keeps the layer's input and
/// routes its output through an identity whose backward keeps the gradient of the output; the per-sample gradient
/// of each parameter then follows from the layer's own formula:
/// <list type="bullet">
/// <item><see cref="Linear"/>: gᵢᵀ·xᵢ, summed over positions for sequence inputs (a batched matrix product);</item>
/// <item><see cref="Conv2d"/> and <see cref="Conv1d"/> (any stride, padding, dilation and groups): gᵢ·Uᵢᵀ per channel
/// group, with Uᵢ the unfolded input (every kernel window), as one batched matrix product;</item>
/// <item><see cref="Embedding"/>: one-hot(indices)ᵀ·g per sample;</item>
/// <item><see cref="LayerNorm"/> and <see cref="GroupNorm"/>: g·x̂ and g summed over each sample's positions;</item>
/// <item><see cref="RNN"/>, <see cref="LSTM"/> and <see cref="GRU"/> with <c>batchFirst</c>: each affine map of the layer
/// (input projections over the sequence, hidden projections at every step) is observed in the forward pass with its
/// input, and in the backward pass its output gradient; a weight's per-sample gradient is Σₜ gₜᵀaₜ over its
/// applications.</item>
/// </list>
/// Any other layer with parameters uses the fallback: the layer alone is run again on each sample (a micro-batch of
/// one) and back-propagated with that sample's output gradient; <see cref="FallbackLayers"/> names those layers.
/// Batch normalization mixes samples and is refused. <see cref="ClipAndSum"/> gives the flat-clipped sum of the
/// per-sample gradients without forming most of them (ghost clipping).
/// </summary>
/// <remarks>
/// Layers are reached through <see cref="Sequential"/> containers (nested ones included), whose <see cref="Module.Call"/>
/// runs the hooks. The per-sample gradients are of the loss the backward pass started from: with a loss that is a mean
/// over the batch, pass <c>lossScale</c> = batch size to <see cref="Compute"/> to get each sample's own gradient.
/// A fallback layer must behave the same on one sample as inside the batch (no dropout inside it).
/// </remarks>
public sealed class PerSampleGradients : IDisposable
{
    readonly List<IDisposable> handles = [];
    readonly Dictionary<Module, (string Name, LayerRule Rule)> layers = new(ReferenceEqualityComparer.Instance);
    readonly List<Capture> captures = [];
    readonly List<string> fallback = [];

    sealed class Capture(Module module, Tensor input, object? state)
    {
        public Module Module { get; } = module;
        public Tensor Input { get; } = input;
        public object? State { get; } = state;
        public Tensor? GradOutput { get; set; }
    }

    /// <summary>Hooks every layer of <paramref name="model"/> that has parameters.</summary>
    /// <exception cref="NotSupportedException">The model contains batch normalization (use LayerNorm or per-sample normalization instead).</exception>
    public PerSampleGradients(Sequential model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        Walk(model, "");
        foreach (var (module, (_, rule)) in layers)
        {
            handles.Add(module.RegisterForwardHook(Hook));
            rule.Attach(module);
        }
        var owner = new Dictionary<Tensor, string>(ReferenceEqualityComparer.Instance);
        foreach (var (module, (name, _)) in layers)
            foreach (var p in module.Parameters())
                if (owner.TryGetValue(p, out var first) && first != name) SharedParameterLayers ??= $"\"{first}\" and \"{name}\"";
                else owner[p] = name;
    }

    /// <summary>The model hooked.</summary>
    public Sequential Model { get; }

    /// <summary>Dotted names of the layers whose per-sample gradients come from the per-sample fallback loop.</summary>
    public IReadOnlyList<string> FallbackLayers => fallback;

    /// <summary>Rows of the captured batch (0 when nothing was captured).</summary>
    public long CapturedBatch => captures.Count == 0 ? 0 : captures[0].Input.Shape[0];

    /// <summary>Whether a forward pass was captured since the last <see cref="Clear"/>.</summary>
    public bool HasCapture => captures.Count > 0;

    /// <summary>Refuses <paramref name="model"/> when it contains a layer that mixes samples (batch normalization).</summary>
    /// <exception cref="NotSupportedException">Names the layer.</exception>
    public static void CheckSupported(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var (name, m) in model.NamedModules())
            if (m is BatchNormBase)
                throw new NotSupportedException(
                    $"Differential privacy: layer \"{(name.Length == 0 ? m.GetType().Name : name)}\" ({m.GetType().Name}) normalizes with batch statistics, " +
                    "which mixes the samples of a batch, so per-sample gradients and the privacy guarantee do not exist. " +
                    "Replace it with GroupNorm (for example GroupNorm(groups, channels) in place of BatchNorm2d(channels)) or LayerNorm, which normalize each sample on its own.");
    }

    void Walk(Module module, string name)
    {
        CheckSupported(module);
        if (module is Sequential)
        {
            foreach (var (childName, child) in module.NamedChildren())
                Walk(child, name.Length == 0 ? childName : name + "." + childName);
            return;
        }
        if (!module.Parameters().Any()) return;
        var rule = LayerRule.For(module);
        if (rule is null)
        {
            rule = LayerRule.Fallback;
            fallback.Add($"{name} ({module.GetType().Name})");
        }
        layers[module] = (name, rule);
    }

    Tensor Hook(Module module, Tensor input, Tensor output)
    {
        var state = layers[module].Rule.TakeState(module);
        if (!Tensor.IsGradEnabled || !module.IsTraining || !output.RequiresGrad) return output;
        var capture = new Capture(module, input.Detach(), state);
        captures.Add(capture);
        return Observe(output, g => capture.GradOutput = capture.GradOutput is null ? g : capture.GradOutput.Add(g));
    }

    /// <summary>An identity on <paramref name="output"/> whose backward hands the incoming gradient to <paramref name="onGradient"/>.</summary>
    internal static Tensor Observe(Tensor output, Action<Tensor> onGradient)
    {
        Tensor detached;
        using (Tensor.NoGrad()) detached = output.Detach();
        return Tensor.RecordFunction("PerSampleCapture", detached, [output], g =>
        {
            onGradient(g);
            return [g];
        });
    }

    /// <summary>
    /// The per-sample gradients of the captured forward and backward pass: for each parameter, a tensor
    /// [batch, ...parameter shape] (zero for a layer that was not run). Call after the backward pass.
    /// </summary>
    /// <param name="lossScale">Multiplies every gradient: the batch size when the loss was a batch mean.</param>
    /// <exception cref="InvalidOperationException">Nothing was captured, or a captured layer's backward did not run.</exception>
    public IReadOnlyDictionary<Tensor, Tensor> Compute(double lossScale = 1)
    {
        long batch = CheckedBatch("Compute");
        var result = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var c in captures)
        {
            if (c.GradOutput is null) continue; // the layer's output did not reach the loss
            var (name, rule) = layers[c.Module];
            foreach (var (p, g) in rule.Compute(c.Module, c.Input, c.GradOutput, c.State))
            {
                var scaled = lossScale == 1 ? g : g.Mul(lossScale);
                result[p] = result.TryGetValue(p, out var prev) ? prev.Add(scaled) : scaled;
            }
        }
        using (Tensor.NoGrad())
            foreach (var (module, _) in layers)
                foreach (var p in module.Parameters())
                    if (!result.ContainsKey(p))
                        result[p] = Tensor.Zeros([batch, .. p.Shape.ToArray()], p.DType, p.Device);
        return result;
    }

    /// <summary>
    /// Ghost clipping: the flat-clipped sum Σᵢ min(1, C/‖Gᵢ‖)·Gᵢ of the captured pass's per-sample gradients Gᵢ
    /// (over all parameters together), mostly without forming them. Each layer's per-sample squared norms come from
    /// its captured input and output gradient (<see cref="Linear"/>: ‖aᵢ‖²‖gᵢ‖², or ⟨AᵢAᵢᵀ, GᵢGᵢᵀ⟩ for sequences
    /// when T² &lt; in·out; convolutions likewise through the unfolded input; <see cref="Embedding"/>: the Gram matrix
    /// of g over positions reading the same row; other layers from their small or fallback per-sample gradients),
    /// and the clipped sum is then one weighted reduction per parameter, Σᵢ cᵢ·gᵢᵀaᵢ, as cheap as the ordinary
    /// weight gradient. Call after the backward pass.
    /// </summary>
    /// <param name="maxGradNorm">C &gt; 0 (∞: no clipping, the plain sum).</param>
    /// <param name="lossScale">Multiplies every per-sample gradient: the batch size when the loss was a batch mean.</param>
    /// <returns>For each parameter the clipped sum (shaped as the parameter; zero for a layer that was not run), and the
    /// per-sample norms ‖Gᵢ‖ before clipping [batch].</returns>
    /// <exception cref="InvalidOperationException">Nothing was captured, or the batch dimension changed between layers.</exception>
    /// <exception cref="NotSupportedException">A parameter is shared by two hooked layers (its per-sample norm is not a sum of the layers' norms).</exception>
    /// <exception cref="ArgumentOutOfRangeException">C is not positive.</exception>
    public (IReadOnlyDictionary<Tensor, Tensor> Sums, Tensor Norms) ClipAndSum(double maxGradNorm, double lossScale = 1)
    {
        if (!(maxGradNorm > 0))
            throw new ArgumentOutOfRangeException(nameof(maxGradNorm), maxGradNorm, "PerSampleGradients.ClipAndSum: the clipping norm must be positive.");
        if (SharedParameterLayers is { } shared)
            throw new NotSupportedException($"PerSampleGradients.ClipAndSum: layers {shared} share a parameter, so its per-sample norm is not a sum over layers; use materialized per-sample gradients (Compute).");
        long batch = CheckedBatch("ClipAndSum");
        var terms = new List<GhostTerms>();
        // A layer called more than once in the pass (weight sharing) has the sum of its calls' gradients per sample:
        // its norm needs cross terms, so its per-sample gradients are formed.
        foreach (var group in captures.Where(c => c.GradOutput is not null).GroupBy(c => c.Module, ReferenceEqualityComparer.Instance))
        {
            var calls = group.ToArray();
            var rule = layers[calls[0].Module].Rule;
            if (calls.Length == 1)
            {
                terms.Add(rule.Ghost(calls[0].Module, calls[0].Input, calls[0].GradOutput!, calls[0].State).Scaled(lossScale));
                continue;
            }
            var summed = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);
            var order = new List<Tensor>();
            foreach (var c in calls)
                foreach (var (p, gradient) in rule.Compute(c.Module, c.Input, c.GradOutput!, c.State))
                {
                    var g = lossScale == 1 ? gradient : gradient.Mul(lossScale);
                    if (summed.TryGetValue(p, out var prev)) summed[p] = prev.Add(g);
                    else
                    {
                        summed[p] = g;
                        order.Add(p);
                    }
                }
            terms.Add(GhostTerms.FromPerSample(order.Select(p => (p, summed[p])).ToArray()));
        }
        using (Tensor.NoGrad())
        {
            var result = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);
            var norms = terms.Count == 0 ? Tensor.Zeros([batch], DType.Float32, null) : terms.Select(t => t.SquaredNorms).Aggregate((a, b) => a.Add(b)).Sqrt();
            var factors = ClipFactors(norms, maxGradNorm);
            foreach (var t in terms)
                foreach (var (p, sum) in t.WeightedSums(factors))
                    result[p] = sum;
            foreach (var (module, _) in layers)
                foreach (var p in module.Parameters())
                    if (!result.ContainsKey(p))
                        result[p] = Tensor.ZerosLike(p);
            return (result, norms);
        }
    }

    /// <summary>min(1, C/(‖Gᵢ‖ + 10⁻⁶)) per sample; all ones for C = ∞.</summary>
    internal static Tensor ClipFactors(Tensor norms, double maxGradNorm) =>
        double.IsPositiveInfinity(maxGradNorm) ? Tensor.OnesLike(norms) : norms.Add(1e-6).Reciprocal().Mul(maxGradNorm).Clamp(max: 1);

    /// <summary>"a and b" when two hooked layers share a parameter tensor (tied weights), else null.</summary>
    internal string? SharedParameterLayers { get; private set; }

    long CheckedBatch(string op)
    {
        if (captures.Count == 0)
            throw new InvalidOperationException($"PerSampleGradients.{op}: no forward pass in training mode with gradients was captured since the last Clear.");
        long batch = captures[0].Input.Shape[0];
        foreach (var c in captures)
            if (c.Input.Shape[0] != batch)
                throw new InvalidOperationException($"PerSampleGradients: layer {layers[c.Module].Name} saw a batch of {c.Input.Shape[0]} rows, another one {batch}; layers must keep the batch dimension first.");
        return batch;
    }

    /// <summary>Forgets the captured pass (call after each step).</summary>
    public void Clear()
    {
        captures.Clear();
        foreach (var (module, (_, rule)) in layers) rule.TakeState(module);
    }

    /// <summary>Removes the hooks.</summary>
    public void Dispose()
    {
        foreach (var h in handles) h.Dispose();
        handles.Clear();
        foreach (var (module, (_, rule)) in layers) rule.Detach(module);
        captures.Clear();
    }
}
