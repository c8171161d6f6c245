using System.Reflection;
using System.Runtime.CompilerServices;
using NeuralCore.Backends.Cpu;

namespace NeuralCore.Backends;

/// <summary>
/// Where backends announce themselves. The CPU backend is always present; accelerator packages call
/// <see cref="Register"/> (typically from a module initializer or an explicit <c>Use()</c> call), so the core
/// library never names them and stays free of reflection-based discovery.
/// </summary>
public static class BackendRegistry
{
    static readonly object Gate = new();
    static readonly List<IBackend> Backends = [CpuBackend.Instance];
    static readonly List<string> Unusable = [];

    /// <summary>The backends registered so far, CPU first.</summary>
    public static IReadOnlyList<IBackend> All
    {
        get { lock (Gate) return Backends.ToArray(); }
    }

    /// <summary>Adds a backend. Registering a second backend for the same device replaces the first.</summary>
    public static void Register(IBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        lock (Gate)
        {
            Backends.RemoveAll(b => b.Device.Equals(backend.Device));
            Backends.Add(backend);
        }
    }

    /// <summary>
    /// Withdraws the backend of <paramref name="device"/> (for example after its kernels failed to compile) and records
    /// <paramref name="reason"/> as with <see cref="ReportUnusable"/>, so <see cref="Device.Best"/> no longer picks it.
    /// </summary>
    /// <returns>Whether a backend was registered for the device.</returns>
    public static bool Unregister(Device device, string reason)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(reason);
        lock (Gate)
        {
            Unusable.Add(reason);
            return Backends.RemoveAll(b => !ReferenceEquals(b, CpuBackend.Instance) && b.Device.Type == device.Type && b.Device.Index == device.Index) > 0;
        }
    }

    /// <summary>Records why an accelerator could not be used, so <see cref="Device.Best"/> can say so.</summary>
    public static void ReportUnusable(string reason)
    {
        lock (Gate) Unusable.Add(reason);
    }

    /// <summary>The backend that owns <paramref name="device"/>.</summary>
    /// <exception cref="InvalidOperationException">No backend provides that device.</exception>
    public static IBackend For(Device device) => Find(device.Type, device.Index)
        ?? throw new InvalidOperationException($"No backend is registered for device {device}.");

    internal static IBackend? Find(DeviceType type, int index)
    {
        lock (Gate)
        {
            foreach (var b in Backends)
                if (b.Device.Type == type && b.Device.Index == index) return b;
        }
        return null;
    }

    /// <summary>Name of the assembly that provides GPU backends; loaded by name, so the core never references it.</summary>
    internal const string GpuPackage = "NeuralCore.Gpu";

    static int gpuPackageProbed;

    internal static Device Best()
    {
        if (!HasGpu() && Interlocked.Exchange(ref gpuPackageProbed, 1) == 0) LoadGpuPackage();
        lock (Gate)
        {
            foreach (var b in Backends)
                if (IsGpu(b.Device)) return b.Device;
            string why = Unusable.Count == 0
                ? "no GPU backend is registered (reference NeuralCore.Gpu to add one)"
                : string.Join("; ", Unusable);
            return Device.Cpu.WithDescription($"CPU (managed SIMD backend): {why}");
        }
    }

    static bool IsGpu(Device d) => d.Type is DeviceType.Cuda or DeviceType.OpenCL;

    static bool HasGpu()
    {
        lock (Gate) return Backends.Any(b => IsGpu(b.Device));
    }

    // Loads the GPU package if the application ships it; its module initializer registers the usable GPUs and
    // reports the unusable ones. Absent package: the CPU fallback says so.
    static void LoadGpuPackage()
    {
        try
        {
            var assembly = Assembly.Load(new AssemblyName(GpuPackage));
            RuntimeHelpers.RunModuleConstructor(assembly.ManifestModule.ModuleHandle);
        }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException or PlatformNotSupportedException)
        {
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            ReportUnusable($"{GpuPackage} failed to initialise: {e.GetType().Name}: {e.Message}");
        }
    }
}
