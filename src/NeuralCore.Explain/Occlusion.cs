using NeuralCore.Nn;

namespace NeuralCore.Explain;

/// <summary>
/// Occlusion (Zeiler and Fergus 2014): slides a window over the input, replaces the covered values with a
/// baseline value, and attributes the drop f(x) − f(occluded) to every covered feature, averaged over the windows
/// covering it. With a window of one feature on a linear model f(x) = w·x + c this is w ⊙ (x − b).
/// </summary>
public static class Occlusion
{
    /// <summary>Computes occlusion attributions for every row of <paramref name="inputs"/>.</summary>
    /// <param name="model">Any module mapping a batch [N, ...] to outputs [N] or [N, classes].</param>
    /// <param name="inputs">A floating-point batch [N, ...] on the model's device.</param>
    /// <param name="window">The window size along each feature dimension (for images [C, H, W]: e.g. [1, 4, 4]).</param>
    /// <param name="strides">The step along each feature dimension; null means the window size (no overlap).</param>
    /// <param name="target">The output column (class index) to explain.</param>
    /// <param name="baseline">The value that replaces occluded features.</param>
    /// <param name="maxBatchElements">Most input elements per internal batch of occluded copies.</param>
    /// <returns>Attributions shaped like <paramref name="inputs"/>; features no window covers get 0.</returns>
    /// <exception cref="ArgumentException">The window or strides do not match the feature dimensions or exceed them.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The target is not an output column, or the bound is not positive.</exception>
    public static Tensor Attribute(Module model, Tensor inputs, int[] window, int[]? strides = null, int target = 0,
        double baseline = 0, long maxBatchElements = ExplainDefaults.MaxBatchElements)
    {
        const string op = nameof(Occlusion);
        ModelRunner.CheckBatch(op, inputs, maxBatchElements);
        ArgumentNullException.ThrowIfNull(window);
        var feature = inputs.Shape.ToArray()[1..];
        strides ??= window;
        if (window.Length != feature.Length || strides.Length != feature.Length)
            throw new ArgumentException($"{op}: window [{string.Join(", ", window)}] and strides [{string.Join(", ", strides)}] need one entry per feature dimension of inputs {inputs.Shape}.");
        for (int d = 0; d < feature.Length; d++)
            if (window[d] < 1 || window[d] > feature[d] || strides[d] < 1)
                throw new ArgumentException($"{op}: window [{string.Join(", ", window)}] with strides [{string.Join(", ", strides)}] does not fit feature shape [{string.Join(", ", feature)}].");

        var positions = Positions(feature, window, strides);
        long n = inputs.Shape[0], features = ModelRunner.RowElements(inputs);
        int chunk = ModelRunner.RowsPerChunk(features, maxBatchElements);
        using var _ = ModelRunner.Prepare(model);
        using var noGrad = Tensor.NoGrad();
        var fx = ModelRunner.Forward(op, model, inputs, target, maxBatchElements);
        var flat = inputs.Reshape(n, features);
        var sums = Tensor.Zeros([n, features], inputs.DType, inputs.Device);
        var counts = Tensor.Zeros([1, features], inputs.DType, inputs.Device);
        for (int p0 = 0; p0 < positions.Count; p0 += chunk)
        {
            int len = Math.Min(chunk, positions.Count - p0);
            using var scope = Tensor.Scope();
            var mask = Mask(positions, p0, len, feature, window).To(inputs.Device).To(inputs.DType);   // [len, F]
            var keep = 1f - mask;
            var fill = mask * (float)baseline;
            counts.Add_(mask.Sum(0, keepDim: true));
            for (long i = 0; i < n; i++)
            {
                using var rowScope = Tensor.Scope();
                var occluded = (flat.Narrow(0, i, 1) * keep + fill).Reshape(ModelRunner.WithRows(inputs, len));
                var drop = fx.Narrow(0, i, 1) - ModelRunner.Forward(op, model, occluded, target, long.MaxValue);   // [len]
                sums.Narrow(0, i, 1).Add_(drop.Reshape(1, len).MatMul(mask));
            }
        }
        var covered = counts.Clamp(min: 1);
        return (sums / covered).Reshape(inputs.Shape.ToArray());
    }

    // Start offsets of every window position (row-major over the feature dimensions).
    static List<int[]> Positions(long[] feature, int[] window, int[] strides)
    {
        var perDim = new int[feature.Length][];
        for (int d = 0; d < feature.Length; d++)
            perDim[d] = Enumerable.Range(0, (int)((feature[d] - window[d]) / strides[d]) + 1).Select(k => k * strides[d]).ToArray();
        var result = new List<int[]> { Array.Empty<int>() };
        foreach (var starts in perDim)
            result = result.SelectMany(prefix => starts.Select(s => prefix.Append(s).ToArray())).ToList();
        return result;
    }

    // One row per window position: 1 on the covered features, 0 elsewhere (built on the CPU, then moved).
    static Tensor Mask(List<int[]> positions, int first, int count, long[] feature, int[] window)
    {
        long features = feature.Aggregate(1L, (a, b) => a * b);
        var strides = new long[feature.Length];
        long s = 1;
        for (int d = feature.Length - 1; d >= 0; d--) { strides[d] = s; s *= feature[d]; }
        var data = new float[count * features];
        var offset = new int[feature.Length];
        for (int p = 0; p < count; p++)
        {
            var start = positions[first + p];
            Array.Clear(offset);
            while (true)
            {
                long index = 0;
                for (int d = 0; d < feature.Length; d++) index += (start[d] + offset[d]) * strides[d];
                data[p * features + index] = 1;
                int k = feature.Length - 1;
                while (k >= 0 && ++offset[k] == window[k]) offset[k--] = 0;
                if (k < 0) break;
            }
        }
        return Tensor.FromArray(data, count, features);
    }
}
