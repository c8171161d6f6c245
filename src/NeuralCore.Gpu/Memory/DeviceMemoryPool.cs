using System.Numerics;
using ILGPU;
using ILGPU.Runtime;
using NeuralCore.Backends;

namespace NeuralCore.Gpu.Memory;

/// <summary>
/// Pool of device buffers in power-of-two byte size classes (256 bytes minimum, which also keeps every buffer
/// aligned for any element type and a whole number of 32-bit words). Storages return buffers here on Dispose
/// or from their finalizer; <see cref="Return"/> only touches the pool's lists under a lock, so it is safe on
/// the finalizer thread. Buffers beyond <see cref="MaxPooledBytes"/> are freed later, on a thread that
/// allocates, because device APIs should not be called from the finalizer thread.
/// </summary>
internal sealed class DeviceMemoryPool : IDisposable
{
    const int MinClassLog2 = 8;
    readonly Accelerator accelerator;
    readonly Stack<MemoryBuffer1D<byte, Stride1D.Dense>>[] classes = new Stack<MemoryBuffer1D<byte, Stride1D.Dense>>[40];
    readonly List<MemoryBuffer1D<byte, Stride1D.Dense>> toFree = [];

    // Every live buffer stays reachable from here. ILGPU buffers have finalizers of their own: a storage dropped
    // without Dispose becomes unreachable together with its buffer, and without this root the buffer's finalizer
    // could free the device memory in the same collection in which the storage's finalizer returns it to the pool.
    readonly HashSet<MemoryBuffer1D<byte, Stride1D.Dense>> owned = new(ReferenceEqualityComparer.Instance);
    readonly object gate = new();
    long pooledBytes, usedBytes, liveBuffers, allocatedBytes;
    readonly ReclaimTrigger reclaim = new();
    bool disposed;

    public DeviceMemoryPool(Accelerator accelerator)
    {
        this.accelerator = accelerator;
        for (int i = 0; i < classes.Length; i++) classes[i] = new();
        long memory = Math.Max(accelerator.MemorySize, 1L << MinClassLog2);
        MaxRentBytes = Math.Min(1L << (63 - BitOperations.LeadingZeroCount((ulong)memory)), 1L << (classes.Length - 1));
    }

    /// <summary>
    /// The largest request <see cref="Rent"/> serves: the largest power-of-two size class not above the device's
    /// memory (a larger class could never be allocated).
    /// </summary>
    public long MaxRentBytes { get; }

    /// <summary>Upper bound on bytes kept for reuse.</summary>
    public long MaxPooledBytes { get; set; } = 4L << 30;

    public long PooledBytes => Interlocked.Read(ref pooledBytes);
    public long UsedBytes => Interlocked.Read(ref usedBytes);
    public long LiveBuffers => Interlocked.Read(ref liveBuffers);
    public long AllocatedBytes => Interlocked.Read(ref allocatedBytes);

    static int ClassOf(long bytes) => bytes <= 1L << MinClassLog2 ? MinClassLog2 : 64 - BitOperations.LeadingZeroCount((ulong)(bytes - 1));

    /// <exception cref="ArgumentException">More than <see cref="MaxRentBytes"/> bytes (callers check before, with a message naming the op).</exception>
    public MemoryBuffer1D<byte, Stride1D.Dense> Rent(long bytes)
    {
        if (bytes > MaxRentBytes)
            throw new ArgumentException($"A device buffer of {bytes} bytes exceeds the {MaxRentBytes}-byte limit of one allocation on this device (TensorLimits.MaxBytes).", nameof(bytes));
        FreeDeferred();
        int c = ClassOf(bytes);
        reclaim.Rented(1L << c);
        if (TryTake(c) is { } hit) return hit;

        // Dropped tensors only give their buffers back once the GC has run their finalizers, and the GC does not
        // see device memory (the same policy as the CPU pool).
        if (reclaim.CollectIfDue() && TryTake(c) is { } reused) return reused;

        long size = 1L << c;
        MemoryBuffer1D<byte, Stride1D.Dense> buffer;
        try
        {
            buffer = accelerator.Allocate1D<byte>(size);
        }
        catch (Exception e) when (e is OutOfMemoryException or AcceleratorException)
        {
            // Out of device memory: give back everything pooled and unreachable, then try once more.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            if (TryTake(c) is { } late) return late;
            Trim();
            buffer = accelerator.Allocate1D<byte>(size);
        }
        lock (gate) owned.Add(buffer);
        Interlocked.Add(ref allocatedBytes, size);
        Interlocked.Add(ref usedBytes, size);
        Interlocked.Increment(ref liveBuffers);
        return buffer;
    }

    MemoryBuffer1D<byte, Stride1D.Dense>? TryTake(int c)
    {
        MemoryBuffer1D<byte, Stride1D.Dense> b;
        lock (gate)
        {
            if (classes[c].Count == 0) return null;
            b = classes[c].Pop();
            pooledBytes -= b.Length;
            Interlocked.Add(ref usedBytes, b.Length);
            Interlocked.Increment(ref liveBuffers);
        }
        return b;
    }

    /// <summary>Takes a buffer back; safe on any thread, including the finalizer thread.</summary>
    public void Return(MemoryBuffer1D<byte, Stride1D.Dense> buffer)
    {
        Interlocked.Add(ref usedBytes, -buffer.Length);
        Interlocked.Decrement(ref liveBuffers);
        lock (gate)
        {
            if (disposed || pooledBytes + buffer.Length > MaxPooledBytes)
            {
                toFree.Add(buffer);
                return;
            }
            classes[ClassOf(buffer.Length)].Push(buffer);
            pooledBytes += buffer.Length;
        }
    }

    /// <summary>Frees every pooled buffer.</summary>
    public void Trim()
    {
        lock (gate)
        {
            foreach (var s in classes)
                while (s.Count > 0) toFree.Add(s.Pop());
            pooledBytes = 0;
        }
        FreeDeferred();
    }

    void FreeDeferred()
    {
        MemoryBuffer1D<byte, Stride1D.Dense>[] victims;
        lock (gate)
        {
            if (toFree.Count == 0) return;
            victims = toFree.ToArray();
            toFree.Clear();
            foreach (var b in victims) owned.Remove(b);
        }
        foreach (var b in victims) b.Dispose();
    }

    public void Dispose()
    {
        lock (gate) disposed = true;
        Trim();
    }
}
