namespace NeuralCore.Samples;

/// <summary>
/// The samples' <c>--device</c> option: cpu, best (a GPU when one works, else the CPU), gpu/cuda, or simulator
/// (the GPU backend's kernels on ILGPU's CPU simulator: slow, for checking the GPU code path without a GPU).
/// </summary>
internal static class DeviceOption
{
    /// <summary>The names the option accepts.</summary>
    public const string Names = "cpu|best|gpu|cuda|simulator";

    /// <summary>Resolves a name to a device.</summary>
    /// <exception cref="ArgumentException">The name is not one of <see cref="Names"/>.</exception>
    /// <exception cref="InvalidOperationException">A GPU was asked for and none is usable (the message says why).</exception>
    public static Device Resolve(string name)
    {
        switch (name)
        {
            case "cpu": return Device.Cpu;
            case "best": return Device.Best();
            case "gpu" or "cuda":
                var gpus = NeuralCore.Gpu.Gpu.Register();
                if (gpus.Count > 0) return gpus[0];
                throw new InvalidOperationException($"--device {name}: no usable GPU. {Device.Best().Description}");
            case "simulator": return NeuralCore.Gpu.Gpu.UseCpuSimulator();
            default: throw new ArgumentException($"Unknown device '{name}'. Use {Names}.");
        }
    }
}
