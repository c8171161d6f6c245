using NeuralCore.Gpu;

namespace NeuralCore.Gpu.Tests;

/// <summary>The GPU simulator device (ILGPU's CPU accelerator) shared by the tests.</summary>
internal static class Simulator
{
    static readonly Lazy<Device> device = new(Gpu.UseCpuSimulator);

    public static Device Device => device.Value;

    public static IlgpuBackend Backend => Gpu.Backend(Device);

    // 32 threads per warp, 8 warps per group, one processor: groups of 256 threads, as the register-blocked GEMM needs.
    static readonly Lazy<IlgpuBackend> wide = new(() => Gpu.CreateSimulator(1, 32, 8, 1));

    /// <summary>A second simulator (<see cref="DeviceType.Simulator"/> device 1) whose groups hold 256 threads.</summary>
    public static IlgpuBackend Wide => wide.Value;

    /// <summary>Asserts that two tensors (on any devices) hold the same values within a relative/absolute tolerance.</summary>
    public static void Close(Tensor expected, Tensor actual, double tol = 1e-5)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var e = expected.To(Device.Cpu).To(DType.Float64).ToArray<double>();
        var a = actual.To(Device.Cpu).To(DType.Float64).ToArray<double>();
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= tol * (1 + Math.Abs(e[i])), $"element {i}: expected {e[i]}, got {a[i]}");
    }
}
