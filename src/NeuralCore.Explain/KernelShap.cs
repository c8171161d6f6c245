using NeuralCore.Nn;

namespace NeuralCore.Explain;

/// <summary>
/// Kernel SHAP (Lundberg and Lee 2017): Shapley values of the feature groups for the game
/// v(S) = E_background[f(x_S, background_¬S)], estimated by a weighted least-squares fit over coalitions with the
/// Shapley kernel π(z) = (M − 1) / (C(M, |z|) |z| (M − |z|)). The empty and full coalitions enter as constraints,
/// so the values sum to f(x) − E[f] exactly (up to float rounding). With 2^M − 2 ≤ <c>maxCoalitions</c> every
/// coalition is enumerated and the fit returns the exact Shapley values; otherwise coalitions are sampled from the
/// kernel's size distribution in complementary pairs.
/// </summary>
public static class KernelShap
{
    /// <summary>Explains each row of <paramref name="inputs"/>.</summary>
    /// <param name="model">Any module mapping a batch [N, ...] to outputs [N] or [N, classes].</param>
    /// <param name="inputs">Rows to explain, [N, ...], on the model's device.</param>
    /// <param name="background">The background dataset [B, ...] that stands in for absent features (its mean output is E[f]).</param>
    /// <param name="target">The output column (class index) to explain.</param>
    /// <param name="featureGroups">Group id of every element of a row (see <see cref="FeatureGroups"/>); null means one group per element.</param>
    /// <param name="maxCoalitions">Coalitions evaluated per row (besides the empty and full ones); rounded down to an even count for pairing.</param>
    /// <param name="generator">Draws the sampled coalitions; null uses <see cref="Rng.Default"/>.</param>
    /// <param name="maxBatchElements">Most input elements per internal batch (coalitions × background rows × row size).</param>
    /// <returns>One result per row.</returns>
    /// <exception cref="ArgumentException">Shapes, devices or groups do not fit.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Too few coalitions, or the target is not an output column.</exception>
    /// <exception cref="InvalidOperationException">The sampled coalitions do not determine the fit (raise maxCoalitions).</exception>
    public static KernelShapResult[] Explain(Module model, Tensor inputs, Tensor background, int target = 0, int[]? featureGroups = null,
        int maxCoalitions = 2048, Generator? generator = null, long maxBatchElements = ExplainDefaults.MaxBatchElements)
    {
        const string op = nameof(KernelShap);
        ModelRunner.CheckBatch(op, inputs, maxBatchElements);
        ModelRunner.CheckBatch(op, background, maxBatchElements);
        if (!background.Shape.ToArray()[1..].SequenceEqual(inputs.Shape.ToArray()[1..]) || !background.Device.Equals(inputs.Device))
            throw new ArgumentException($"{op}: background {background.Shape} on {background.Device} does not match inputs {inputs.Shape} on {inputs.Device}.");
        if (maxCoalitions < 2) throw new ArgumentOutOfRangeException(nameof(maxCoalitions), maxCoalitions, $"{op}: at least 2 coalitions are needed.");
        long features = ModelRunner.RowElements(inputs);
        featureGroups ??= FeatureGroups.PerElement(checked((int)features));
        generator ??= Rng.Default;
        using var _ = ModelRunner.Prepare(model);
        var bg = background.Detach().To(inputs.DType);
        var results = new KernelShapResult[inputs.Shape[0]];
        for (long i = 0; i < results.Length; i++)
        {
            var game = new Coalitions(op, model, inputs.Narrow(0, i, 1).Detach(), bg, featureGroups, target, maxBatchElements);
            results[i] = Solve(game, maxCoalitions, generator);
        }
        return results;
    }

    static KernelShapResult Solve(Coalitions game, int maxCoalitions, Generator generator)
    {
        int m = game.Groups;
        bool exact = m <= 30 && (1L << m) - 2 <= maxCoalitions;
        var (coalitions, weights) = exact ? Enumerate(m) : Sample(m, maxCoalitions / 2 * 2, generator);
        var ends = new List<bool[]> { new bool[m], Enumerable.Repeat(true, m).ToArray() };
        var v = game.Values([.. ends, .. coalitions]);
        double baseValue = v[0], output = v[1], total = output - baseValue;
        if (m == 1) return new KernelShapResult([total], baseValue, output, exact, coalitions.Count);

        // Efficiency eliminates the last value: φ_M = total − Σ_{j<M} φ_j, so each coalition gives the equation
        // Σ_{j<M} (z_j − z_M) φ_j = v(z) − v(∅) − z_M · total, solved by weighted normal equations.
        int p = m - 1;
        var a = new double[p, p];
        var b = new double[p];
        var row = new double[p];
        for (int k = 0; k < coalitions.Count; k++)
        {
            var z = coalitions[k];
            double last = z[m - 1] ? 1 : 0, w = weights[k];
            for (int j = 0; j < p; j++) row[j] = (z[j] ? 1 : 0) - last;
            double y = v[k + 2] - baseValue - last * total;
            for (int r = 0; r < p; r++)
            {
                if (row[r] == 0) continue;
                b[r] += w * row[r] * y;
                for (int c = 0; c < p; c++) a[r, c] += w * row[r] * row[c];
            }
        }
        var phi = LeastSquares.Solve(a, b, nameof(KernelShap));
        var values = new double[m];
        Array.Copy(phi, values, p);
        values[p] = total - phi.Sum();
        return new KernelShapResult(values, baseValue, output, exact, coalitions.Count);
    }

    static double KernelWeight(int m, int size) => (m - 1) / (Binomial(m, size) * size * (m - size));

    static double Binomial(int n, int k)
    {
        double r = 1;
        for (int i = 1; i <= k; i++) r = r * (n - k + i) / i;
        return r;
    }

    static (List<bool[]>, List<double>) Enumerate(int m)
    {
        var coalitions = new List<bool[]>();
        var weights = new List<double>();
        for (long mask = 1; mask < (1L << m) - 1; mask++)
        {
            var z = new bool[m];
            int size = 0;
            for (int j = 0; j < m; j++) if ((mask >> j & 1) != 0) { z[j] = true; size++; }
            coalitions.Add(z);
            weights.Add(KernelWeight(m, size));
        }
        return (coalitions, weights);
    }

    // Sizes are drawn with probability proportional to the kernel's total weight at that size, (M − 1) / (s (M − s)),
    // members uniformly; each draw is paired with its complement. Drawn from the kernel, each sample weighs the same.
    static (List<bool[]>, List<double>) Sample(int m, int count, Generator generator)
    {
        var sizeWeights = new double[m];
        for (int s = 1; s < m; s++) sizeWeights[s] = 1.0 / (s * (m - s));
        double sum = sizeWeights.Sum();
        var coalitions = new List<bool[]>(count);
        while (coalitions.Count < count)
        {
            double u = generator.NextDouble() * sum;
            int size = 1;
            while (size < m - 1 && (u -= sizeWeights[size]) > 0) size++;
            var order = generator.Permutation(m);
            var z = new bool[m];
            for (int j = 0; j < size; j++) z[order[j]] = true;
            coalitions.Add(z);
            coalitions.Add(Array.ConvertAll(z, on => !on));
        }
        return (coalitions, Enumerable.Repeat(1.0, coalitions.Count).ToList());
    }
}
