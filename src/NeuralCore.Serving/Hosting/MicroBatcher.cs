using System.Diagnostics;
using System.Threading.Channels;
using Prometheus;

namespace NeuralCore.Serving.Hosting;

/// <summary>Dynamic micro-batching of one model version's requests (as Triton's dynamic batcher does).</summary>
public sealed record BatchingOptions
{
    /// <summary>Most rows (instances) one forward pass takes; 32 by default. A request with more rows runs alone.</summary>
    public int MaxBatchSize { get; init; } = 32;

    /// <summary>
    /// Longest the first request of a batch waits for others; 1 ms by default. Waited only without
    /// <see cref="DispatchWhenIdle"/>.
    /// </summary>
    public TimeSpan MaxQueueDelay { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// Adaptive dispatch (true by default): a batch runs as soon as the queue is empty instead of waiting out
    /// <see cref="MaxQueueDelay"/>, and a request that finds the batcher idle and the queue empty runs at once on its
    /// own thread, without a hand-off to the batching loop. Requests still coalesce under load: those that arrive
    /// while a forward pass runs queue up and form the next batch. False: every batch waits up to
    /// <see cref="MaxQueueDelay"/> for companions, which only pays when a forward pass costs much more than the wait.
    /// </summary>
    public bool DispatchWhenIdle { get; init; } = true;
}

/// <summary>
/// Coalesces the requests of one loaded version into one forward pass: requests queue; one loop takes the first,
/// gathers more until <see cref="BatchingOptions.MaxBatchSize"/> rows, or <see cref="BatchingOptions.MaxQueueDelay"/>,
/// or (with <see cref="BatchingOptions.DispatchWhenIdle"/>) until the queue is empty; concatenates their rows, runs the model once, and hands each request its rows of the output. Only requests whose
/// instance shape matches are put together. One forward pass at a time per version.
/// </summary>
internal sealed class MicroBatcher : IDisposable
{
    static readonly Histogram BatchSizes = Metrics.CreateHistogram(
        "neuralcore_batch_size", "Rows per forward pass with micro-batching, by model.",
        new HistogramConfiguration { LabelNames = ["model"], Buckets = [1, 2, 4, 8, 16, 32, 64, 128, 256] });

    static readonly Histogram QueueTime = Metrics.CreateHistogram(
        "neuralcore_queue_seconds", "Time a request waited in the micro-batching queue before its forward pass, by model.",
        new HistogramConfiguration { LabelNames = ["model"], Buckets = Histogram.ExponentialBuckets(0.00001, 2, 16) });

    sealed record Item(float[] Values, long[] Shape, long Enqueued, TaskCompletionSource<(long[] Shape, float[] Values)> Done);

    readonly LoadedModel model;
    readonly BatchingOptions options;
    readonly Histogram.Child batchSizes, queueTime;   // this model's series, looked up once
    readonly Channel<Item> queue = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });
    readonly SemaphoreSlim pass = new(1, 1);   // held while a batch is gathered and run, or a request runs at once
    readonly Task loop;
    CancellationTokenSource? timer;   // the loop's, reused while it has not fired
    volatile bool disposed;

    public MicroBatcher(LoadedModel model, BatchingOptions options)
    {
        if (options.MaxBatchSize < 1) throw new ArgumentException($"MaxBatchSize must be at least 1, not {options.MaxBatchSize}.", nameof(options));
        if (options.MaxQueueDelay < TimeSpan.Zero) throw new ArgumentException("MaxQueueDelay must not be negative.", nameof(options));
        this.model = model;
        this.options = options;
        batchSizes = BatchSizes.WithLabels(model.Info.Name);
        queueTime = QueueTime.WithLabels(model.Info.Name);
        loop = Task.Run(RunAsync);
    }

    int queued;   // items written and not yet read (the single-reader channel does not count them)

    /// <summary>
    /// Queues <paramref name="input"/> and completes with its rows of the output; with
    /// <see cref="BatchingOptions.DispatchWhenIdle"/>, runs it at once when nothing else is queued or running.
    /// </summary>
    public Task<(long[] Shape, float[] Values)> Enqueue(Tensor input)
    {
        if (disposed) return Task.FromException<(long[], float[])>(Stopping());
        if (options.DispatchWhenIdle && Volatile.Read(ref queued) == 0 && pass.Wait(0))
        {
            try
            {
                Interlocked.Increment(ref forwardPasses);
                queueTime.Observe(0);
                batchSizes.Observe(input.Shape[0]);
                return Task.FromResult(model.PredictServed(input, [input.Shape[0]]));
            }
            catch (Exception e)
            {
                return Task.FromException<(long[], float[])>(e);
            }
            finally
            {
                pass.Release();
            }
        }
        var done = new TaskCompletionSource<(long[] Shape, float[] Values)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var item = new Item(input.ToArray<float>(), input.Shape.ToArray(), Stopwatch.GetTimestamp(), done);
        Interlocked.Increment(ref queued);
        if (!queue.Writer.TryWrite(item))
        {
            Interlocked.Decrement(ref queued);
            done.SetException(Stopping());
        }
        return done.Task;
    }

    static ObjectDisposedException Stopping() => new(nameof(MicroBatcher), "The host is stopping.");

    async Task RunAsync()
    {
        var reader = queue.Reader;
        var batch = new List<Item>();
        Item? carried = null;
        while (carried is not null || await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            await pass.WaitAsync().ConfigureAwait(false);
            try
            {
                if (carried is null && !TryRead(reader, out carried)) continue;
                batch.Clear();
                batch.Add(carried);
                carried = null;
                long rows = batch[0].Shape[0];
                long deadline = Stopwatch.GetTimestamp() + (long)(options.MaxQueueDelay.TotalSeconds * Stopwatch.Frequency);
                while (rows < options.MaxBatchSize)
                {
                    if (!TryRead(reader, out var next))
                    {
                        if (options.DispatchWhenIdle) break;
                        if (!await WaitForMoreAsync(reader, deadline).ConfigureAwait(false)) break;
                        continue;
                    }
                    if (rows + next.Shape[0] > options.MaxBatchSize || !next.Shape.AsSpan(1).SequenceEqual(batch[0].Shape.AsSpan(1)))
                    {
                        carried = next;   // starts the next batch
                        break;
                    }
                    batch.Add(next);
                    rows += next.Shape[0];
                }
                Run(batch, rows);
            }
            finally
            {
                pass.Release();
            }
        }
    }

    bool TryRead(ChannelReader<Item> reader, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Item? item)
    {
        if (!reader.TryRead(out item)) return false;
        Interlocked.Decrement(ref queued);
        return true;
    }

    /// <summary>Waits until the queue has an item (true) or <paramref name="deadline"/> passes or the queue is closed (false); throws nothing.</summary>
    async Task<bool> WaitForMoreAsync(ChannelReader<Item> reader, long deadline)
    {
        long left = deadline - Stopwatch.GetTimestamp();
        if (left <= 0) return false;
        if (timer is null || !timer.TryReset())
        {
            timer?.Dispose();
            timer = new CancellationTokenSource();
        }
        // Timers tick in whole milliseconds: round up, so that a wait shorter than one is not skipped.
        timer.CancelAfter(TimeSpan.FromMilliseconds(Math.Ceiling(left * 1000.0 / Stopwatch.Frequency)));
        var wait = reader.WaitToReadAsync(timer.Token).AsTask();
        await ((Task)wait).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return wait.IsCompletedSuccessfully && wait.Result;
    }

    long forwardPasses;

    /// <summary>Forward passes run so far (fewer than requests when requests were coalesced).</summary>
    internal long ForwardPasses => Interlocked.Read(ref forwardPasses);

    static long[] RowsOf(List<Item> batch)
    {
        var rows = new long[batch.Count];
        for (int i = 0; i < rows.Length; i++) rows[i] = batch[i].Shape[0];
        return rows;
    }

    void Run(List<Item> batch, long rows)
    {
        Interlocked.Increment(ref forwardPasses);
        long now = Stopwatch.GetTimestamp();
        foreach (var item in batch) queueTime.Observe(Stopwatch.GetElapsedTime(item.Enqueued, now).TotalSeconds);
        batchSizes.Observe(rows);
        try
        {
            float[] data;
            if (batch.Count == 1) data = batch[0].Values;
            else
            {
                data = new float[batch.Sum(i => i.Values.Length)];
                int at = 0;
                foreach (var item in batch)
                {
                    item.Values.CopyTo(data, at);
                    at += item.Values.Length;
                }
            }
            long[] shape = [rows, .. batch[0].Shape.AsSpan(1)];
            var (outShape, values) = model.PredictServed(Tensor.FromArray(data, shape), RowsOf(batch));
            if (batch.Count == 1)
            {
                batch[0].Done.SetResult((outShape, values));
                return;
            }
            int perRow = (int)(values.Length / rows);
            int offset = 0;
            foreach (var item in batch)
            {
                int n = (int)item.Shape[0] * perRow;
                item.Done.SetResult(([item.Shape[0], .. outShape.AsSpan(1)], values.AsSpan(offset, n).ToArray()));
                offset += n;
            }
        }
        catch (Exception e)
        {
            foreach (var item in batch) item.Done.TrySetException(e);
        }
    }

    public void Dispose()
    {
        disposed = true;
        queue.Writer.TryComplete();
        loop.Wait(TimeSpan.FromSeconds(5));
        timer?.Dispose();
    }
}
