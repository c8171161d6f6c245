using System.Collections;
using System.Runtime.ExceptionServices;

namespace NeuralCore.Data;

/// <summary>
/// Iterates a <see cref="Dataset"/> in mini-batches, as PyTorch's <c>DataLoader</c>: optional shuffling,
/// batches assembled in parallel and prefetched in the background while the consumer trains.
/// </summary>
/// <remarks>
/// <para>
/// Each enumeration is one epoch. When it starts (on the calling thread, so ordered with the caller's other
/// draws) it takes a permutation from the generator when <see cref="Shuffle"/> is set, and then always one
/// 64-bit epoch seed. Item j of the epoch (its position in the epoch order) is built under
/// <see cref="TransformContext"/> with <c>new Generator(f(epochSeed, j))</c>; a dataset without per-item
/// transforms is asked for whole batches with <see cref="Dataset.GetBatch"/> under a generator derived from
/// (epoch seed, batch index). Same generator seed, therefore identical batches, whatever
/// <see cref="Workers"/> and <see cref="Prefetch"/> are, and the next epoch differs.
/// </para>
/// <para>
/// With <see cref="Workers"/> &gt; 0 up to <see cref="Prefetch"/> batches are assembled ahead on thread-pool
/// tasks (the items of one batch on up to <see cref="Workers"/> threads). Disposing the enumerator (as
/// <c>foreach</c> does on <c>break</c> or an exception) cancels the work ahead and waits for it to stop.
/// An exception thrown while assembling a batch is rethrown to the consumer when it reaches that batch.
/// With <see cref="Workers"/> = 0 every batch is assembled on the consuming thread when it is requested.
/// </para>
/// </remarks>
public sealed class DataLoader : IEnumerable<(Tensor Inputs, Tensor Targets)>
{
    readonly Generator? generator;

    /// <summary>Creates a loader over <paramref name="dataset"/>.</summary>
    /// <param name="dataset">The dataset to iterate.</param>
    /// <param name="batchSize">Items per batch (the last batch may be smaller unless <paramref name="dropLast"/>).</param>
    /// <param name="shuffle">Visit the items in a new random order each epoch.</param>
    /// <param name="dropLast">Skip the last batch when it has fewer than <paramref name="batchSize"/> items.</param>
    /// <param name="generator">Source of the shuffling order and epoch seeds; <see cref="Rng.Default"/> when null.</param>
    /// <param name="prefetch">Batches assembled ahead of the consumer (at least 1).</param>
    /// <param name="workers">Threads assembling the items of one batch; 0 assembles on the consuming thread.
    /// -1 (the default) means the processor count, at most 8.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range.</exception>
    public DataLoader(Dataset dataset, int batchSize = 1, bool shuffle = false, bool dropLast = false,
        Generator? generator = null, int prefetch = 2, int workers = -1)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(prefetch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, -1);
        Dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        Prefetch = prefetch;
        Workers = workers == -1 ? Math.Clamp(Environment.ProcessorCount, 1, 8) : workers;
        this.generator = generator;
    }

    /// <summary>
    /// Creates a loader whose batches are drawn by <paramref name="batchSampler"/> (for example Poisson sampling, where
    /// batch sizes vary and a batch may be empty: an empty batch has inputs and targets with 0 rows).
    /// </summary>
    /// <param name="dataset">The dataset to iterate.</param>
    /// <param name="batchSampler">Chooses each epoch's batches of indices.</param>
    /// <param name="generator">Source of the sampler's randomness and the epoch seeds; <see cref="Rng.Default"/> when null.</param>
    /// <param name="prefetch">Batches assembled ahead of the consumer (at least 1).</param>
    /// <param name="workers">Threads assembling the items of one batch, as in the other constructor.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range.</exception>
    public DataLoader(Dataset dataset, IBatchSampler batchSampler, Generator? generator = null, int prefetch = 2, int workers = -1)
        : this(dataset, Math.Max(1, batchSampler?.ExpectedBatchSize(dataset?.Count ?? 0) ?? 1), false, false, generator, prefetch, workers)
    {
        ArgumentNullException.ThrowIfNull(batchSampler);
        BatchSampler = batchSampler;
    }

    /// <summary>The sampler choosing the batches, or null for consecutive batches of <see cref="BatchSize"/>.</summary>
    public IBatchSampler? BatchSampler { get; }

    /// <summary>The dataset iterated.</summary>
    public Dataset Dataset { get; }

    /// <summary>Items per batch (with a <see cref="BatchSampler"/>, the expected batch size rounded, at least 1).</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch visits the items in a new random order.</summary>
    public bool Shuffle { get; }

    /// <summary>Whether an incomplete last batch is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>Batches assembled ahead of the consumer.</summary>
    public int Prefetch { get; }

    /// <summary>Threads assembling one batch's items; 0 means everything runs on the consuming thread.</summary>
    public int Workers { get; }

    /// <summary>The generator shuffling and seeding epochs (<see cref="Rng.Default"/> unless one was given).</summary>
    public Generator Generator => generator ?? Rng.Default;

    /// <summary>Batches per epoch.</summary>
    public int Count
    {
        get
        {
            int n = Dataset.Count;
            if (BatchSampler is { } sampler) return sampler.BatchesPerEpoch(n);
            return DropLast ? n / BatchSize : (int)(((long)n + BatchSize - 1) / BatchSize);
        }
    }

    /// <summary>Starts an epoch: draws its order and seed now, then yields its batches.</summary>
    /// <returns>An enumerator over this epoch's batches; dispose it to stop early.</returns>
    public IEnumerator<(Tensor Inputs, Tensor Targets)> GetEnumerator()
    {
        var gen = Generator;
        int n = Dataset.Count;
        int[][] batches;
        if (BatchSampler is { } sampler)
        {
            batches = sampler.Sample(n, gen).ToArray();
            foreach (var b in batches)
                foreach (var i in b)
                    if ((uint)i >= (uint)n)
                        throw new InvalidOperationException($"DataLoader: the batch sampler {sampler.GetType().Name} returned index {i} for a dataset of {n} items.");
        }
        else
        {
            int[] order = Shuffle ? gen.Permutation(n) : Enumerable.Range(0, n).ToArray();
            batches = new int[Count][];
            for (int b = 0; b < batches.Length; b++)
                batches[b] = order.AsSpan(b * BatchSize, Math.Min(BatchSize, n - b * BatchSize)).ToArray();
        }
        long epochSeed = unchecked((long)gen.NextUInt64());
        return new DataLoaderEnumerator(this, batches, epochSeed);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Builds batch <paramref name="batch"/> of an epoch; safe to call from several threads at once.</summary>
    /// <param name="indices">The batch's dataset indices.</param>
    /// <param name="start">Position of the batch's first item in the epoch (seeds per-item transforms).</param>
    /// <param name="epochSeed">The epoch's seed.</param>
    /// <param name="batch">The batch's index in the epoch.</param>
    /// <param name="cancel">Stops the assembly.</param>
    internal (Tensor Inputs, Tensor Targets) Assemble(int[] indices, long start, long epochSeed, int batch, CancellationToken cancel)
    {
        int length = indices.Length;
        if (length == 0)
        {
            // An empty batch keeps the item shapes: the first item's batch, cut to 0 rows.
            if (Dataset.Count == 0) throw new InvalidOperationException("DataLoader: cannot shape an empty batch of an empty dataset.");
            var (x0, y0) = Dataset.GetBatch([0]);
            return (x0.Narrow(0, 0, 0), y0.Narrow(0, 0, 0));
        }
        if (!Dataset.HasItemTransform)
        {
            using (TransformContext.Use(new Generator(TransformContext.DeriveSeed(epochSeed, 1, batch))))
                return Dataset.GetBatch(indices);
        }
        var inputs = new Tensor[length];
        var targets = new Tensor[length];
        void Item(int j)
        {
            using (TransformContext.Use(new Generator(TransformContext.DeriveSeed(epochSeed, 0, start + j))))
                (inputs[j], targets[j]) = Dataset[indices[j]];
        }
        if (Workers <= 1 || length == 1)
        {
            for (int j = 0; j < length; j++)
            {
                cancel.ThrowIfCancellationRequested();
                Item(j);
            }
        }
        else
        {
            var options = new ParallelOptions { MaxDegreeOfParallelism = Workers, CancellationToken = cancel };
            try
            {
                Parallel.For(0, length, options, Item);
            }
            catch (AggregateException e)
            {
                // Surface the item's own exception, as the sequential path does, rather than Parallel's wrapper.
                ExceptionDispatchInfo.Throw(e.Flatten().InnerExceptions[0]);
            }
        }
        return (Tensor.Stack(inputs), Tensor.Stack(targets));
    }
}
