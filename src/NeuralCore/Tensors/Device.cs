using NeuralCore.Backends;

namespace NeuralCore;

/// <summary>The kind of processor a <see cref="Device"/> runs on.</summary>
public enum DeviceType
{
    /// <summary>The host CPU (managed SIMD backend).</summary>
    Cpu,
    /// <summary>An NVIDIA GPU through CUDA.</summary>
    Cuda,
    /// <summary>An OpenCL device.</summary>
    OpenCL,
    /// <summary>
    /// ILGPU's CPU accelerator: a GPU simulated on the CPU, for testing GPU kernels without a GPU; slow, and never
    /// chosen by <see cref="Device.Best"/>.
    /// </summary>
    Simulator,
}

/// <summary>
/// Where a tensor's storage lives. Devices other than the CPU are provided by backend packages that register
/// with <see cref="BackendRegistry"/>; the core library never names them.
/// </summary>
public sealed class Device : IEquatable<Device>
{
    /// <summary>The host CPU.</summary>
    public static Device Cpu { get; } = new(DeviceType.Cpu, 0, "CPU (managed SIMD backend)");

    Device(DeviceType type, int index, string description)
    {
        Type = type;
        Index = index;
        Description = description;
    }

    /// <summary>The kind of device.</summary>
    public DeviceType Type { get; }

    /// <summary>Ordinal among devices of the same type.</summary>
    public int Index { get; }

    /// <summary>Human-readable description, including why a fallback was chosen when <see cref="Best"/> fell back.</summary>
    public string Description { get; }

    /// <summary>True for a CUDA device.</summary>
    public bool IsCuda => Type == DeviceType.Cuda;

    /// <summary>True for the CPU.</summary>
    public bool IsCpu => Type == DeviceType.Cpu;

    /// <summary>Creates a device handle; used by backend packages when they register.</summary>
    public static Device Create(DeviceType type, int index, string description)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return type == DeviceType.Cpu ? Cpu : new Device(type, index, description);
    }

    /// <summary>The CUDA device with the given ordinal, if a registered backend provides it.</summary>
    /// <exception cref="InvalidOperationException">No registered backend provides that device.</exception>
    public static Device Cuda(int index = 0) => BackendRegistry.Find(DeviceType.Cuda, index)?.Device
        ?? throw new InvalidOperationException(
            $"No CUDA device {index} is available: no registered backend provides it. Reference NeuralCore.Gpu and check Device.Best().Description.");

    /// <summary>The GPU simulator device (ILGPU's CPU accelerator), once registered by <c>NeuralCore.Gpu.Gpu.UseCpuSimulator()</c>.</summary>
    /// <exception cref="InvalidOperationException">The simulator is not registered.</exception>
    public static Device Simulator(int index = 0) => BackendRegistry.Find(DeviceType.Simulator, index)?.Device
        ?? throw new InvalidOperationException(
            $"No simulator device {index} is registered: call NeuralCore.Gpu.Gpu.UseCpuSimulator() first.");

    /// <summary>
    /// The best usable device: the first registered GPU backend, else the CPU. When no GPU backend is registered
    /// yet, the GPU package (<c>NeuralCore.Gpu</c>) is loaded once if it is deployed with the application, and it
    /// registers the usable GPUs. When it falls back, <see cref="Description"/> says why. The GPU simulator is never chosen.
    /// </summary>
    public static Device Best() => BackendRegistry.Best();

    /// <summary>Returns a copy whose description carries a reason (used for fallbacks).</summary>
    internal Device WithDescription(string description) => new(Type, Index, description);

    /// <inheritdoc />
    public bool Equals(Device? other) => other is not null && other.Type == Type && other.Index == Index;

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Device);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Type, Index);

    /// <summary>"cpu", "cuda:0", ... as PyTorch prints devices.</summary>
    public override string ToString() => Type == DeviceType.Cpu ? "cpu" : $"{Type.ToString().ToLowerInvariant()}:{Index}";
}
