namespace NeuralCore.Backends;

/// <summary>
/// When a memory pool should run the garbage collector before allocating. Buffers of tensors that nobody disposed
/// only come back through their finalizers, and the GC does not know how much pooled memory dropped tensors hold
/// (their managed objects are small). Counting every rental, hits included, and collecting on a miss once more than
/// <see cref="Window"/> bytes were rented since the last collection keeps a loop that never calls Dispose reusing its
/// buffers: without hits in the count, a pool that drains between collections would allocate a fresh window's worth
/// of buffers every cycle and grow until its cap.
/// </summary>
internal sealed class ReclaimTrigger
{
    /// <summary>Bytes rented between forced collections.</summary>
    public const long Window = 64L << 20;

    long rentedSinceCollect;

    /// <summary>Records a rental of <paramref name="bytes"/> (from the pool or fresh).</summary>
    public void Rented(long bytes) => Interlocked.Add(ref rentedSinceCollect, bytes);

    /// <summary>On a pool miss: collects and waits for finalizers when a window has been rented since the last time; returns whether it did.</summary>
    public bool CollectIfDue()
    {
        if (Interlocked.Read(ref rentedSinceCollect) <= Window) return false;
        Interlocked.Exchange(ref rentedSinceCollect, 0);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return true;
    }
}
