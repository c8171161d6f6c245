using System.Diagnostics;
using System.Numerics;

namespace NeuralCore.Distributed;

/// <summary>
/// Collectives over <c>MPI_COMM_WORLD</c> of Open MPI, for processes started by <c>mpirun</c> (on one machine or
/// many). MPI is initialised (<c>MPI_Init_thread</c>, funneled) on the communicator's own thread, which then makes
/// every MPI call: each collective is started nonblocking (<c>MPI_Iallreduce</c>, <c>MPI_Ibcast</c>, …) and
/// polled with <c>MPI_Test</c> until it completes or <see cref="Communicator.Timeout"/> passes; then the rank prints
/// which collective timed out and calls <c>MPI_Abort</c>, which ends every rank of the job. Only one may exist per
/// process (MPI cannot be initialised twice); <see cref="Communicator.Dispose"/> calls <c>MPI_Finalize</c>.
/// </summary>
public sealed unsafe class MpiCommunicator : Communicator
{
    const int PollBurst = 64;
    static int created;
    readonly MpiNative mpi;
    readonly int rank, size;

    /// <summary>Initialises MPI and joins <c>MPI_COMM_WORLD</c>.</summary>
    /// <param name="timeout">Longest time a collective may take; null for <see cref="Communicator.DefaultTimeout"/>.</param>
    /// <exception cref="CommunicatorException">Open MPI is not installed, initialisation failed, or an MPI communicator was already created in this process.</exception>
    public MpiCommunicator(TimeSpan? timeout = null) : base(timeout ?? DefaultTimeout, "MPI")
    {
        if (Interlocked.Exchange(ref created, 1) != 0)
        {
            base.Dispose();
            throw new CommunicatorException("MpiCommunicator: MPI can be initialised once per process; share the one communicator.");
        }
        MpiNative? native = null;
        int r = 0, s = 0;
        try
        {
            Wait(Enqueue("MPI_Init_thread", () =>
            {
                native = MpiNative.Load();
                int initialized, provided;
                Check(native, native.Initialized(&initialized), "MPI_Initialized");
                if (initialized == 0) Check(native, native.InitThread(null, 0, MpiNative.ThreadFunneled, &provided), "MPI_Init_thread");
                int rr, ss;
                Check(native, native.CommRank(native.CommWorld, &rr), "MPI_Comm_rank");
                Check(native, native.CommSize(native.CommWorld, &ss), "MPI_Comm_size");
                r = rr;
                s = ss;
            }));
        }
        catch
        {
            base.Dispose();
            throw;
        }
        mpi = native!;
        rank = r;
        size = s;
    }

    /// <inheritdoc />
    public override int Rank => rank;

    /// <inheritdoc />
    public override int WorldSize => size;

    static void Check(MpiNative mpi, int rc, string call)
    {
        if (rc != 0) throw new CommunicatorException($"{call} failed with MPI error code {rc}.");
    }

    nint TypeOf<T>() =>
        typeof(T) == typeof(float) ? mpi.Float :
        typeof(T) == typeof(double) ? mpi.Double :
        typeof(T) == typeof(int) ? mpi.Int :
        typeof(T) == typeof(long) ? mpi.LongLong :
        throw new ArgumentException($"MPI: element type {typeof(T).Name} is not supported.");

    nint OpOf(ReduceOp op) => op switch
    {
        ReduceOp.Sum => mpi.OpSum,
        ReduceOp.Max => mpi.OpMax,
        ReduceOp.Min => mpi.OpMin,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "MPI: only Sum, Max and Min reach the library."),
    };

    // Polls the request until it completes; past the deadline the job is aborted so that no rank waits forever.
    void Complete(nint request, string call)
    {
        var clock = Stopwatch.StartNew();
        int flag = 0;
        // Progress happens inside MPI_Test, so it is called in short bursts; between bursts the thread yields, so the
        // backward pass running beside it keeps its core.
        for (int polls = 1; ; polls++)
        {
            Check(mpi, mpi.Test(&request, &flag, null), "MPI_Test");
            if (flag != 0) return;
            if (polls % PollBurst != 0) continue;
            if (clock.Elapsed > Timeout) AbortJob(call);
            Thread.Yield();
        }
    }

    void AbortJob(string call)
    {
        var message = $"NeuralCore.Distributed: rank {rank} of {size}: {call} did not complete within {Timeout.TotalSeconds:0.###} s " +
                      "(another rank failed, hangs, or called a different collective); aborting the job.";
        Console.Error.WriteLine(message);
        Console.Error.Flush();
        Console.Out.Flush();
        mpi.Abort(mpi.CommWorld, 3);
        throw new CollectiveTimeoutException(message);
    }

    private protected override void AllReduceCore<T>(T[] buffer, ReduceOp op)
    {
        nint request;
        fixed (T* p = buffer)
        {
            Check(mpi, mpi.Iallreduce((void*)MpiNative.InPlace, p, buffer.Length, TypeOf<T>(), OpOf(op), mpi.CommWorld, &request), "MPI_Iallreduce");
            Complete(request, "MPI_Iallreduce");
        }
    }

    private protected override void BroadcastCore<T>(T[] buffer, int root)
    {
        nint request;
        fixed (T* p = buffer)
        {
            Check(mpi, mpi.Ibcast(p, buffer.Length, TypeOf<T>(), root, mpi.CommWorld, &request), "MPI_Ibcast");
            Complete(request, "MPI_Ibcast");
        }
    }

    private protected override void AllGatherCore<T>(T[] send, T[] receive)
    {
        nint request, type = TypeOf<T>();
        fixed (T* s = send)
        fixed (T* r = receive)
        {
            Check(mpi, mpi.Iallgather(s, send.Length, type, r, send.Length, type, mpi.CommWorld, &request), "MPI_Iallgather");
            Complete(request, "MPI_Iallgather");
        }
    }

    private protected override void ReduceScatterCore<T>(T[] send, T[] receive, ReduceOp op)
    {
        nint request;
        fixed (T* s = send)
        fixed (T* r = receive)
        {
            Check(mpi, mpi.IreduceScatterBlock(s, r, receive.Length, TypeOf<T>(), OpOf(op), mpi.CommWorld, &request), "MPI_Ireduce_scatter_block");
            Complete(request, "MPI_Ireduce_scatter_block");
        }
    }

    private protected override void BarrierCore()
    {
        nint request;
        Check(mpi, mpi.Ibarrier(mpi.CommWorld, &request), "MPI_Ibarrier");
        Complete(request, "MPI_Ibarrier");
    }

    private protected override void ShutdownCore()
    {
        if (mpi is null) return; // the constructor failed before MPI was initialised
        int finalized;
        Check(mpi, mpi.Finalized(&finalized), "MPI_Finalized");
        if (finalized == 0) Check(mpi, mpi.Finalize(), "MPI_Finalize");
    }
}
