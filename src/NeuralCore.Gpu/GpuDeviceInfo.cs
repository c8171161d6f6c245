namespace NeuralCore.Gpu;

/// <summary>What the probe found about one CUDA or OpenCL device, usable or not.</summary>
/// <param name="Name">The device name reported by the driver.</param>
/// <param name="Type">CUDA or OpenCL.</param>
/// <param name="Index">Ordinal among usable devices of the same type (the index of <see cref="Device"/>), or −1 when unusable.</param>
/// <param name="MemoryBytes">Device memory in bytes (0 when unknown).</param>
/// <param name="Version">The CUDA architecture (e.g. "SM 8.0") or the OpenCL C version (e.g. "OpenCL C 1.2").</param>
/// <param name="GenericAddressSpace">Whether the device supports the generic address space (always true for CUDA; ILGPU needs it on OpenCL).</param>
/// <param name="Float16">Whether the device computes in half precision.</param>
/// <param name="Float64">Whether the device computes in double precision.</param>
/// <param name="IsUsable">Whether NeuralCore can run on it.</param>
/// <param name="Reason">Why it cannot be used, or null when it can.</param>
public sealed record GpuDeviceInfo(string Name, DeviceType Type, int Index, long MemoryBytes, string Version,
    bool GenericAddressSpace, bool Float16, bool Float64, bool IsUsable, string? Reason)
{
    /// <summary>Whether the device has 64-bit integer atomics (the index and input checks, and Float64 atomic adds, use them).</summary>
    public bool Int64Atomics { get; init; } = true;

    /// <summary>Shared memory one thread group may use, in bytes (0 when the driver does not say).</summary>
    public long SharedMemoryPerGroup { get; init; }

    /// <summary>The most threads one group may hold (0 when the driver does not say).</summary>
    public int MaxGroupSize { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Type} '{Name}' ({Version}, {MemoryBytes / (1024.0 * 1024 * 1024):0.#} GiB, fp16 {(Float16 ? "yes" : "no")}, fp64 {(Float64 ? "yes" : "no")}, "
        + $"int64 atomics {(Int64Atomics ? "yes" : "no")}, {SharedMemoryPerGroup / 1024.0:0.#} KB shared and {MaxGroupSize} threads per group): "
        + (IsUsable ? $"usable as {Type.ToString().ToLowerInvariant()}:{Index}" : $"not usable: {Reason}");
}
