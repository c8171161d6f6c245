using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace NeuralCore.Profiling;

/// <summary>Which part of a training step an op ran in.</summary>
public enum FlopPhase
{
    /// <summary>Any op outside a backward pass and an optimizer step: the forward pass, the loss, metrics, inference.</summary>
    Forward,
    /// <summary>Ops run by <see cref="Tensor.Backward(Tensor?, bool)"/> (the gradient rules).</summary>
    Backward,
    /// <summary>Ops run by <see cref="Optim.Optimizer.Step"/> (the parameter updates).</summary>
    Optimizer,
}

/// <summary>The floating-point operations one op name accumulated in a <see cref="FlopCounter"/>, split by phase.</summary>
/// <param name="Forward">FLOPs counted in <see cref="FlopPhase.Forward"/>.</param>
/// <param name="Backward">FLOPs counted in <see cref="FlopPhase.Backward"/>.</param>
/// <param name="Optimizer">FLOPs counted in <see cref="FlopPhase.Optimizer"/>.</param>
/// <param name="Calls">How many kernel calls were counted under this name.</param>
public readonly record struct OpFlops(long Forward, long Backward, long Optimizer, long Calls)
{
    /// <summary>Forward + Backward + Optimizer.</summary>
    public long Total => Forward + Backward + Optimizer;
}

/// <summary>
/// Counts the floating-point operations of every tensor kernel run while it is active, by op and by phase, with the
/// conventions of docs/energy.md (a multiply-add is 2 FLOPs in matrix products and convolutions, 1 FLOP per output
/// element for elementwise ops, 1 per input element for reductions, 0 for copies, indexing and random fills).
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Start"/> attaches a counter to the current execution context (an <see cref="AsyncLocal{T}"/>): it
/// sees the ops of this thread and of the tasks this flow starts after it, not those of unrelated threads, so
/// concurrent requests each count their own work. Counters nest; an op counts in every active counter of its flow.
/// Adding to a counter is thread-safe.
/// </para>
/// <para>
/// Counting happens where tensor code dispatches to a backend, so it is the same on every device. When no counter is
/// active anywhere in the process, each kernel call pays one read of a static field.
/// </para>
/// <code>
/// using var flops = FlopCounter.Start();
/// var loss = model.Forward(x).Sum();
/// loss.Backward();
/// Console.WriteLine($"{flops.Total:N0} FLOPs, backward {flops.Backward:N0}; matmul {flops.ByOp["matmul"].Total:N0}");
/// </code>
/// </remarks>
public sealed class FlopCounter : IDisposable
{
    static readonly AsyncLocal<FlopCounter?> Current = new();
    static int activeCounters;
    [ThreadStatic] static FlopPhase phase;

    readonly FlopCounter? parent;
    readonly ConcurrentDictionary<string, long[]> byOp = new(StringComparer.Ordinal);
    long forward, backward, optimizer;
    int stopped;

    FlopCounter(FlopCounter? parent) => this.parent = parent;

    /// <summary>Starts a counter for the current execution context; dispose it to stop counting.</summary>
    public static FlopCounter Start()
    {
        var counter = new FlopCounter(Current.Value);
        Current.Value = counter;
        Interlocked.Increment(ref activeCounters);
        return counter;
    }

    /// <summary>True while at least one counter is active anywhere in the process.</summary>
    public static bool AnyActive
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref activeCounters) != 0;
    }

    /// <summary>True until the counter is disposed.</summary>
    public bool IsActive => Volatile.Read(ref stopped) == 0;

    /// <summary>All FLOPs counted so far.</summary>
    public long Total => Forward + Backward + Optimizer;

    /// <summary>FLOPs counted in <see cref="FlopPhase.Forward"/>.</summary>
    public long Forward => Interlocked.Read(ref forward);

    /// <summary>FLOPs counted in <see cref="FlopPhase.Backward"/>.</summary>
    public long Backward => Interlocked.Read(ref backward);

    /// <summary>FLOPs counted in <see cref="FlopPhase.Optimizer"/>.</summary>
    public long Optimizer => Interlocked.Read(ref optimizer);

    /// <summary>
    /// A snapshot of the counts by op name (<c>"matmul"</c>, <c>"conv2d"</c>, <c>"conv2d_backward_input"</c>,
    /// <c>"add"</c>, <c>"sum"</c>, ...; docs/energy.md lists them), sorted by name.
    /// </summary>
    public IReadOnlyDictionary<string, OpFlops> ByOp
    {
        get
        {
            var result = new SortedDictionary<string, OpFlops>(StringComparer.Ordinal);
            foreach (var (name, c) in byOp)
                result[name] = new OpFlops(Interlocked.Read(ref c[0]), Interlocked.Read(ref c[1]), Interlocked.Read(ref c[2]), Interlocked.Read(ref c[3]));
            return result;
        }
    }

    /// <summary>Stops counting; the totals stay readable. Disposing twice does nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref stopped, 1) != 0) return;
        Interlocked.Decrement(ref activeCounters);
        // Restore the enclosing counter when this flow still has this one on top (a counter disposed out of order
        // stays in the chain but no longer counts).
        if (ReferenceEquals(Current.Value, this)) Current.Value = FirstActive(parent);
    }

    static FlopCounter? FirstActive(FlopCounter? c)
    {
        while (c is not null && !c.IsActive) c = c.parent;
        return c;
    }

    /// <summary>The phase ops on this thread are counted in.</summary>
    internal static FlopPhase Phase => phase;

    /// <summary>Sets the phase of this thread until the returned value is disposed (which restores the previous one).</summary>
    internal static PhaseScope EnterPhase(FlopPhase p)
    {
        var previous = phase;
        phase = p;
        return new PhaseScope(previous);
    }

    internal readonly struct PhaseScope(FlopPhase previous) : IDisposable
    {
        public void Dispose() => phase = previous;
    }

    /// <summary>Adds <paramref name="flops"/> under <paramref name="op"/> to every active counter of this flow.</summary>
    internal static void Add(string op, long flops)
    {
        var p = phase;
        for (var c = Current.Value; c is not null; c = c.parent)
            if (c.IsActive) c.Record(op, p, flops);
    }

    void Record(string op, FlopPhase p, long flops)
    {
        switch (p)
        {
            case FlopPhase.Backward: Interlocked.Add(ref backward, flops); break;
            case FlopPhase.Optimizer: Interlocked.Add(ref optimizer, flops); break;
            default: Interlocked.Add(ref forward, flops); break;
        }
        var cell = byOp.GetOrAdd(op, static _ => new long[4]);
        Interlocked.Add(ref cell[(int)p], flops);
        Interlocked.Increment(ref cell[3]);
    }

    /// <summary>The counts as one line: total and per phase.</summary>
    public override string ToString() =>
        FormattableString.Invariant($"FlopCounter(total: {Total:N0}, forward: {Forward:N0}, backward: {Backward:N0}, optimizer: {Optimizer:N0})");
}
