namespace NeuralCore.Distributed;

/// <summary>
/// Splits the indices of a dataset among the ranks, as PyTorch's <c>DistributedSampler</c>: each epoch the indices
/// are shuffled with a generator seeded by <c>seed + epoch</c> (the same on every rank), made a multiple of the world
/// size (padded with indices from the start, or with the tail dropped), and rank r takes every WorldSize-th index
/// from position r. Every rank gets <see cref="SamplesPerRank"/> indices, so every rank runs the same number of
/// steps. With batch size b per rank, step s of the ranks together covers positions s·b·WorldSize to
/// (s+1)·b·WorldSize − 1 of the epoch's order: the batch a single process with batch size b·WorldSize would take.
/// </summary>
public sealed class DistributedSampler
{
    /// <summary>Creates the sampler for one rank.</summary>
    /// <param name="count">Samples in the dataset.</param>
    /// <param name="worldSize">Number of ranks.</param>
    /// <param name="rank">This rank.</param>
    /// <param name="shuffle">Shuffle every epoch.</param>
    /// <param name="seed">Shared by all ranks; the epoch's order depends on seed + epoch.</param>
    /// <param name="dropLast">Drop the tail that does not divide evenly instead of padding.</param>
    /// <exception cref="ArgumentOutOfRangeException">A count or rank out of range, or dropLast leaves no sample per rank.</exception>
    public DistributedSampler(int count, int worldSize, int rank, bool shuffle = true, int seed = 0, bool dropLast = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(worldSize);
        if ((uint)rank >= (uint)worldSize)
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"DistributedSampler: rank must lie in [0, {worldSize}).");
        Count = count;
        WorldSize = worldSize;
        Rank = rank;
        Shuffle = shuffle;
        Seed = seed;
        DropLast = dropLast;
        SamplesPerRank = dropLast ? count / worldSize : (count + worldSize - 1) / worldSize;
        if (SamplesPerRank == 0)
            throw new ArgumentOutOfRangeException(nameof(dropLast), $"DistributedSampler: dropping the tail of {count} samples over {worldSize} ranks leaves none per rank.");
    }

    /// <summary>Samples in the dataset.</summary>
    public int Count { get; }

    /// <summary>Number of ranks.</summary>
    public int WorldSize { get; }

    /// <summary>This rank.</summary>
    public int Rank { get; }

    /// <summary>Whether every epoch is shuffled.</summary>
    public bool Shuffle { get; }

    /// <summary>The shared seed.</summary>
    public int Seed { get; }

    /// <summary>Whether the uneven tail is dropped (otherwise padded).</summary>
    public bool DropLast { get; }

    /// <summary>Indices each rank gets per epoch.</summary>
    public int SamplesPerRank { get; }

    /// <summary>The epoch's order of all <see cref="Count"/> indices before padding or dropping (the same on every rank).</summary>
    /// <param name="epoch">0-based epoch.</param>
    public int[] EpochOrder(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var order = Enumerable.Range(0, Count).ToArray();
        if (!Shuffle) return order;
        // SplitMix64 drives a Fisher-Yates shuffle: the same order on every rank, runtime and machine.
        ulong state = unchecked((ulong)(uint)Seed * 0x9E3779B97F4A7C15UL + (ulong)epoch + 1);
        for (int i = Count - 1; i > 0; i--)
        {
            state = unchecked(state + 0x9E3779B97F4A7C15UL);
            ulong z = state;
            z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
            z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
            z ^= z >> 31;
            int j = (int)(z % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>This rank's indices for <paramref name="epoch"/>, <see cref="SamplesPerRank"/> of them.</summary>
    /// <param name="epoch">0-based epoch.</param>
    public int[] Indices(int epoch)
    {
        var order = EpochOrder(epoch);
        var result = new int[SamplesPerRank];
        for (int k = 0; k < SamplesPerRank; k++)
            result[k] = order[(Rank + k * WorldSize) % Count]; // positions past the end wrap around: the padding
        return result;
    }
}
