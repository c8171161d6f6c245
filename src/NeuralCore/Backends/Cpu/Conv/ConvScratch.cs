namespace NeuralCore.Backends.Cpu;

/// <summary>
/// One pinned im2col buffer per thread and element type, grown on demand and kept for the next call, so
/// steady-state convolutions allocate nothing. The CPU workers are long-lived threads, so each keeps one
/// buffer the size of the largest column matrix it has seen.
/// </summary>
internal static unsafe class ConvScratch<T> where T : unmanaged
{
    [ThreadStatic]
    static T[]? t_buffer;

    /// <summary>A pointer to at least <paramref name="length"/> elements, valid on this thread until the next call.</summary>
    public static T* Get(long length)
    {
        var b = t_buffer;
        if (b is null || b.Length < length)
        {
            long limit = TensorLimits.CpuMaxBytes / sizeof(T);
            if (length > limit)
                throw new ArgumentException($"Conv2d: an im2col workspace of {length} elements exceeds the {TensorLimits.CpuMaxBytes}-byte limit of one CPU allocation (TensorLimits.CpuMaxBytes).", nameof(length));
            // Grow geometrically so a slowly increasing size does not reallocate every call.
            long size = Math.Min(Math.Max(length, b is null ? 0 : (long)b.Length * 3 / 2), limit);
            b = GC.AllocateUninitializedArray<T>((int)size, pinned: true);
            t_buffer = b;
        }
        fixed (T* ptr = b) return ptr; // pinned-heap array: the address stays valid after the fixed block
    }
}
