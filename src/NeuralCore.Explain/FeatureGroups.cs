namespace NeuralCore.Explain;

/// <summary>
/// Feature groups for the perturbation methods (<see cref="KernelShap"/>, <see cref="Lime"/>): an array giving,
/// for every input element of one row (row-major), the id of the group it belongs to; ids run 0 … M − 1 and all are
/// used. A group is switched on or off as a whole (superpixels for images).
/// </summary>
public static class FeatureGroups
{
    /// <summary>One group per element: <paramref name="features"/> groups.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="features"/> is not positive.</exception>
    public static int[] PerElement(int features)
    {
        if (features < 1) throw new ArgumentOutOfRangeException(nameof(features), features, "FeatureGroups: the feature count must be positive.");
        return Enumerable.Range(0, features).ToArray();
    }

    /// <summary>
    /// Square superpixels of <paramref name="patch"/> × <paramref name="patch"/> pixels over an image [C, H, W],
    /// spanning all channels (edge patches are smaller when the size is not a multiple of the patch).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size or the patch is not positive.</exception>
    public static int[] Grid(int channels, int height, int width, int patch)
    {
        if (channels < 1 || height < 1 || width < 1 || patch < 1)
            throw new ArgumentOutOfRangeException(nameof(patch), $"FeatureGroups.Grid: channels, height, width and patch must be positive (got {channels}, {height}, {width}, {patch}).");
        int across = (width + patch - 1) / patch;
        var groups = new int[channels * height * width];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < height; i++)
                for (int j = 0; j < width; j++)
                    groups[(c * height + i) * width + j] = i / patch * across + j / patch;
        return groups;
    }

    /// <summary>Spreads one value per group over the elements: a tensor of <paramref name="featureShape"/> (Float32, CPU).</summary>
    /// <exception cref="ArgumentException">The groups do not match the values or the shape.</exception>
    public static Tensor Expand(double[] values, int[] groups, params long[] featureShape)
    {
        ArgumentNullException.ThrowIfNull(values);
        int m = Count(groups, featureShape.Aggregate(1L, (a, b) => a * b), "FeatureGroups.Expand");
        if (m != values.Length)
            throw new ArgumentException($"FeatureGroups.Expand: {values.Length} values for {m} groups.");
        return Tensor.FromArray(Array.ConvertAll(groups, g => (float)values[g]), featureShape);
    }

    /// <summary>Checks the group array against the row size and returns the number of groups.</summary>
    internal static int Count(int[] groups, long features, string op)
    {
        ArgumentNullException.ThrowIfNull(groups);
        if (groups.Length != features)
            throw new ArgumentException($"{op}: {groups.Length} feature-group ids for rows of {features} elements.");
        int m = groups.Max() + 1;
        var used = new bool[m];
        foreach (var g in groups)
        {
            if (g < 0) throw new ArgumentException($"{op}: feature-group ids must be non-negative, got {g}.");
            used[g] = true;
        }
        int missing = Array.IndexOf(used, false);
        if (missing >= 0) throw new ArgumentException($"{op}: feature-group ids must run 0 … {m - 1} without gaps; {missing} is unused.");
        return m;
    }
}
