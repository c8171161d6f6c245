using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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
/// degree of parallelism because the calling thread also works). Every dispatch is a set of indices split into
/// one contiguous share per thread, each claimed through its own interlocked counter: a thread claims its own
/// share in order and then helps with the others, which load-balances uneven items without affecting results
/// and keeps each thread on the same data from call to call when all are on time. <c>For</c> claims single
/// indices; <c>ForRange</c> has one index per thread (a contiguous range), for callers that reuse per-thread
/// setup across consecutive indices. The caller claims work as soon as it has signalled the workers, and a
/// worker only joins while unclaimed work is left, so a worker that wakes late (parked, or descheduled on a
/// busy machine) costs the caller nothing: the caller runs what is left and does not wait for it. A dispatch
/// allocates nothing: the body delegate and a pointer to the caller's by-value state are stored in static
/// fields and invoked through a generic function pointer, so no closure or boxing is needed. Only one
/// dispatch owns the pool at a time; a nested or concurrent call (e.g. a parallel body that itself calls
/// <c>For</c>) simply runs inline on its own thread, which is always correct.
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
            WorkerPool.Run(count, count, threads, &InvokeDynamic<TState>, body, Unsafe.AsPointer(ref state));
        }
        finally
        {
            WorkerPool.Release();
        }
    }

    /// <summary>
    /// Range variant: [0, <paramref name="count"/>) is split into one contiguous, balanced range per
    /// participating thread and <paramref name="body"/>(start, end, state) is called once per non-empty range
    /// (once with the whole range when running inline).
    /// </summary>
    /// <remarks>
    /// Use it when consecutive indices share setup work (e.g. a packed GEMM panel reused by the next item).
    /// The ranges depend only on <paramref name="count"/> and the degree of parallelism. Each thread takes its
    /// own range when it is on time (the same thread gets the same range on every call with the same count,
    /// so data it wrote last time is still in its own caches); a range whose worker is late is run by a
    /// thread that has finished its own. As with <c>For</c>, the indices are the fixed partition; the body
    /// must compute each index identically
    /// whichever range it falls into.
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
            WorkerPool.Run(threads, count, threads, &InvokeRange<TState>, body, Unsafe.AsPointer(ref state));
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

    private static void InvokeDynamic<TState>(object body, void* state, int home)
    {
        var action = Unsafe.As<Action<int, TState>>(body);
        int i, visited = 0;
        while ((i = WorkerPool.ClaimIndex(home, ref visited)) >= 0)
        {
            action(i, Unsafe.AsRef<TState>(state));
        }
    }

    private static void InvokeRange<TState>(object body, void* state, int home)
    {
        // The ranges are a fixed balanced split of [0, RangeCount) into Items pieces (sizes differ by at most
        // one); which thread claims a piece does not change the piece.
        var action = Unsafe.As<Action<int, int, TState>>(body);
        int count = WorkerPool.RangeCount, pieces = WorkerPool.Items;
        int k, visited = 0;
        while ((k = WorkerPool.ClaimIndex(home, ref visited)) >= 0)
        {
            int start = (int)((long)count * k / pieces);
            int end = (int)((long)count * (k + 1) / pieces);
            if (start < end)
            {
                action(start, end, Unsafe.AsRef<TState>(state));
            }
        }
    }

    /// <summary>The process-wide set of worker threads and the single job they share.</summary>
    /// <remarks>
    /// A job's <see cref="Items"/> indices are split into one contiguous share per participant (the caller is
    /// participant 0, worker w is participant w + 1), each with its own interlocked claim counter. A thread
    /// claims the indices of its own share in order, then helps with the other shares' unclaimed indices. When
    /// every thread is on time this is a static schedule (the same thread gets the same share on every call
    /// with the same count, so data it wrote last time is still in its own caches); when a worker is late, the
    /// caller takes over its share's remaining indices. A worker joins only while the job is open: once the
    /// caller finds nothing left to claim it closes the job and waits only for the workers inside it (each
    /// finishing the index it holds); a worker that wakes after the close does not touch the job at all. A
    /// late or descheduled worker therefore never delays the caller, and every index runs exactly once
    /// whoever runs it.
    /// </remarks>
    private static class WorkerPool
    {
        /// <summary>Bit of <see cref="s_state"/> set while no job is open; the low bits count workers inside the job.</summary>
        private const int Closed = 1 << 30;

        private static int s_busy;
        private static Worker[] s_workers = [];

        // Open/closed flag plus the number of workers inside the current job. Workers enter with a CAS that
        // fails once Closed is set, so after the owner sets Closed and sees the count drop to zero no thread
        // reads the job fields below until the next job is opened.
        private static int s_state = Closed;

        // The current job. Written by the owning caller before the job is opened (an interlocked write) and
        // only read by threads inside the job.
        private static delegate*<object, void*, int, void> s_invoker;
        private static object? s_body;
        private static void* s_jobState;
        private static int s_items;
        private static int s_rangeCount;
        private static int s_shareCount;
        private static Share[] s_shares = new Share[1];
        private static Exception? s_error;

        /// <summary>One participant's contiguous share of the indices, padded to its own cache lines.</summary>
        [StructLayout(LayoutKind.Explicit, Size = 128)]
        private struct Share
        {
            [FieldOffset(64)] public int Next;
            [FieldOffset(68)] public int End;
        }

        /// <summary>Number of claimable indices of the current job.</summary>
        public static int Items => s_items;

        /// <summary>For a range job: the length of the index space the <see cref="Items"/> pieces split.</summary>
        public static int RangeCount => s_rangeCount;

        public static bool TryAcquire() => Interlocked.CompareExchange(ref s_busy, 1, 0) == 0;

        public static void Release() => Volatile.Write(ref s_busy, 0);

        /// <summary>
        /// Next unclaimed index for participant <paramref name="home"/>: from its own share first, then from the
        /// following shares in turn (<paramref name="visited"/> counts the shares it has found drained);
        /// -1 when all are taken.
        /// </summary>
        public static int ClaimIndex(int home, ref int visited)
        {
            int shares = s_shareCount;
            while (visited < shares)
            {
                ref Share share = ref s_shares[(home + visited) % shares];
                // Read before incrementing so a drained share does not keep pushing its counter up.
                if (Volatile.Read(ref share.Next) < share.End)
                {
                    int i = Interlocked.Increment(ref share.Next) - 1;
                    if (i < share.End)
                    {
                        return i;
                    }
                }

                visited++;
            }

            return -1;
        }

        /// <summary>
        /// Runs <paramref name="invoker"/> on the calling thread and on the workers that join while indices are
        /// left (<paramref name="participants"/> − 1 are woken); returns when every index has run.
        /// </summary>
        public static void Run(int items, int rangeCount, int participants, delegate*<object, void*, int, void> invoker, object body, void* state)
        {
            EnsureWorkers(participants - 1);
            s_invoker = invoker;
            s_body = body;
            s_jobState = state;
            s_items = items;
            s_rangeCount = rangeCount;
            s_error = null;
            s_shareCount = participants;
            for (int p = 0; p < participants; p++)
            {
                s_shares[p].Next = (int)((long)items * p / participants);
                s_shares[p].End = (int)((long)items * (p + 1) / participants);
            }

            // Open the job (nobody inside: the previous job ended with its count at zero), then wake helpers.
            Interlocked.Exchange(ref s_state, 0);
            for (int w = 0; w < participants - 1; w++)
            {
                s_workers[w].Wake();
            }

            Participate(0);

            // No index is left to claim. Close the job so no further worker enters, then wait for those
            // inside: each is finishing at most one index, so this wait is short.
            Interlocked.Or(ref s_state, Closed);
            SpinWait spin = default;
            while (Volatile.Read(ref s_state) != Closed)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }

            s_body = null;
            s_jobState = null;
            Exception? error = s_error;
            s_error = null;
            if (error is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
            }
        }

        /// <summary>Enters the open job, or returns false when none is open.</summary>
        private static bool TryEnter()
        {
            int state = Volatile.Read(ref s_state);
            while ((state & Closed) == 0)
            {
                int seen = Interlocked.CompareExchange(ref s_state, state + 1, state);
                if (seen == state)
                {
                    return true;
                }

                state = seen;
            }

            return false;
        }

        private static void Participate(int participant)
        {
            try
            {
                s_invoker(s_body!, s_jobState, participant % s_shareCount);
            }
            catch (Exception ex)
            {
                Interlocked.CompareExchange(ref s_error, ex, null);
                // Stop handing out further indices; already-running ones finish normally.
                for (int p = 0; p < s_shareCount; p++)
                {
                    Volatile.Write(ref s_shares[p].Next, s_shares[p].End);
                }
            }
        }

        private static void EnsureWorkers(int helpers)
        {
            // Only called while holding s_busy, so no other thread grows the array concurrently.
            if (s_workers.Length >= helpers)
            {
                return;
            }

            // Grow the shares first: a worker joining a later job indexes them by that job's participant count.
            s_shares = new Share[helpers + 1];

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
                    // Reset before looking at the job: a job opened after this point signals again, so a
                    // wake-up can never be lost. A worker that finds no open job (it woke after the owner
                    // finished) simply waits again; one that finds a later job than the one that woke it
                    // joins that one, which is equally correct.
                    _signal.Reset();
                    if (TryEnter())
                    {
                        Participate(_participant);
                        Interlocked.Decrement(ref s_state);
                    }
                }
            }
        }
    }
}
