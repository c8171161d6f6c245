namespace NeuralCore.Explain;

/// <summary>
/// Spearman's rank correlation between two attributions of the same inputs, the similarity measure of the
/// sanity checks of Adebayo et al. (2018): an explanation that barely changes when the model's weights are
/// randomized does not depend on what the model learned.
/// </summary>
public static class RankCorrelation
{
    /// <summary>Spearman's ρ of the flattened tensors (ties get their mean rank); in [−1, 1].</summary>
    /// <param name="a">First attribution.</param>
    /// <param name="b">Second attribution, with as many elements.</param>
    /// <param name="absolute">Rank absolute values (importance regardless of sign), as Adebayo et al. do for saliency maps.</param>
    /// <exception cref="ArgumentException">The sizes differ or are below 2.</exception>
    public static double Spearman(Tensor a, Tensor b, bool absolute = false)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.NumElements != b.NumElements || a.NumElements < 2)
            throw new ArgumentException($"RankCorrelation.Spearman: needs two tensors of the same size (at least 2 elements), got {a.Shape} and {b.Shape}.");
        var x = a.ToArray<double>();
        var y = b.ToArray<double>();
        if (absolute) { x = Array.ConvertAll(x, Math.Abs); y = Array.ConvertAll(y, Math.Abs); }
        return Pearson(Ranks(x), Ranks(y));
    }

    static double[] Ranks(double[] v)
    {
        var order = Enumerable.Range(0, v.Length).OrderBy(i => v[i]).ToArray();
        var ranks = new double[v.Length];
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j + 1 < order.Length && v[order[j + 1]] == v[order[i]]) j++;
            double mean = (i + j) / 2.0;
            for (int k = i; k <= j; k++) ranks[order[k]] = mean;
            i = j + 1;
        }
        return ranks;
    }

    static double Pearson(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Length; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxx > 0 && syy > 0 ? sxy / Math.Sqrt(sxx * syy) : 0;
    }
}
