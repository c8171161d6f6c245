using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using NeuralCore.Backends;

namespace NeuralCore.Gpu;

/// <summary>
/// Entry point of the GPU package: device discovery, registration with <see cref="BackendRegistry"/>, kernel
/// warm-up and ILGPU's CPU simulator for tests. Referencing the package is enough for <see cref="Device.Best"/>
/// to find a GPU: the core loads this assembly by name and its module initializer calls <see cref="Register"/>.
/// </summary>
public static class Gpu
{
    static readonly object Gate = new();
    static List<GpuDeviceInfo>? probed;
    static List<IlgpuBackend>? registered;
    static Context? context;
    static IlgpuBackend? simulator;

    /// <summary>
    /// Probes CUDA and OpenCL through ILGPU (once per process) and describes every device found, including the
    /// ones NeuralCore cannot use and why (for example an OpenCL driver without the generic address space).
    /// </summary>
    public static IReadOnlyList<GpuDeviceInfo> Devices()
    {
        lock (Gate)
        {
            Probe();
            return probed!.ToArray();
        }
    }

    /// <summary>
    /// Registers every usable CUDA and OpenCL device with <see cref="BackendRegistry"/> and reports the unusable
    /// ones with <see cref="BackendRegistry.ReportUnusable"/>, so <see cref="Device.Best"/> can explain a CPU
    /// fallback. Idempotent: later calls return the same devices.
    /// </summary>
    /// <returns>The devices registered (empty when no GPU is usable).</returns>
    public static IReadOnlyList<Device> Register()
    {
        lock (Gate)
        {
            if (registered is not null) return registered.Select(b => b.Device).ToArray();
            registered = [];
            Probe();
            if (context is not null)
            {
                int cuda = 0, openCl = 0;
                foreach (var device in context.Devices)
                {
                    // Only a real CUDA or OpenCL device is ever announced as a GPU: a context whose drivers matched
                    // nothing holds just ILGPU's CPU accelerator.
                    if (device.AcceleratorType is not (AcceleratorType.Cuda or AcceleratorType.OpenCL)) continue;
                    try
                    {
                        var type = device.AcceleratorType == AcceleratorType.Cuda ? DeviceType.Cuda : DeviceType.OpenCL;
                        int index = type == DeviceType.Cuda ? cuda++ : openCl++;
                        var accelerator = device.CreateAccelerator(context);
                        var handle = Device.Create(type, index, $"{device.Name} ({type}, {device.MemorySize / (1024.0 * 1024 * 1024):0.#} GiB, ILGPU backend)");
                        var backend = new IlgpuBackend(accelerator, handle);
                        BackendRegistry.Register(backend);
                        registered.Add(backend);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        BackendRegistry.ReportUnusable($"{device.AcceleratorType} device '{device.Name}' failed to start: {e.Message}");
                    }
                }
            }
            var infos = probed!;
            foreach (var info in infos.Where(i => !i.IsUsable)) BackendRegistry.ReportUnusable(info.ToString());
            if (infos.Count == 0)
                BackendRegistry.ReportUnusable("no CUDA or OpenCL device was found (NeuralCore.Gpu needs an NVIDIA driver with libcuda.so.1, or an OpenCL 2.0+ driver)");
            return registered.Select(b => b.Device).ToArray();
        }
    }

    /// <summary>
    /// Registers ILGPU's CPU accelerator, a GPU simulated on the CPU, as <see cref="DeviceType.Simulator"/> device 0
    /// (idempotent). It runs the same kernels as a GPU, one OS thread per simulated thread, so it is slow: meant for
    /// testing kernels without a GPU, never chosen by <see cref="Device.Best"/>.
    /// </summary>
    /// <returns>The simulator device.</returns>
    public static Device UseCpuSimulator()
    {
        lock (Gate)
        {
            if (simulator is null)
            {
                // Two threads per warp, two warps per group and two processors: the smallest configuration that
                // still exercises groups, shared memory and barriers, and the fastest to simulate.
                var ctx = Context.Create(b => b.CPU(new CPUDevice(2, 2, 2)).EnableAlgorithms());
                var accelerator = ctx.GetCPUDevice(0).CreateCPUAccelerator(ctx);
                var device = Device.Create(DeviceType.Simulator, 0, "ILGPU CPU accelerator (a GPU simulated on the CPU, for testing kernels; slow)");
                simulator = new IlgpuBackend(accelerator, device, ctx);
                BackendRegistry.Register(simulator);
            }
            return simulator.Device;
        }
    }

    /// <summary>
    /// Creates and registers a further CPU simulator, <see cref="DeviceType.Simulator"/> device
    /// <paramref name="index"/> (≥ 1; 0 is <see cref="UseCpuSimulator"/>'s), whose groups hold
    /// <paramref name="threadsPerWarp"/> × <paramref name="warpsPerGroup"/> threads: kernels that need large groups
    /// (the register-blocked GEMM needs 256 threads) can then be tested without a GPU. Slower still than the default
    /// simulator, since every simulated thread is an OS thread. The backend stays registered for the process.
    /// </summary>
    internal static IlgpuBackend CreateSimulator(int index, int threadsPerWarp, int warpsPerGroup, int processors)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(index, 1);
        var ctx = Context.Create(b => b.CPU(new CPUDevice(threadsPerWarp, warpsPerGroup, processors)).EnableAlgorithms());
        var accelerator = ctx.GetCPUDevice(0).CreateCPUAccelerator(ctx);
        var device = Device.Create(DeviceType.Simulator, index,
            $"ILGPU CPU accelerator with {threadsPerWarp * warpsPerGroup} threads per group (a GPU simulated on the CPU, for testing kernels; slow)");
        var backend = new IlgpuBackend(accelerator, device, ctx);
        BackendRegistry.Register(backend);
        return backend;
    }

    /// <summary>Compiles every kernel for <paramref name="device"/> now, so that no compilation happens during training.</summary>
    /// <exception cref="ArgumentException"><paramref name="device"/> is not an ILGPU device.</exception>
    /// <exception cref="InvalidOperationException">
    /// A kernel failed to compile or load on the device (a driver or code-generation failure of any kind, given as the
    /// inner exception). The device is then withdrawn from <see cref="BackendRegistry"/> with the reason, so
    /// <see cref="Device.Best"/> falls back and says why.
    /// </exception>
    public static void Warmup(Device device)
    {
        var backend = Backend(device);
        try
        {
            backend.Warmup();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            string reason = $"{device} failed its kernel warm-up and is not used: {e.GetType().Name}: {e.Message}";
            BackendRegistry.Unregister(device, reason);
            lock (Gate) registered?.Remove(backend);
            throw new InvalidOperationException(reason, e);
        }
    }

    /// <summary>The ILGPU backend of <paramref name="device"/> (for transfer counts, memory statistics and pool control).</summary>
    /// <exception cref="ArgumentException"><paramref name="device"/> is not an ILGPU device.</exception>
    public static IlgpuBackend Backend(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return BackendRegistry.For(device) as IlgpuBackend
            ?? throw new ArgumentException($"{device} is not an ILGPU device; use a device returned by Gpu.Register() or Gpu.UseCpuSimulator().", nameof(device));
    }

    /// <summary>Shared memory per group the kernels need on any device: the tiled GEMM's two 16×17 tiles of 8-byte elements.</summary>
    internal static readonly int MinSharedBytes = Math.Max(GemmPlanner.SharedBytes(GemmKernel.Tiled, 8), Kernels.ReduceKernels.MaxGroup * (8 + 8));

    /// <summary>
    /// Why a device lacks what the kernels use, or null when it has it all: double precision (Float32 kernels convert
    /// through Float64 and compute erf, GELU, sin, cos, pow and cross-entropy sums in it), 64-bit integer atomics (the
    /// device-side index and input checks record errors with them), <see cref="MinSharedBytes"/> of shared memory per
    /// group, and one thread per group at least (the kernels size their groups to the device's maximum; the
    /// register-blocked GEMM, which needs 256 threads and 33–34 KB for 8-byte types, is skipped where either is lacking).
    /// Sizes of 0 mean the driver did not say and are not held against the device.
    /// </summary>
    internal static string? MissingCapabilities(bool float64, bool int64Atomics, long sharedPerGroup, int maxGroupSize)
    {
        var missing = new List<string>();
        if (!float64) missing.Add("double precision (Float32 kernels use it for conversions, erf/GELU, sin/cos/pow and cross-entropy sums)");
        if (!int64Atomics) missing.Add("64-bit integer atomics (the device-side index and input checks use them)");
        if (sharedPerGroup > 0 && sharedPerGroup < MinSharedBytes)
            missing.Add($"{MinSharedBytes} bytes of shared memory per group (it has {sharedPerGroup})");
        if (maxGroupSize < 0) missing.Add($"a valid maximum group size (it reports {maxGroupSize})");
        return missing.Count == 0 ? null : "it lacks " + string.Join(", ", missing);
    }

    // Builds the discovery context once; its predicates see every device and record why some are rejected.
    static void Probe()
    {
        if (probed is not null) return;
        probed = [];
        NativeLibraryResolver.Install();
        var found = probed;
        try
        {
            context = Context.Create(b => b.EnableAlgorithms()
                .Cuda(d =>
                {
                    // Every CUDA device ILGPU supports has fp64 and 64-bit atomics; shared memory and group size are checked.
                    string? reason = MissingCapabilities(true, true, d.MaxSharedMemoryPerGroup, d.MaxNumThreadsPerGroup);
                    found.Add(new GpuDeviceInfo(d.Name, DeviceType.Cuda, reason is null ? found.Count(i => i.Type == DeviceType.Cuda && i.IsUsable) : -1,
                        d.MemorySize, $"SM {d.Architecture?.Major}.{d.Architecture?.Minor}", true, d.Architecture >= CudaArchitecture.SM_53, true,
                        reason is null, reason)
                    { SharedMemoryPerGroup = d.MaxSharedMemoryPerGroup, MaxGroupSize = d.MaxNumThreadsPerGroup });
                    return reason is null;
                })
                .OpenCL(d =>
                {
                    var caps = d.Capabilities;
                    string? reason = caps.GenericAddressSpace
                        ? MissingCapabilities(caps.Float64, caps.Int64_Atomics, d.MaxSharedMemoryPerGroup, d.MaxNumThreadsPerGroup)
                        : "its OpenCL C compiler lacks the generic address space that ILGPU's generated code needs (OpenCL 2.0+ drivers have it)";
                    bool usable = reason is null;
                    found.Add(new GpuDeviceInfo(d.Name, DeviceType.OpenCL, usable ? found.Count(i => i.Type == DeviceType.OpenCL && i.IsUsable) : -1,
                        d.MemorySize, $"OpenCL C {d.CVersion}", caps.GenericAddressSpace, caps.Float16, caps.Float64, usable, reason)
                    { Int64Atomics = caps.Int64_Atomics, SharedMemoryPerGroup = d.MaxSharedMemoryPerGroup, MaxGroupSize = d.MaxNumThreadsPerGroup });
                    return usable;
                }));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            BackendRegistry.ReportUnusable($"probing CUDA/OpenCL through ILGPU failed: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>Runs when the assembly loads (the core loads it by name from <see cref="Device.Best"/>): registers the GPUs.</summary>
#pragma warning disable CA2255 // A module initializer is how this package announces itself without the core naming it.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void RegisterOnLoad()
    {
        try
        {
            Register();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            BackendRegistry.ReportUnusable($"NeuralCore.Gpu failed to initialise: {e.Message}");
        }
    }
}
