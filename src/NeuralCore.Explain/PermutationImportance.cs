using NeuralCore.Nn;

namespace NeuralCore.Explain;

/// <summary>
/// Permutation feature importance (Breiman 2001; Fisher et al. 2019) for tabular models: how much a score drops
/// when one feature column is shuffled across the rows, breaking its link to the target, averaged over repeats.
/// </summary>
public static class PermutationImportance
{
    /// <summary>Accuracy of class scores [N, C] (arg-max) against class indices [N]; higher is better.</summary>
    public static double Accuracy(Tensor outputs, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (outputs.Dim != 2 || targets.Shape[0] != outputs.Shape[0])
            throw new ArgumentException($"PermutationImportance.Accuracy: outputs must be [N, C] and targets [N], got {outputs.Shape} and {targets.Shape}.");
        using var _ = Tensor.NoGrad();
        var correct = outputs.ArgMax(dim: 1).Eq(targets.To(DType.Int64).Reshape(targets.Shape[0])).Sum().Item<long>();
        return (double)correct / outputs.Shape[0];
    }

    /// <summary>The negated mean squared error of outputs [N] or [N, 1] against targets of as many elements; higher is better.</summary>
    public static double NegativeMeanSquaredError(Tensor outputs, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (outputs.NumElements != targets.NumElements)
            throw new ArgumentException($"PermutationImportance.NegativeMeanSquaredError: outputs {outputs.Shape} and targets {targets.Shape} differ in size.");
        using var _ = Tensor.NoGrad();
        var diff = outputs.Reshape(-1) - targets.To(outputs.DType).Reshape(-1);
        return -diff.Square().Mean().Item<double>();
    }

    /// <summary>Computes the importance of every column of <paramref name="inputs"/>.</summary>
    /// <param name="model">The model; its whole output goes to <paramref name="score"/>.</param>
    /// <param name="inputs">Tabular rows [N, F] on the model's device.</param>
    /// <param name="targets">What <paramref name="score"/> compares the outputs with.</param>
    /// <param name="score">Higher-is-better score of (outputs, targets): <see cref="Accuracy"/>, <see cref="NegativeMeanSquaredError"/> or your own.</param>
    /// <param name="repeats">Shuffles per feature.</param>
    /// <param name="generator">Draws the permutations; null uses <see cref="Rng.Default"/>.</param>
    /// <param name="maxBatchElements">Most input elements per internal forward batch.</param>
    /// <returns>The baseline score and, per feature, the mean and standard deviation of the drop.</returns>
    /// <exception cref="ArgumentException">The inputs are not [N, F] floating point with N ≥ 2.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Repeats or the bound are not positive.</exception>
    public static PermutationImportanceResult Compute(Module model, Tensor inputs, Tensor targets, Func<Tensor, Tensor, double> score,
        int repeats = 5, Generator? generator = null, long maxBatchElements = ExplainDefaults.MaxBatchElements)
    {
        const string op = nameof(PermutationImportance);
        ModelRunner.CheckBatch(op, inputs, maxBatchElements);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(score);
        if (inputs.Dim != 2 || inputs.Shape[0] < 2)
            throw new ArgumentException($"{op}: inputs must be tabular [N, F] with at least 2 rows, got {inputs.Shape}.");
        if (repeats < 1) throw new ArgumentOutOfRangeException(nameof(repeats), repeats, $"{op}: repeats must be at least 1.");
        generator ??= Rng.Default;
        int n = (int)inputs.Shape[0], f = (int)inputs.Shape[1];
        using var _ = ModelRunner.Prepare(model);
        using var noGrad = Tensor.NoGrad();
        double baseline = score(Predict(model, inputs, maxBatchElements), targets);
        var drops = new double[f, repeats];
        for (int j = 0; j < f; j++)
        {
            var column = new float[f];
            column[j] = 1;
            for (int r = 0; r < repeats; r++)
            {
                using var scope = Tensor.Scope();
                var perm = Tensor.FromArray(Array.ConvertAll(generator.Permutation(n), i => (long)i), n).To(inputs.Device);
                var select = Tensor.FromArray(column, 1, f).To(inputs.Device).To(inputs.DType);
                var shuffled = inputs + (inputs.IndexSelect(0, perm) - inputs) * select;
                drops[j, r] = baseline - score(Predict(model, shuffled, maxBatchElements), targets);
            }
        }
        return new PermutationImportanceResult(baseline, drops);
    }

    static Tensor Predict(Module model, Tensor inputs, long maxBatchElements)
    {
        long n = inputs.Shape[0];
        int chunk = ModelRunner.RowsPerChunk(inputs.Shape[1], maxBatchElements);
        var parts = new List<Tensor>();
        for (long start = 0; start < n; start += chunk)
            parts.Add(model.Forward(inputs.Narrow(0, start, Math.Min(chunk, n - start))));
        return parts.Count == 1 ? parts[0] : Tensor.Cat(parts, 0);
    }
}
