using System.Numerics;

namespace NeuralCore.Distributed;

/// <summary>
/// Ranks as threads of one process, for tests and for single-process runs (world size 1). <see cref="Create"/>
/// returns one communicator per rank; each is used from its own thread. Reductions add in rank order, so every
/// rank gets bit-identical results. A collective that some rank does not reach within the timeout throws
/// <see cref="CollectiveTimeoutException"/> on the ranks that wait; ranks that call different collectives get a
/// <see cref="CommunicatorException"/>.
/// </summary>
public sealed class InProcessCommunicator : Communicator
{
    readonly Group group;
    readonly int rank;

    InProcessCommunicator(Group group, int rank, TimeSpan timeout) : base(timeout, $"InProcess rank {rank}")
    {
        this.group = group;
        this.rank = rank;
    }

    /// <summary>Creates the communicators of a world of <paramref name="worldSize"/> ranks.</summary>
    /// <param name="worldSize">Number of ranks (at least 1).</param>
    /// <param name="timeout">Longest time a collective may take; null for <see cref="Communicator.DefaultTimeout"/>.</param>
    /// <returns>The communicator of rank i at index i.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="worldSize"/> is below 1.</exception>
    public static InProcessCommunicator[] Create(int worldSize, TimeSpan? timeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        var group = new Group(worldSize);
        return Enumerable.Range(0, worldSize).Select(r => new InProcessCommunicator(group, r, timeout ?? DefaultTimeout)).ToArray();
    }

    /// <inheritdoc />
    public override int Rank => rank;

    /// <inheritdoc />
    public override int WorldSize => group.Size;

    // Two barrier phases per collective: after the first every rank's input is visible; after the second every
    // rank has read what it needs, so buffers may change again.
    sealed class Group(int size)
    {
        public readonly int Size = size;
        public readonly Barrier Barrier = new(size);
        public readonly (string Op, object? Send, int Length)[] Slots = new (string, object?, int)[size];
    }

    object?[] Exchange(string op, object? send, int length)
    {
        group.Slots[rank] = (op, send, length);
        Arrive(op);
        var slots = group.Slots.ToArray();
        for (int r = 0; r < slots.Length; r++)
            if (slots[r].Op != op || slots[r].Length != length)
                throw new CommunicatorException(
                    $"{op}: rank {rank} called {op} on {length} elements but rank {r} called {slots[r].Op} on {slots[r].Length}; every rank must call the same collectives in the same order.");
        return slots.Select(s => s.Send).ToArray();
    }

    void Arrive(string op)
    {
        if (!group.Barrier.SignalAndWait(Timeout))
            throw new CollectiveTimeoutException($"In-process rank {rank} of {group.Size}: {op} did not complete within {Timeout.TotalSeconds:0.###} s (another rank failed, hangs, or called a different collective).");
    }

    static T Combine<T>(T a, T b, ReduceOp op) where T : INumber<T> => op switch
    {
        ReduceOp.Max => T.Max(a, b),
        ReduceOp.Min => T.Min(a, b),
        _ => a + b,
    };

    static void Reduce<T>(object?[] all, int start, T[] result, ReduceOp op) where T : INumber<T>
    {
        Array.Copy((T[])all[0]!, start, result, 0, result.Length);
        for (int r = 1; r < all.Length; r++)
        {
            var src = (T[])all[r]!;
            for (int i = 0; i < result.Length; i++) result[i] = Combine(result[i], src[start + i], op);
        }
    }

    private protected override void AllReduceCore<T>(T[] buffer, ReduceOp op)
    {
        var all = Exchange("AllReduce", buffer, buffer.Length);
        var result = new T[buffer.Length];
        Reduce(all, 0, result, op);
        Arrive("AllReduce");
        Array.Copy(result, buffer, buffer.Length);
    }

    private protected override void BroadcastCore<T>(T[] buffer, int root)
    {
        var all = Exchange("Broadcast", buffer, buffer.Length);
        if (rank != root) Array.Copy((T[])all[root]!, buffer, buffer.Length);
        Arrive("Broadcast");
    }

    private protected override void AllGatherCore<T>(T[] send, T[] receive)
    {
        var all = Exchange("AllGather", send, send.Length);
        for (int r = 0; r < all.Length; r++) Array.Copy((T[])all[r]!, 0, receive, r * send.Length, send.Length);
        Arrive("AllGather");
    }

    private protected override void ReduceScatterCore<T>(T[] send, T[] receive, ReduceOp op)
    {
        var all = Exchange("ReduceScatter", send, send.Length);
        Reduce(all, rank * receive.Length, receive, op);
        Arrive("ReduceScatter");
    }

    private protected override void BarrierCore() => Exchange("Barrier", null, 0);
}
