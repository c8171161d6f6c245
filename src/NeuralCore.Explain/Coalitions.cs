using NeuralCore.Nn;

namespace NeuralCore.Explain;

/// <summary>
/// The value of coalitions of feature groups for one input row: v(z) = mean over the replacement rows r of
/// f(x where z is on, r where z is off). Kernel SHAP passes a background dataset, LIME one baseline row.
/// </summary>
internal sealed class Coalitions
{
    readonly string op;
    readonly Module model;
    readonly Tensor row, replacements, groupIndex;
    readonly int target;
    readonly long maxBatchElements, features;

    public Coalitions(string op, Module model, Tensor row, Tensor replacements, int[] groups, int target, long maxBatchElements)
    {
        this.op = op;
        this.model = model;
        this.target = target;
        this.maxBatchElements = maxBatchElements;
        features = ModelRunner.RowElements(row);
        this.row = row.Reshape(1, 1, features);
        this.replacements = replacements.Reshape(1, replacements.Shape[0], features);
        Groups = FeatureGroups.Count(groups, features, op);
        groupIndex = Tensor.FromArray(Array.ConvertAll(groups, g => (long)g), groups.Length).To(row.Device);
        FeatureShape = row.Shape.ToArray()[1..];
    }

    /// <summary>Number of feature groups M.</summary>
    public int Groups { get; }

    long[] FeatureShape { get; }

    /// <summary>v(z) for each coalition (rows of 0/1 of length M).</summary>
    public double[] Values(IReadOnlyList<bool[]> coalitions)
    {
        long background = replacements.Shape[1];
        int chunk = (int)Math.Clamp(maxBatchElements / Math.Max(1, background * features), 1, int.MaxValue);
        var result = new double[coalitions.Count];
        using var noGrad = Tensor.NoGrad();
        for (int k0 = 0; k0 < coalitions.Count; k0 += chunk)
        {
            int len = Math.Min(chunk, coalitions.Count - k0);
            using var scope = Tensor.Scope();
            var z = new float[len * Groups];
            for (int k = 0; k < len; k++)
                for (int j = 0; j < Groups; j++)
                    z[k * Groups + j] = coalitions[k0 + k][j] ? 1 : 0;
            var mask = Tensor.FromArray(z, len, Groups).To(row.Device).To(row.DType).IndexSelect(1, groupIndex).Reshape(len, 1, features);
            var batch = (row * mask + replacements * (1f - mask)).Reshape([len * background, .. FeatureShape]);
            var y = ModelRunner.Forward(op, model, batch, target, maxBatchElements).Reshape(len, background).Mean(1);
            ModelRunner.ToDoubles(y).CopyTo(result, k0);
        }
        return result;
    }
}
