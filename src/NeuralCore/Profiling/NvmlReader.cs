using System.Runtime.InteropServices;

namespace NeuralCore.Profiling;

/// <summary>
/// Total energy of every NVIDIA GPU since its driver loaded, through NVML's <c>nvmlDeviceGetTotalEnergyConsumption</c>
/// (millijoules; Volta and newer). libnvidia-ml is loaded on first use; a machine without it, without a GPU, or with
/// GPUs that do not report energy simply has no reader.
/// </summary>
internal sealed unsafe class NvmlReader
{
    static readonly Lazy<(NvmlReader? Reader, string Reason)> Shared = new(Open);

    readonly delegate* unmanaged<IntPtr, ulong*, int> totalEnergy;
    readonly IntPtr[] devices;

    NvmlReader(delegate* unmanaged<IntPtr, ulong*, int> totalEnergy, IntPtr[] devices)
    {
        this.totalEnergy = totalEnergy;
        this.devices = devices;
    }

    /// <summary>Number of GPUs read.</summary>
    public int DeviceCount => devices.Length;

    /// <summary>The process-wide reader, or null with the reason none is available.</summary>
    public static NvmlReader? TryGet(out string reason)
    {
        var (reader, why) = Shared.Value;
        reason = why;
        return reader;
    }

    static (NvmlReader?, string) Open()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsWindows()) return (null, "NVML is available on Linux and Windows only");
        string name = OperatingSystem.IsWindows() ? "nvml.dll" : "libnvidia-ml.so.1";
        if (!NativeLibrary.TryLoad(name, out var lib)) return (null, $"{name} is not installed");
        if (!NativeLibrary.TryGetExport(lib, "nvmlInit_v2", out var init)
            || !NativeLibrary.TryGetExport(lib, "nvmlDeviceGetCount_v2", out var count)
            || !NativeLibrary.TryGetExport(lib, "nvmlDeviceGetHandleByIndex_v2", out var handle)
            || !NativeLibrary.TryGetExport(lib, "nvmlDeviceGetTotalEnergyConsumption", out var energy))
            return (null, $"{name} lacks the energy functions");
        if (((delegate* unmanaged<int>)init)() != 0) return (null, "nvmlInit failed (no driver or no GPU)");
        uint n;
        if (((delegate* unmanaged<uint*, int>)count)(&n) != 0 || n == 0) return (null, "NVML reports no GPU");
        var read = (delegate* unmanaged<IntPtr, ulong*, int>)energy;
        var list = new List<IntPtr>();
        for (uint i = 0; i < n; i++)
        {
            IntPtr device;
            ulong mj;
            if (((delegate* unmanaged<uint, IntPtr*, int>)handle)(i, &device) == 0 && read(device, &mj) == 0) list.Add(device);
        }
        return list.Count == 0 ? (null, "no GPU reports its total energy") : (new NvmlReader(read, [.. list]), "");
    }

    /// <summary>Each GPU's energy counter in mJ.</summary>
    /// <exception cref="InvalidOperationException">NVML stopped answering (the driver went away).</exception>
    public ulong[] Read()
    {
        var values = new ulong[devices.Length];
        for (int i = 0; i < devices.Length; i++)
        {
            ulong mj;
            int status = totalEnergy(devices[i], &mj);
            if (status != 0) throw new InvalidOperationException($"NVML: nvmlDeviceGetTotalEnergyConsumption returned error {status} for GPU {i}.");
            values[i] = mj;
        }
        return values;
    }

    /// <summary>Joules between two readings.</summary>
    public static double JoulesBetween(ulong[] start, ulong[] end)
    {
        double mj = 0;
        for (int i = 0; i < start.Length; i++) mj += end[i] >= start[i] ? end[i] - start[i] : 0;
        return mj * 1e-3;
    }
}
