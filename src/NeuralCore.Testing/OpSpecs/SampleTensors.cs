namespace NeuralCore.Testing;

/// <summary>Builds sample tensors with chosen values, dtype and memory layout, for sample generators.</summary>
public static class SampleTensors
{
    /// <summary>
    /// A tensor of <paramref name="shape"/> and <paramref name="dtype"/> with values from <paramref name="domain"/>,
    /// presented in <paramref name="layout"/>. The values are drawn before the view is taken, so a
    /// non-contiguous tensor holds the same kind of values as a contiguous one.
    /// </summary>
    /// <exception cref="ArgumentException">The layout needs more dimensions than the shape has.</exception>
    public static Tensor Make(int[] shape, DType dtype, Generator rng, ValueDomain domain, SampleLayout layout = SampleLayout.Contiguous)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(domain);
        int n = shape.Length;
        switch (layout)
        {
            case SampleLayout.Transposed:
                RequireRank(shape, 2, layout);
                int[] swapped = [.. shape];
                (swapped[n - 1], swapped[n - 2]) = (swapped[n - 2], swapped[n - 1]);
                return Dense(swapped, dtype, rng, domain).Transpose(-1, -2);
            case SampleLayout.Narrowed:
                RequireRank(shape, 1, layout);
                var t = Dense(Array.ConvertAll(shape, s => s + 2), dtype, rng, domain);
                for (int d = 0; d < n; d++) t = t.Narrow(d, 1, shape[d]);
                return t;
            case SampleLayout.Expanded:
                int dim = Array.FindIndex(shape, s => s > 1);
                if (dim < 0) throw new ArgumentException($"SampleTensors: layout {layout} needs a dimension larger than 1.");
                int[] single = [.. shape];
                single[dim] = 1;
                return Dense(single, dtype, rng, domain).Expand(Array.ConvertAll(shape, s => (long)s));
            case SampleLayout.Permuted:
                RequireRank(shape, 2, layout);
                int[] rotated = [shape[n - 1], .. shape[..(n - 1)]];
                int[] order = [.. Enumerable.Range(1, n - 1), 0];
                return Dense(rotated, dtype, rng, domain).Permute(order);
            default:
                return Dense(shape, dtype, rng, domain);
        }
    }

    static void RequireRank(int[] shape, int rank, SampleLayout layout)
    {
        if (shape.Length < rank) throw new ArgumentException($"SampleTensors: layout {layout} needs at least {rank} dimensions, got {shape.Length}.");
    }

    static Tensor Dense(int[] shape, DType dtype, Generator rng, ValueDomain domain)
    {
        int count = RefTensor.Count(shape);
        var values = new double[count];
        if (dtype.IsFloatingPoint() && domain.Distinct)
        {
            var perm = rng.Permutation(count);
            for (int i = 0; i < count; i++) values[i] = domain.Low + (domain.High - domain.Low) * (perm[i] + 0.5) / count;
        }
        else
        {
            for (int i = 0; i < count; i++)
                values[i] = dtype switch
                {
                    DType.Bool => rng.NextInt(2),
                    _ when dtype.IsFloatingPoint() => domain.NextFloating(rng),
                    _ => domain.NextInteger(rng, dtype),
                };
        }
        return FromDoubles(values, shape, dtype);
    }

    /// <summary>A contiguous tensor holding <paramref name="values"/> (row-major) converted to <paramref name="dtype"/>; a 0-d tensor for an empty shape.</summary>
    public static Tensor FromDoubles(double[] values, int[] shape, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(shape);
        var t = shape.Length == 0
            ? Tensor.Scalar(values[0], DType.Float64)
            : Tensor.FromArray(values, Array.ConvertAll(shape, s => (long)s));
        return t.To(dtype);
    }

    /// <summary>An Int64 index tensor of <paramref name="shape"/> with entries in [0, <paramref name="bound"/>).</summary>
    public static Tensor Index(int[] shape, int bound, Generator rng)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(rng);
        var values = new double[RefTensor.Count(shape)];
        for (int i = 0; i < values.Length; i++) values[i] = rng.NextInt(bound);
        return FromDoubles(values, shape, DType.Int64);
    }
}
