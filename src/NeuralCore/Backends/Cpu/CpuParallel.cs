using System.Runtime.CompilerServices;

namespace NeuralCore.Backends.Cpu;

/// <summary>
/// Deterministic data-parallel loop used by the CPU backend.
/// </summary>
/// <remarks>
/// <para>
/// Determinism contract: <see cref="For{TState}(int, long, TState, Action{int, TState})"/> only decides
/// <em>which thread</em> runs a given index, never <em>what</em> that index computes. Callers partition their
/// work into a fixed set of indices that depends only on the problem shape (never on the thread count), and
/// every index is computed by the same code with the same inputs. Consequently results are bit-identical for
/// any <see cref="MaxDegreeOfParallelism"/>, including 1.
/// </para>
/// <para>
/// Implementation: a small set of dedicated background worker threads (created lazily, one fewer than the
/// degree of parallelism because the calling thread also works). <c>For</c> hands indices out dynamically
/// via an interlocked counter, which load-balances uneven items without affecting results; <c>ForRange</c>
/// gives each thread one contiguous range (static schedule) for callers that reuse per-thread setup across
/// consecutive indices or want the same thread to touch the same data on every call. A dispatch allocates
/// nothing: the body delegate and a pointer to the caller's by-value state are stored in static fields and
/// invoked through a generic function pointer, so no closure or boxing is needed. Only one dispatch owns
/// the pool at a time; a nested or concurrent call (e.g. a parallel body that itself calls <c>For</c>)
/// simply runs inline on its own thread, which is always correct.
/// </para>
/// </remarks>
internal static unsafe class CpuParallel
{
    /// <summary>
    /// Below this much total work (roughly "flops", as estimated by the caller) the loop runs inline: waking
    /// a worker costs on the order of a few microseconds, which is ~100K flops of single-core SIMD work.
    /// </summary>
    private const long InlineWorkThreshold = 64 * 1024;

    private static int s_maxDegreeOfParallelism = Environment.ProcessorCount;

    /// <summary>
    /// Maximum number of threads (including the caller) used by the library. Defaults to
    /// <see cref="Environment.ProcessorCount"/>; settable (e.g. by tests). Must be at least 1.
    /// </summary>
    public static int MaxDegreeOfParallelism
    {
        get => Volatile.Read(ref s_maxDegreeOfParallelism);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            Volatile.Write(ref s_maxDegreeOfParallelism, value);
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/>(i) for every i in [0, <paramref name="count"/>), possibly in parallel.
    /// Runs inline when <paramref name="count"/> is 1, when <see cref="MaxDegreeOfParallelism"/> is 1, or when
    /// <paramref name="count"/> * <paramref name="workPerItem"/> is small.
    /// </summary>
    /// <param name="count">Number of indices.</param>
    /// <param name="workPerItem">Estimated cost of one index (e.g. flops); only used for the inline decision.</param>
    /// <param name="body">The loop body; must not depend on which thread runs it.</param>
    public static void For(int count, long workPerItem, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        For(count, workPerItem, body, static (i, b) => b(i));
    }

    /// <summary>
    /// Allocation-free variant: <paramref name="state"/> is passed to every invocation of
    /// <paramref name="body"/>, so callers can use a <c>static</c> lambda (no closure).
    /// Indices are claimed dynamically (an interlocked counter), which balances uneven items.
    /// </summary>
    /// <typeparam name="TState">State type; typically a small struct describing the job.</typeparam>
    /// <param name="count">Number of indices.</param>
    /// <param name="workPerItem">Estimated cost of one index (e.g. flops); only used for the inline decision.</param>
    /// <param name="state">State forwarded to the body.</param>
    /// <param name="body">The loop body; must not depend on which thread runs it.</param>
    public static void For<TState>(int count, long workPerItem, TState state, Action<int, TState> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (count <= 0)
        {
            return;
        }

        int threads = ThreadsFor(count, workPerItem);
        if (threads <= 1 || !WorkerPool.TryAcquire())
        {
            for (int i = 0; i < count; i++)
            {
                body(i, state);
            }

            return;
        }

        try
        {
            // `state` is a by-value parameter living in this frame, which stays alive (blocked in Run) until
            // every worker has checked out, so handing its address to the workers is safe. Any object
            // references inside it are reported to the GC by this frame.
            WorkerPool.Run(count, threads, &InvokeDynamic<TState>, body, Unsafe.AsPointer(ref state));
        }
        finally
        {
            WorkerPool.Release();
        }
    }

    /// <summary>
    /// Range variant with a static schedule: [0, <paramref name="count"/>) is split into one contiguous,
    /// balanced range per participating thread and <paramref name="body"/>(start, end, state) is called once
    /// per non-empty range (once with the whole range when running inline).
    /// </summary>
    /// <remarks>
    /// Use it when consecutive indices share setup work (e.g. a packed GEMM panel reused by the next item) or
    /// when cache affinity matters: the same thread gets the same range on every call with the same count,
    /// so data it wrote last time (e.g. its rows of C) is still in its own cache. As with
    /// <see cref="For{TState}(int, long, TState, Action{int, TState})"/>, the indices are the fixed partition;
    /// the body must compute each index identically whichever range it falls into.
    /// </remarks>
    /// <typeparam name="TState">State type; typically a small struct describing the job.</typeparam>
    /// <param name="count">Number of indices.</param>
    /// <param name="workPerItem">Estimated cost of one index (e.g. flops); only used for the inline decision.</param>
    /// <param name="state">State forwarded to the body.</param>
    /// <param name="body">Called with a half-open index range [start, end).</param>
    public static void ForRange<TState>(int count, long workPerItem, TState state, Action<int, int, TState> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (count <= 0)
        {
            return;
        }

        int threads = ThreadsFor(count, workPerItem);
        if (threads <= 1 || !WorkerPool.TryAcquire())
        {
            body(0, count, state);
            return;
        }

        try
        {
            WorkerPool.Run(count, threads, &InvokeRange<TState>, body, Unsafe.AsPointer(ref state));
        }
        finally
        {
            WorkerPool.Release();
        }
    }

    private static int ThreadsFor(int count, long workPerItem)
    {
        // Compare in double so huge count * workPerItem cannot overflow.
        if ((double)count * Math.Max(workPerItem, 0) < InlineWorkThreshold)
        {
            return 1;
        }

        return Math.Min(MaxDegreeOfParallelism, count);
    }

    private static void InvokeDynamic<TState>(object body, void* state, int participant, int participants)
    {
        var action = Unsafe.As<Action<int, TState>>(body);
        int i;
        while ((i = WorkerPool.ClaimIndex()) >= 0)
        {
            action(i, Unsafe.AsRef<TState>(state));
        }
    }

    private static void InvokeRange<TState>(object body, void* state, int participant, int participants)
    {
        // Balanced contiguous split: range sizes differ by at most one.
        int count = WorkerPool.Count;
        int start = (int)((long)count * participant / participants);
        int end = (int)((long)count * (participant + 1) / participants);
        if (start < end)
        {
            Unsafe.As<Action<int, int, TState>>(body)(start, end, Unsafe.AsRef<TState>(state));
        }
    }

    /// <summary>The process-wide set of worker threads and the single job they share.</summary>
    private static class WorkerPool
    {
        private static int s_busy;
        private static Worker[] s_workers = [];

        // The current job. Written by the owning caller before workers are signalled (Set() is a full fence)
        // and only read by workers between their wake-up and their check-out.
        private static delegate*<object, void*, int, int, void> s_invoker;
        private static object? s_body;
        private static void* s_state;
        private static int s_count;
        private static int s_participants;
        private static int s_next;
        private static int s_pendingWorkers;
        private static Exception? s_error;

        /// <summary>Number of indices of the current job.</summary>
        public static int Count => s_count;

        public static bool TryAcquire() => Interlocked.CompareExchange(ref s_busy, 1, 0) == 0;

        public static void Release() => Volatile.Write(ref s_busy, 0);

        /// <summary>Next unclaimed index of the current job, or -1 when all are taken.</summary>
        public static int ClaimIndex()
        {
            int i = Interlocked.Increment(ref s_next) - 1;
            return i < s_count ? i : -1;
        }

        /// <summary>
        /// Runs <paramref name="invoker"/> once on each of <paramref name="participants"/> threads: the caller is
        /// participant 0, worker w is participant w + 1.
        /// </summary>
        public static void Run(int count, int participants, delegate*<object, void*, int, int, void> invoker, object body, void* state)
        {
            int helpers = participants - 1;
            EnsureWorkers(helpers);
            s_invoker = invoker;
            s_body = body;
            s_state = state;
            s_count = count;
            s_participants = participants;
            s_error = null;
            s_next = 0;
            Volatile.Write(ref s_pendingWorkers, helpers);
            for (int w = 0; w < helpers; w++)
            {
                s_workers[w].Wake();
            }

            Participate(0);

            // Wait until every signalled worker has checked out: only then may the job fields (and the
            // caller's state, whose address they hold) be reused. Workers spin before blocking, so in
            // back-to-back dispatches this wait is short.
            SpinWait spin = default;
            while (Volatile.Read(ref s_pendingWorkers) != 0)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }

            s_body = null;
            s_state = null;
            Exception? error = s_error;
            s_error = null;
            if (error is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
            }
        }

        private static void Participate(int participant)
        {
            try
            {
                s_invoker(s_body!, s_state, participant, s_participants);
            }
            catch (Exception ex)
            {
                Interlocked.CompareExchange(ref s_error, ex, null);
                // Stop handing out further dynamic indices; already-running ones finish normally.
                Volatile.Write(ref s_next, s_count);
            }
        }

        private static void EnsureWorkers(int helpers)
        {
            // Only called while holding s_busy, so no other thread grows the array concurrently.
            if (s_workers.Length >= helpers)
            {
                return;
            }

            var grown = new Worker[helpers];
            Array.Copy(s_workers, grown, s_workers.Length);
            for (int w = s_workers.Length; w < helpers; w++)
            {
                grown[w] = new Worker(w + 1);
            }

            s_workers = grown;
        }

        private sealed class Worker
        {
            // Spinning before blocking lets consecutive dispatches wake the worker without a kernel
            // transition; an idle worker eventually blocks and costs nothing.
            private readonly ManualResetEventSlim _signal = new(false, spinCount: 2047);
            private readonly int _participant;

            public Worker(int participant)
            {
                _participant = participant;
                var thread = new Thread(Loop)
                {
                    IsBackground = true,
                    Name = $"NeuralCore CPU worker {participant}",
                };
                thread.Start();
            }

            public void Wake() => _signal.Set();

            private void Loop()
            {
                while (true)
                {
                    _signal.Wait();
                    // Reset before checking out: the next Set() can only happen after the owner has seen
                    // this worker's check-out, so a wake-up can never be lost.
                    _signal.Reset();
                    Participate(_participant);
                    Interlocked.Decrement(ref s_pendingWorkers);
                }
            }
        }
    }
}
