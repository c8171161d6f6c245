using NeuralCore.Data;

namespace NeuralCore.Privacy;

/// <summary>
/// Poisson sampling for DP-SGD: each batch includes every record independently with probability
/// <see cref="SampleRate"/>, so batch sizes vary (binomial, mean q·N) and a batch may be empty. An epoch is
/// round(1/q) batches. The privacy accountant's subsampling analysis assumes exactly this sampling.
/// </summary>
public sealed class PoissonBatchSampler : IBatchSampler
{
    /// <summary>Creates the sampler.</summary>
    /// <param name="sampleRate">q, the inclusion probability, in (0, 1].</param>
    /// <exception cref="ArgumentOutOfRangeException">q is out of range.</exception>
    public PoissonBatchSampler(double sampleRate)
    {
        if (!(sampleRate > 0 && sampleRate <= 1))
            throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "PoissonBatchSampler: the sampling rate must be in (0, 1].");
        SampleRate = sampleRate;
    }

    /// <summary>q, the probability that a record is in a batch.</summary>
    public double SampleRate { get; }

    /// <inheritdoc />
    public int BatchesPerEpoch(int count) => Math.Max(1, (int)Math.Round(1 / SampleRate));

    /// <inheritdoc />
    public int ExpectedBatchSize(int count) => (int)Math.Round(SampleRate * count);

    /// <inheritdoc />
    public IEnumerable<int[]> Sample(int count, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        int batches = BatchesPerEpoch(count);
        var result = new int[batches][];
        var picked = new List<int>();
        for (int b = 0; b < batches; b++)
        {
            picked.Clear();
            for (int i = 0; i < count; i++)
                if (generator.NextDouble() < SampleRate) picked.Add(i);
            result[b] = picked.ToArray();
        }
        return result;
    }
}
