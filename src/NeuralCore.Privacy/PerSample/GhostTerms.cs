namespace NeuralCore.Privacy.PerSample;

/// <summary>
/// One layer's share of a clipped gradient sum: the squared norms of its per-sample gradients (over all its
/// parameters) and, given each sample's clipping factor cᵢ, the weighted sums Σᵢ cᵢ·Gᵢ of its parameters' per-sample
/// gradients. Ghost rules produce both from the captured input and output gradient without forming Gᵢ.
/// </summary>
internal sealed class GhostTerms(Tensor squaredNorms, Func<Tensor, IEnumerable<(Tensor Parameter, Tensor Sum)>> weightedSums)
{
    /// <summary>[B]: Σ over the layer's parameters of ‖Gᵢ‖².</summary>
    public Tensor SquaredNorms { get; } = squaredNorms;

    /// <summary>(parameter, Σᵢ cᵢ·Gᵢ) for each parameter, with <paramref name="factors"/> = c [B].</summary>
    public IEnumerable<(Tensor Parameter, Tensor Sum)> WeightedSums(Tensor factors) => weightedSums(factors);

    /// <summary>The terms of materialized per-sample gradients [B, ...parameter shape].</summary>
    public static GhostTerms FromPerSample(IReadOnlyList<(Tensor Parameter, Tensor PerSample)> grads)
    {
        Tensor? sq = null;
        foreach (var (_, g) in grads)
        {
            var s = SquaredNormsOf(g);
            sq = sq is null ? s : sq.Add(s);
        }
        return new GhostTerms(sq!, c => grads.Select(pg => (pg.Parameter, WeightedSum(pg.PerSample, c))));
    }

    /// <summary>The terms of layers (or parameter sets) with distinct parameters: the squared norms add.</summary>
    public static GhostTerms Combine(IReadOnlyList<GhostTerms> parts) =>
        parts.Count == 1 ? parts[0] : new GhostTerms(parts.Select(p => p.SquaredNorms).Aggregate((a, b) => a.Add(b)), c => parts.SelectMany(p => p.WeightedSums(c)));

    /// <summary>These terms for per-sample gradients multiplied by <paramref name="scale"/>.</summary>
    public GhostTerms Scaled(double scale) => scale == 1 ? this
        : new GhostTerms(SquaredNorms.Mul(scale * scale), c => WeightedSums(c).Select(ps => (ps.Parameter, ps.Sum.Mul(scale))));

    /// <summary>‖Gᵢ‖² [B] of per-sample gradients [B, ...].</summary>
    public static Tensor SquaredNormsOf(Tensor perSample) => perSample.Reshape(perSample.Shape[0], -1).Square().Sum(1);

    /// <summary>Σᵢ cᵢ·Gᵢ of per-sample gradients [B, ...] as one matrix product, shaped as one sample's gradient.</summary>
    public static Tensor WeightedSum(Tensor perSample, Tensor factors)
    {
        long b = perSample.Shape[0];
        return factors.Reshape(1, b).To(perSample.DType).MatMul(perSample.Reshape(b, -1)).Reshape(perSample.Shape.ToArray()[1..]);
    }
}
