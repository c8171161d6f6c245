using System.Globalization;

namespace NeuralCore.Data;

public abstract partial class Dataset
{
    /// <summary>
    /// Splits <paramref name="dataset"/> into non-overlapping random subsets of the given sizes (PyTorch's
    /// <c>random_split</c>): the items are permuted once by <paramref name="generator"/> and cut in order.
    /// </summary>
    /// <param name="dataset">The dataset to split.</param>
    /// <param name="lengths">The subsets' sizes; they must add up to the dataset's size.</param>
    /// <param name="generator">Source of the permutation; <see cref="Rng.Default"/> when null.</param>
    /// <returns>One <see cref="Subset"/> per length, in order.</returns>
    /// <exception cref="ArgumentException">A negative length, or lengths that do not add up to the dataset's size.</exception>
    public static Subset[] RandomSplit(Dataset dataset, IReadOnlyList<int> lengths, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(lengths);
        if (lengths.Count == 0) throw new ArgumentException("RandomSplit: at least one length is needed.", nameof(lengths));
        long total = 0;
        foreach (int l in lengths)
        {
            if (l < 0) throw new ArgumentException($"RandomSplit: length {l} is negative.", nameof(lengths));
            total += l;
        }
        if (total != dataset.Count)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"RandomSplit: the lengths [{string.Join(", ", lengths)}] add up to {total}, not to the dataset's {dataset.Count} items."), nameof(lengths));
        int[] order = (generator ?? Rng.Default).Permutation(dataset.Count);
        var parts = new Subset[lengths.Count];
        int start = 0;
        for (int i = 0; i < parts.Length; i++)
        {
            parts[i] = new Subset(dataset, new ArraySegment<int>(order, start, lengths[i]));
            start += lengths[i];
        }
        return parts;
    }

    /// <summary>
    /// Splits <paramref name="dataset"/> by fractions that add up to 1 (PyTorch's <c>random_split</c> with fractions):
    /// split i gets floor(n·fraction[i]) items, and the items left over go one each to the first splits in turn.
    /// </summary>
    /// <param name="dataset">The dataset to split.</param>
    /// <param name="fractions">Fractions in [0, 1] adding up to 1 (within 1e-6).</param>
    /// <param name="generator">Source of the permutation; <see cref="Rng.Default"/> when null.</param>
    /// <returns>One <see cref="Subset"/> per fraction, in order.</returns>
    /// <exception cref="ArgumentException">A fraction outside [0, 1], or fractions that do not add up to 1.</exception>
    public static Subset[] RandomSplit(Dataset dataset, IReadOnlyList<double> fractions, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(fractions);
        if (fractions.Count == 0) throw new ArgumentException("RandomSplit: at least one fraction is needed.", nameof(fractions));
        double sum = 0;
        foreach (double f in fractions)
        {
            if (!(f >= 0 && f <= 1))
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"RandomSplit: fraction {f} is outside [0, 1]."), nameof(fractions));
            sum += f;
        }
        if (Math.Abs(sum - 1) > 1e-6)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"RandomSplit: the fractions [{string.Join(", ", fractions)}] add up to {sum}, not 1."), nameof(fractions));
        int n = dataset.Count;
        var lengths = fractions.Select(f => (int)Math.Floor(n * f)).ToArray();
        int left = n - lengths.Sum();
        for (int i = 0; left > 0; i = (i + 1) % lengths.Length, left--) lengths[i]++;
        return RandomSplit(dataset, lengths, generator);
    }
}
