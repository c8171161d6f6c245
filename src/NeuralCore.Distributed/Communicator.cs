using System.Collections.Concurrent;
using System.Numerics;

namespace NeuralCore.Distributed;

/// <summary>
/// The communicators of this package: <see cref="MpiCommunicator"/> (processes, on Open MPI) and
/// <see cref="InProcessCommunicator"/> (ranks as threads of one process). Each runs its collectives in call order
/// on one dedicated thread, which is what lets gradient averaging overlap the backward pass. The blocking methods
/// here wait for the matching <c>…Async</c> one.
/// </summary>
public abstract class Communicator : ICommunicator
{
    readonly BlockingCollection<Action> work = new();
    readonly Thread worker;
    Exception? failure;
    bool disposed;

    private protected Communicator(TimeSpan timeout, string threadName)
    {
        if (timeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The collective timeout must be positive.");
        Timeout = timeout;
        worker = new Thread(Run) { IsBackground = true, Name = threadName };
        worker.Start();
    }

    /// <summary>The default timeout of a collective: 300 s, or <c>NEURALCORE_COLLECTIVE_TIMEOUT</c> seconds when that variable is set.</summary>
    public static TimeSpan DefaultTimeout =>
        double.TryParse(Environment.GetEnvironmentVariable("NEURALCORE_COLLECTIVE_TIMEOUT"), System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0 ? TimeSpan.FromSeconds(s) : TimeSpan.FromSeconds(300);

    /// <inheritdoc />
    public abstract int Rank { get; }

    /// <inheritdoc />
    public abstract int WorldSize { get; }

    /// <inheritdoc />
    public TimeSpan Timeout { get; }

    void Run()
    {
        foreach (var item in work.GetConsumingEnumerable()) item();
    }

    // Runs action on the communication thread, after every collective queued before it. After a failure every later
    // collective fails at once: the ranks no longer agree on what has been exchanged.
    private protected Task Enqueue(string op, Action action)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        work.Add(() =>
        {
            if (failure is not null)
            {
                done.SetException(new CommunicatorException($"{op}: the communicator of rank {Rank} failed earlier ({failure.Message}).", failure));
                return;
            }
            try
            {
                action();
                done.SetResult();
            }
            catch (Exception e)
            {
                failure = e;
                done.SetException(e);
            }
        });
        return done.Task;
    }

    private protected static void Wait(Task task) => task.GetAwaiter().GetResult();

    /// <inheritdoc />
    public Task AllReduceAsync<T>(T[] buffer, ReduceOp op = ReduceOp.Sum) where T : unmanaged, INumber<T>
    {
        ArgumentNullException.ThrowIfNull(buffer);
        CheckType<T>("AllReduce", op);
        int size = WorldSize;
        return Enqueue("AllReduce", () =>
        {
            if (size > 1) AllReduceCore(buffer, op == ReduceOp.Mean ? ReduceOp.Sum : op);
            if (op == ReduceOp.Mean && size > 1) DivideBy(buffer, size);
        });
    }

    /// <summary>Allreduce in place, waiting for the result (see <see cref="AllReduceAsync{T}"/>).</summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="buffer">Input and output.</param>
    /// <param name="op">How values combine.</param>
    public void AllReduce<T>(T[] buffer, ReduceOp op = ReduceOp.Sum) where T : unmanaged, INumber<T> => Wait(AllReduceAsync(buffer, op));

    /// <inheritdoc />
    public Task BroadcastAsync<T>(T[] buffer, int root = 0) where T : unmanaged, INumber<T>
    {
        ArgumentNullException.ThrowIfNull(buffer);
        CheckType<T>("Broadcast", ReduceOp.Sum);
        if ((uint)root >= (uint)WorldSize)
            throw new ArgumentOutOfRangeException(nameof(root), root, $"Broadcast: the root must be a rank in [0, {WorldSize}).");
        return Enqueue("Broadcast", () => { if (WorldSize > 1) BroadcastCore(buffer, root); });
    }

    /// <summary>Broadcast, waiting for the data (see <see cref="BroadcastAsync{T}"/>).</summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="buffer">Source on the root, destination elsewhere.</param>
    /// <param name="root">The sending rank.</param>
    public void Broadcast<T>(T[] buffer, int root = 0) where T : unmanaged, INumber<T> => Wait(BroadcastAsync(buffer, root));

    /// <inheritdoc />
    public Task AllGatherAsync<T>(T[] send, T[] receive) where T : unmanaged, INumber<T>
    {
        ArgumentNullException.ThrowIfNull(send);
        ArgumentNullException.ThrowIfNull(receive);
        CheckType<T>("AllGather", ReduceOp.Sum);
        if ((long)send.Length * WorldSize != receive.Length)
            throw new ArgumentException($"AllGather: the receive buffer holds {receive.Length} elements; {send.Length} × {WorldSize} ranks = {(long)send.Length * WorldSize} are needed.", nameof(receive));
        return Enqueue("AllGather", () =>
        {
            if (WorldSize > 1) AllGatherCore(send, receive);
            else Array.Copy(send, receive, send.Length);
        });
    }

    /// <summary>Allgather, waiting for the data (see <see cref="AllGatherAsync{T}"/>).</summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="send">This rank's block.</param>
    /// <param name="receive">All blocks in rank order.</param>
    public void AllGather<T>(T[] send, T[] receive) where T : unmanaged, INumber<T> => Wait(AllGatherAsync(send, receive));

    /// <inheritdoc />
    public Task ReduceScatterAsync<T>(T[] send, T[] receive, ReduceOp op = ReduceOp.Sum) where T : unmanaged, INumber<T>
    {
        ArgumentNullException.ThrowIfNull(send);
        ArgumentNullException.ThrowIfNull(receive);
        CheckType<T>("ReduceScatter", op);
        if ((long)receive.Length * WorldSize != send.Length)
            throw new ArgumentException($"ReduceScatter: the send buffer holds {send.Length} elements; {receive.Length} × {WorldSize} ranks = {(long)receive.Length * WorldSize} are needed.", nameof(send));
        int size = WorldSize;
        return Enqueue("ReduceScatter", () =>
        {
            if (size > 1) ReduceScatterCore(send, receive, op == ReduceOp.Mean ? ReduceOp.Sum : op);
            else Array.Copy(send, receive, receive.Length);
            if (op == ReduceOp.Mean && size > 1) DivideBy(receive, size);
        });
    }

    /// <summary>Reduce-scatter, waiting for the result (see <see cref="ReduceScatterAsync{T}"/>).</summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="send">The full-length input.</param>
    /// <param name="receive">This rank's block of the result.</param>
    /// <param name="op">How values combine.</param>
    public void ReduceScatter<T>(T[] send, T[] receive, ReduceOp op = ReduceOp.Sum) where T : unmanaged, INumber<T> => Wait(ReduceScatterAsync(send, receive, op));

    /// <inheritdoc />
    public Task BarrierAsync() => Enqueue("Barrier", () => { if (WorldSize > 1) BarrierCore(); });

    /// <summary>Waits until every rank has reached the barrier.</summary>
    public void Barrier() => Wait(BarrierAsync());

    static void CheckType<T>(string op, ReduceOp reduce)
    {
        var t = typeof(T);
        if (t != typeof(float) && t != typeof(double) && t != typeof(int) && t != typeof(long))
            throw new ArgumentException($"{op}: element type {t.Name} is not supported; use float, double, int or long.");
        if (reduce == ReduceOp.Mean && (t == typeof(int) || t == typeof(long)))
            throw new ArgumentException($"{op}: ReduceOp.Mean needs a floating-point element type, got {t.Name}.");
        if (!Enum.IsDefined(reduce))
            throw new ArgumentOutOfRangeException(nameof(reduce), reduce, $"{op}: unknown reduce operation.");
    }

    static void DivideBy<T>(T[] buffer, int size) where T : INumber<T>
    {
        var d = T.CreateChecked(size);
        for (int i = 0; i < buffer.Length; i++) buffer[i] /= d;
    }

    // Each core runs on the communication thread with WorldSize > 1 and op one of Sum, Max, Min.
    private protected abstract void AllReduceCore<T>(T[] buffer, ReduceOp op) where T : unmanaged, INumber<T>;

    private protected abstract void BroadcastCore<T>(T[] buffer, int root) where T : unmanaged;

    private protected abstract void AllGatherCore<T>(T[] send, T[] receive) where T : unmanaged;

    private protected abstract void ReduceScatterCore<T>(T[] send, T[] receive, ReduceOp op) where T : unmanaged, INumber<T>;

    private protected abstract void BarrierCore();

    /// <summary>Runs on the communication thread after the last collective, before it stops.</summary>
    private protected virtual void ShutdownCore() { }

    /// <summary>Waits for the queued collectives, shuts the communicator down (MPI: <c>MPI_Finalize</c>) and stops its thread.</summary>
    public void Dispose()
    {
        if (disposed) return;
        var shutdown = Enqueue("Shutdown", ShutdownCore);
        disposed = true;
        work.CompleteAdding();
        try
        {
            Wait(shutdown);
        }
        catch (CommunicatorException)
        {
            // An earlier failure was reported to the collective that hit it.
        }
        worker.Join();
        work.Dispose();
        GC.SuppressFinalize(this);
    }
}
