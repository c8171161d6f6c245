using System.Diagnostics;
using System.Threading.Channels;
using Prometheus;

namespace NeuralCore.Serving.Hosting;

/// <summary>Dynamic micro-batching of one model version's requests (as Triton's dynamic batcher does).</summary>
public sealed record BatchingOptions
{
    /// <summary>Most rows (instances) one forward pass takes; 32 by default. A request with more rows runs alone.</summary>
    public int MaxBatchSize { get; init; } = 32;

    /// <summary>How long the first request of a batch waits for others; 1 ms by default.</summary>
    public TimeSpan MaxQueueDelay { get; init; } = TimeSpan.FromMilliseconds(1);
}

/// <summary>
/// Coalesces the requests of one loaded version into one forward pass: requests queue; one loop takes the first,
/// gathers more until <see cref="BatchingOptions.MaxBatchSize"/> rows or <see cref="BatchingOptions.MaxQueueDelay"/>,
/// concatenates their rows, runs the model once, and hands each request its rows of the output. Only requests whose
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
    readonly Channel<Item> queue = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });
    readonly Task loop;

    public MicroBatcher(LoadedModel model, BatchingOptions options)
    {
        if (options.MaxBatchSize < 1) throw new ArgumentException($"MaxBatchSize must be at least 1, not {options.MaxBatchSize}.", nameof(options));
        if (options.MaxQueueDelay < TimeSpan.Zero) throw new ArgumentException("MaxQueueDelay must not be negative.", nameof(options));
        this.model = model;
        this.options = options;
        loop = Task.Run(RunAsync);
    }

    /// <summary>Queues <paramref name="input"/> and completes with its rows of the output.</summary>
    public Task<(long[] Shape, float[] Values)> Enqueue(Tensor input)
    {
        var done = new TaskCompletionSource<(long[] Shape, float[] Values)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var item = new Item(input.ToArray<float>(), input.Shape.ToArray(), Stopwatch.GetTimestamp(), done);
        if (!queue.Writer.TryWrite(item)) done.SetException(new ObjectDisposedException(nameof(MicroBatcher), "The host is stopping."));
        return done.Task;
    }

    async Task RunAsync()
    {
        var reader = queue.Reader;
        var batch = new List<Item>();
        Item? carried = null;
        while (carried is not null || await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            if (carried is null && !reader.TryRead(out carried)) continue;
            batch.Clear();
            batch.Add(carried);
            carried = null;
            long rows = batch[0].Shape[0];
            var deadline = Stopwatch.GetTimestamp() + (long)(options.MaxQueueDelay.TotalSeconds * Stopwatch.Frequency);
            while (rows < options.MaxBatchSize)
            {
                if (!reader.TryRead(out var next))
                {
                    var wait = TimeSpan.FromSeconds((double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);
                    if (wait <= TimeSpan.Zero) break;
                    using var timer = new CancellationTokenSource(wait);
                    try
                    {
                        if (!await reader.WaitToReadAsync(timer.Token).ConfigureAwait(false)) break;
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
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
    }

    long forwardPasses;

    /// <summary>Forward passes run so far (fewer than requests when requests were coalesced).</summary>
    internal long ForwardPasses => Interlocked.Read(ref forwardPasses);

    void Run(List<Item> batch, long rows)
    {
        Interlocked.Increment(ref forwardPasses);
        long now = Stopwatch.GetTimestamp();
        foreach (var item in batch) QueueTime.WithLabels(model.Info.Name).Observe(Stopwatch.GetElapsedTime(item.Enqueued, now).TotalSeconds);
        BatchSizes.WithLabels(model.Info.Name).Observe(rows);
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
            var (outShape, values) = model.PredictServed(Tensor.FromArray(data, shape), batch.Select(i => i.Shape[0]).ToArray());
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
        queue.Writer.TryComplete();
        loop.Wait(TimeSpan.FromSeconds(5));
    }
}
