using NeuralCore.Backends.Cpu;

namespace NeuralCore;

/// <summary>A snapshot of one device's tensor memory.</summary>
/// <param name="LiveTensors">Storages currently alive (views share one storage, so they count once).</param>
/// <param name="UsedBytes">Bytes held by live storages (rounded up to the pool's size classes).</param>
/// <param name="PooledBytes">Bytes kept by the pool for reuse.</param>
/// <param name="AllocatedBytes">Bytes ever obtained from the runtime (grows only when the pool misses).</param>
public readonly record struct DeviceMemoryStats(long LiveTensors, long UsedBytes, long PooledBytes, long AllocatedBytes)
{
    /// <summary>Host-to-device copies (uploads) made so far; 0 for the CPU, whose memory is the host's.</summary>
    public long Uploads { get; init; }

    /// <summary>Bytes copied from the host to the device so far.</summary>
    public long UploadedBytes { get; init; }

    /// <summary>Device-to-host copies (downloads, such as <c>Item()</c> and <c>ToArray()</c>) made so far; 0 for the CPU.</summary>
    public long Downloads { get; init; }

    /// <summary>Bytes copied from the device to the host so far.</summary>
    public long DownloadedBytes { get; init; }
}

/// <summary>Memory statistics per device. Tests use them to prove that training loops stay flat.</summary>
public static class MemoryStats
{
    /// <summary>Statistics of the CPU backend.</summary>
    public static DeviceMemoryStats Cpu
    {
        get
        {
            var p = CpuBackend.Instance.Pool;
            return new(p.LiveBuffers, p.UsedBytes, p.PooledBytes, p.AllocatedBytes);
        }
    }

    /// <summary>Statistics of <paramref name="device"/>; accelerator backends report theirs through <see cref="Backends.IMemoryStatsSource"/>.</summary>
    public static DeviceMemoryStats For(Device device)
    {
        if (device.IsCpu) return Cpu;
        return Backends.BackendRegistry.For(device) is Backends.IMemoryStatsSource s
            ? s.GetMemoryStats()
            : throw new NotSupportedException($"The backend for {device} does not report memory statistics.");
    }

    /// <summary>Runs a full garbage collection and finalizers, so dropped tensors return their memory now.</summary>
    public static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
