using NeuralCore.Nn;
using NeuralCore.Optim;

namespace NeuralCore.Compression.Pruning;

/// <summary>
/// Unstructured magnitude pruning of a model's <see cref="Linear"/> and <see cref="Conv2d"/> weights: each
/// <see cref="Prune"/> keeps a mask per weight that zeroes its smallest-magnitude entries, per layer or globally
/// (<see cref="PruningScope"/>), pruning exactly round(sparsity·n) of the n weights in scope.
/// <para>
/// Masks stay in force while training: a post-accumulate gradient hook on every weight zeroes the pruned
/// entries' gradients (so optimizer state sees no gradient there), and <see cref="ApplyMasks"/> after each
/// optimizer step zeroes what momentum or Adam's moments still move. <see cref="Step"/> does both for hand-written
/// loops; <see cref="PruningCallback"/> does it for <c>Fit</c>. <see cref="MakePermanent"/> (or <see cref="Dispose"/>)
/// removes the hooks and masks, leaving the zeros in the weights.
/// </para>
/// </summary>
public sealed class MagnitudePruner : IDisposable
{
    readonly List<PrunedWeight> weights;
    readonly List<IDisposable> hooks = [];
    bool removed;

    /// <summary>Puts the Linear and Conv2d weights of <paramref name="model"/> under pruning, with all-ones masks.</summary>
    /// <param name="model">The model; its weights are pruned in place.</param>
    /// <param name="scope">Per-layer or global sparsity.</param>
    /// <param name="include">Prunes only the layers whose dotted name this accepts (e.g. to spare the output layer); null prunes all.</param>
    /// <exception cref="ArgumentException">The model has no Linear or Conv2d layer (or none the filter accepts).</exception>
    public MagnitudePruner(Module model, PruningScope scope = PruningScope.PerLayer, Func<string, bool>? include = null)
    {
        Model = model;
        Scope = scope;
        weights = PrunableLayer.Find(model, include, nameof(MagnitudePruner)).Select(l => new PrunedWeight(l)).ToList();
        foreach (var w in weights)
            hooks.Add(w.Layer.Weight.RegisterPostAccumulateGradHook(t => t.Grad?.Mul_(w.Mask)));
    }

    /// <summary>The pruned model.</summary>
    public Module Model { get; }

    /// <summary>Per-layer or global.</summary>
    public PruningScope Scope { get; }

    /// <summary>The weights under pruning, in module order.</summary>
    public IReadOnlyList<PrunedWeight> Weights => weights;

    /// <summary>The fraction of all pruned weights the masks prune.</summary>
    public double Sparsity => (double)weights.Sum(w => w.Pruned) / weights.Sum(w => w.Layer.Weight.NumElements);

    /// <summary>
    /// Recomputes the masks from the weights' current magnitudes so that exactly round(<paramref name="sparsity"/>·n)
    /// weights are pruned in each layer (<see cref="PruningScope.PerLayer"/>) or over all layers
    /// (<see cref="PruningScope.Global"/>), then zeroes them. Weights already pruned are zero, so a rising sparsity
    /// keeps them pruned. Ties in magnitude are broken by position.
    /// </summary>
    /// <param name="sparsity">Fraction to prune, in [0, 1].</param>
    /// <exception cref="ArgumentOutOfRangeException">The sparsity is outside [0, 1].</exception>
    /// <exception cref="InvalidOperationException">The masks were removed by <see cref="MakePermanent"/>.</exception>
    public void Prune(double sparsity)
    {
        CheckSparsity(sparsity, nameof(sparsity));
        CheckActive(nameof(Prune));
        var magnitudes = weights.Select(w => Magnitudes(w.Layer.Weight)).ToArray();
        var masks = magnitudes.Select(m => Enumerable.Repeat(1f, m.Length).ToArray()).ToArray();
        if (Scope == PruningScope.PerLayer)
        {
            for (int l = 0; l < weights.Count; l++)
                PruneSmallest([magnitudes[l]], [masks[l]], Count(sparsity, magnitudes[l].Length));
        }
        else
        {
            PruneSmallest(magnitudes, masks, Count(sparsity, magnitudes.Sum(m => (long)m.Length)));
        }
        for (int l = 0; l < weights.Count; l++)
        {
            var w = weights[l];
            var weight = w.Layer.Weight;
            var mask = Tensor.FromArray(masks[l], weight.Shape.ToArray());
            if (mask.DType != weight.DType) mask = mask.To(weight.DType);
            if (!mask.Device.Equals(weight.Device)) mask = mask.To(weight.Device);
            w.Mask.Dispose();
            w.Mask = mask.DetachFromScope();
            w.Pruned = masks[l].LongLength - (long)masks[l].Sum();
        }
        ApplyMasks();
    }

    /// <summary>Zeroes the pruned weights (call it after every optimizer step of a hand-written loop, or use <see cref="Step"/>).</summary>
    /// <exception cref="InvalidOperationException">The masks were removed by <see cref="MakePermanent"/>.</exception>
    public void ApplyMasks()
    {
        CheckActive(nameof(ApplyMasks));
        using (Tensor.NoGrad())
            foreach (var w in weights) w.Layer.Weight.Mul_(w.Mask);
    }

    /// <summary>One optimizer step with the masks kept: <c>optimizer.Step()</c>, then <see cref="ApplyMasks"/>.</summary>
    /// <param name="optimizer">The optimizer training the model.</param>
    public void Step(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        CheckActive(nameof(Step));
        optimizer.Step();
        ApplyMasks();
    }

    /// <summary>The per-layer sparsity of the model's weights (counting zeros, so it also shows what training left at zero).</summary>
    public SparsityReport Report() => SparsityReport.Of(Model);

    /// <summary>
    /// Makes the pruning permanent: applies the masks a last time, then removes the gradient hooks and the masks.
    /// The pruned weights stay zero; training afterwards may move them again. Calling it twice does nothing.
    /// </summary>
    public void MakePermanent()
    {
        if (removed) return;
        ApplyMasks();
        foreach (var h in hooks) h.Dispose();
        hooks.Clear();
        foreach (var w in weights) w.Mask.Dispose();
        removed = true;
    }

    /// <summary>Same as <see cref="MakePermanent"/>.</summary>
    public void Dispose() => MakePermanent();

    internal static void CheckSparsity(double sparsity, string name)
    {
        if (!(sparsity >= 0 && sparsity <= 1))
            throw new ArgumentOutOfRangeException(name, sparsity, "Pruning: a sparsity must lie in [0, 1].");
    }

    void CheckActive(string operation)
    {
        if (removed)
            throw new InvalidOperationException($"MagnitudePruner.{operation}: the masks were removed by MakePermanent; create a new pruner to prune again.");
    }

    static long Count(double sparsity, long n) => (long)Math.Round(sparsity * n, MidpointRounding.AwayFromZero);

    static float[] Magnitudes(Tensor weight)
    {
        using (Tensor.NoGrad())
        {
            var values = (weight.DType == DType.Float32 ? weight : weight.To(DType.Float32)).ToArray<float>();
            for (int i = 0; i < values.Length; i++) values[i] = MathF.Abs(values[i]);
            return values;
        }
    }

    // Zeroes in masks the `count` entries with the smallest magnitudes over all the given layers, ordered by
    // (magnitude, layer, position) so the choice is deterministic and exactly `count` long.
    static void PruneSmallest(float[][] magnitudes, float[][] masks, long count)
    {
        if (count == 0) return;
        var entries = new List<(float Magnitude, int Layer, int Index)>(magnitudes.Sum(m => m.Length));
        for (int l = 0; l < magnitudes.Length; l++)
            for (int i = 0; i < magnitudes[l].Length; i++) entries.Add((magnitudes[l][i], l, i));
        entries.Sort();
        for (int k = 0; k < count; k++) masks[entries[k].Layer][entries[k].Index] = 0;
    }
}
