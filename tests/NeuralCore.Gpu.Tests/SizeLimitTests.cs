using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Gpu.Tests;

/// <summary>The GPU backend's size limits: over-limit requests are rejected before device memory is taken or a kernel runs.</summary>
public class SizeLimitTests
{
    static Device Sim => Simulator.Device;

    [Fact]
    public void MaxBytes_IsAPowerOfTwoWithinDeviceMemory()
    {
        long max = TensorLimits.MaxBytes(Sim);
        Assert.True(max > 0 && (max & (max - 1)) == 0, $"{max} is not a power of two");
        Assert.True(max <= Math.Max(Simulator.Backend.Accelerator.MemorySize, 256));
        Assert.Equal(Math.Min(TensorLimits.MaxElements, max / 4), TensorLimits.MaxElementsOf(DType.Float32, Sim));
    }

    [Fact]
    public void Broadcast_And_MatMul_Over2Pow31Elements_Throw()
    {
        long before = MemoryStats.For(Sim).AllocatedBytes;
        var a = Tensor.Zeros([65536, 1], DType.Float32, Sim);
        var b = Tensor.Zeros([1, 65536], DType.Float32, Sim);
        var add = Assert.Throws<ArgumentException>(() => a + b);
        Assert.Contains("[65536, 65536]", add.Message);
        Assert.Contains("2147483647", add.Message);
        var mm = Assert.Throws<ArgumentException>(() => Tensor.Zeros([65537, 1], DType.Float32, Sim).MatMul(Tensor.Zeros([1, 65537], DType.Float32, Sim)));
        Assert.Contains("MatMul", mm.Message);
        Assert.True(MemoryStats.For(Sim).AllocatedBytes - before < 64L << 20);
    }

    [Fact]
    public void Creation_OverDeviceBytes_ThrowsArgumentException()
    {
        long max = TensorLimits.MaxBytes(Sim);
        long elements = max / 4 + 1;
        if (elements > TensorLimits.MaxElements) return; // the element limit is the binding one on this device
        var e = Assert.Throws<ArgumentException>(() => Tensor.Zeros([elements], DType.Float32, Sim));
        Assert.Contains("Zeros", e.Message);
    }

    [Fact]
    public void ConvAndPool_HugeGeometry_ThrowArgumentException()
    {
        var x = Tensor.Randn([1, 1, 8, 8], DType.Float32, null, Sim);
        var w = Tensor.Randn([2, 1, 3, 3], DType.Float32, null, Sim);
        var conv = Assert.Throws<ArgumentException>(() => F.Conv2d(x, w, null, 1, 46341));
        Assert.Contains("Conv2d", conv.Message);
        // A valid output reached through padding and stride near int.MaxValue: the GPU kernels' 32-bit window
        // arithmetic cannot follow, so it is refused instead of indexing out of range.
        var far = Assert.Throws<ArgumentException>(() => F.Conv2d(x, w, null, int.MaxValue, int.MaxValue / 2));
        Assert.Contains("GPU", far.Message);
        var pool = Assert.Throws<ArgumentException>(() => F.AdaptiveAvgPool2d(x, 46341));
        Assert.Contains("AdaptiveAvgPool2d", pool.Message);
        // Ordinary geometry still matches the CPU.
        Simulator.Close(F.Conv2d(x.To(Device.Cpu), w.To(Device.Cpu), null, 2, 1), F.Conv2d(x, w, null, 2, 1), 1e-4);
    }
}
