using System.Numerics;

namespace NeuralCore.Backends.Cpu;

/// <summary>
/// Pool of pinned managed byte arrays in power-of-two size classes. Arrays live on the pinned object heap so
/// kernels can take raw pointers without <c>fixed</c>. Storages return their array here when disposed or
/// finalized; the pool keeps at most <see cref="MaxPooledBytes"/> and lets the GC have the rest.
/// </summary>
internal sealed class CpuMemoryPool
{
    const int MinClassLog2 = 6; // 64 bytes: one cache line, and Vector512 alignment for every array.
    readonly Stack<byte[]>[] classes = new Stack<byte[]>[32];
    readonly object gate = new();
    long pooledBytes, usedBytes, liveBuffers, allocatedBytes;
    readonly ReclaimTrigger reclaim = new();

    public CpuMemoryPool()
    {
        for (int i = 0; i < classes.Length; i++) classes[i] = new Stack<byte[]>();
    }

    /// <summary>Upper bound on bytes kept for reuse.</summary>
    public long MaxPooledBytes { get; set; } = 2L << 30;

    public long PooledBytes => Interlocked.Read(ref pooledBytes);
    public long UsedBytes => Interlocked.Read(ref usedBytes);
    public long LiveBuffers => Interlocked.Read(ref liveBuffers);
    public long AllocatedBytes => Interlocked.Read(ref allocatedBytes);

    static int ClassOf(long bytes)
    {
        if (bytes <= 1L << MinClassLog2) return MinClassLog2;
        return 64 - BitOperations.LeadingZeroCount((ulong)(bytes - 1));
    }

    /// <summary>The largest request <see cref="Rent"/> serves: its largest size class (<see cref="TensorLimits.CpuMaxBytes"/>).</summary>
    public const long MaxRentBytes = TensorLimits.CpuMaxBytes;

    /// <exception cref="ArgumentException">More than <see cref="MaxRentBytes"/> bytes (callers check before, with a message naming the op).</exception>
    public byte[] Rent(long bytes)
    {
        if (bytes > MaxRentBytes)
            throw new ArgumentException($"A CPU buffer of {bytes} bytes exceeds the {MaxRentBytes}-byte limit of one CPU allocation (TensorLimits.CpuMaxBytes).", nameof(bytes));
        int c = ClassOf(bytes);
        reclaim.Rented(1L << c);
        if (TryTake(c) is { } hit) return hit;

        // Nothing to reuse: buffers of dropped tensors only come back after a GC runs their finalizers.
        if (reclaim.CollectIfDue() && TryTake(c) is { } reused) return reused;

        long size = 1L << c;
        var array = GC.AllocateUninitializedArray<byte>((int)size, pinned: true);
        Interlocked.Add(ref allocatedBytes, size);
        Interlocked.Add(ref usedBytes, size);
        Interlocked.Increment(ref liveBuffers);
        return array;
    }

    byte[]? TryTake(int c)
    {
        lock (gate)
        {
            if (classes[c].Count == 0) return null;
            var a = classes[c].Pop();
            pooledBytes -= a.Length;
            Interlocked.Add(ref usedBytes, a.Length);
            Interlocked.Increment(ref liveBuffers);
            return a;
        }
    }

    public void Return(byte[] array)
    {
        Interlocked.Add(ref usedBytes, -array.Length);
        Interlocked.Decrement(ref liveBuffers);
        lock (gate)
        {
            if (pooledBytes + array.Length > MaxPooledBytes) return;
            classes[ClassOf(array.Length)].Push(array);
            pooledBytes += array.Length;
        }
    }

    /// <summary>Drops every pooled array (they become garbage).</summary>
    public void Trim()
    {
        lock (gate)
        {
            foreach (var s in classes) s.Clear();
            pooledBytes = 0;
        }
    }
}
