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
    /// <inheritdoc />
    public override string ToString() =>
        $"{Type} '{Name}' ({Version}, {MemoryBytes / (1024.0 * 1024 * 1024):0.#} GiB, fp16 {(Float16 ? "yes" : "no")}, fp64 {(Float64 ? "yes" : "no")}): "
        + (IsUsable ? $"usable as {Type.ToString().ToLowerInvariant()}:{Index}" : $"not usable: {Reason}");
}
