using System.Collections;

namespace NeuralCore.Data;

/// <summary>
/// One epoch of a <see cref="DataLoader"/>: a window of at most <see cref="DataLoader.Prefetch"/> batch tasks
/// started ahead of the consumer, consumed in order. Dispose cancels the window and waits for it to drain,
/// so no assembly work outlives the enumeration.
/// </summary>
internal sealed class DataLoaderEnumerator : IEnumerator<(Tensor Inputs, Tensor Targets)>
{
    readonly DataLoader loader;
    readonly int[][] order;
    readonly long[] starts;
    readonly long epochSeed;
    readonly int batches;
    readonly Queue<Task<(Tensor, Tensor)>> ahead = new();
    readonly CancellationTokenSource cancel = new();
    int nextToStart;
    int consumed;
    bool disposed;
    (Tensor Inputs, Tensor Targets) current;

    internal DataLoaderEnumerator(DataLoader loader, int[][] batches, long epochSeed)
    {
        this.loader = loader;
        order = batches;
        this.epochSeed = epochSeed;
        this.batches = batches.Length;
        starts = new long[batches.Length];
        for (int b = 1; b < batches.Length; b++) starts[b] = starts[b - 1] + batches[b - 1].Length;
    }

    public (Tensor Inputs, Tensor Targets) Current => current;

    object IEnumerator.Current => current;

    public bool MoveNext()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (loader.Workers == 0)
        {
            if (consumed >= batches) return false;
            current = loader.Assemble(order[consumed], starts[consumed], epochSeed, consumed++, CancellationToken.None);
            return true;
        }
        Refill();
        if (ahead.Count == 0) return false;
        var task = ahead.Dequeue();
        consumed++;
        Refill();
        current = task.GetAwaiter().GetResult();
        return true;
    }

    void Refill()
    {
        while (ahead.Count < loader.Prefetch && nextToStart < batches)
        {
            int batch = nextToStart++;
            var token = cancel.Token;
            ahead.Enqueue(Task.Run(() => loader.Assemble(order[batch], starts[batch], epochSeed, batch, token), token));
        }
    }

    public void Reset() => throw new NotSupportedException("A DataLoader epoch cannot be restarted; enumerate the loader again for a new epoch.");

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        cancel.Cancel();
        foreach (var task in ahead)
        {
            try
            {
                task.Wait();
            }
            catch (AggregateException)
            {
                // Work abandoned by the consumer (cancelled or failed): its outcome is no longer wanted.
            }
        }
        ahead.Clear();
        cancel.Dispose();
    }
}
