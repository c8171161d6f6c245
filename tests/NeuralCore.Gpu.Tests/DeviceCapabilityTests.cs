using System.Reflection;
using System.Text.RegularExpressions;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using NeuralCore.Backends;
using NeuralCore.Gpu.Kernels;

namespace NeuralCore.Gpu.Tests;

/// <summary>
/// What the probe requires of a device (the capabilities the kernels use), the register-blocked GEMM's shared memory
/// against the device's limit, and a failed kernel warm-up withdrawing the device with its reason.
/// </summary>
public sealed class DeviceCapabilityTests
{
    [Fact]
    public void ProbeRequiresWhatTheKernelsUse()
    {
        Assert.Null(Gpu.MissingCapabilities(true, true, 48 * 1024, 1024));
        Assert.Null(Gpu.MissingCapabilities(true, true, 0, 0)); // sizes not reported
        Assert.Contains("double precision", Gpu.MissingCapabilities(false, true, 48 * 1024, 1024));
        Assert.Contains("64-bit integer atomics", Gpu.MissingCapabilities(true, false, 48 * 1024, 1024));
        string? small = Gpu.MissingCapabilities(true, true, 2048, 256);
        Assert.Contains($"{Gpu.MinSharedBytes} bytes of shared memory per group (it has 2048)", small);
        string? both = Gpu.MissingCapabilities(false, false, 48 * 1024, 256)!;
        Assert.Contains("double precision", both);
        Assert.Contains("atomics", both);
        // The requirement covers the largest shared memory of every kernel other than the register-blocked GEMMs.
        Assert.Equal(2 * 16 * 17 * 8, GemmPlanner.SharedBytes(GemmKernel.Tiled, 8));
        Assert.True(Gpu.MinSharedBytes >= ReduceKernels.MaxGroup * 16);
    }

    [Theory]
    [InlineData(nameof(GemmKernels.Blocked8x8), typeof(double), typeof(F64))]
    [InlineData(nameof(GemmKernels.Blocked4x4), typeof(double), typeof(F64))]
    [InlineData(nameof(GemmKernels.Blocked8x8), typeof(float), typeof(F32))]
    [InlineData(nameof(GemmKernels.Tiled), typeof(double), typeof(F64))]
    public void GemmSharedMemoryFormulaMatchesThePtx(string name, Type element, Type numeric)
    {
        var kernel = Enum.Parse<GemmKernel>(name);
        var method = typeof(GemmKernels).GetMethod(name, BindingFlags.Public | BindingFlags.Static)!.MakeGenericMethod(element, numeric);
        using var context = Context.Create(b => b.EnableAlgorithms());
        using var ptx = new PTXBackend(context, CudaArchitecture.SM_80, CudaInstructionSet.ISA_80, null!);
        var code = ((PTXCompiledKernel)ptx.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), KernelSpecialization.Empty)).PTXAssembly;
        Assert.Equal(GemmPlanner.SharedBytes(kernel, System.Runtime.InteropServices.Marshal.SizeOf(element)), PtxReport.Of(code).SharedBytes);
    }

    [Fact]
    public void BlockedGemmGivesWayOnDevicesWithLessSharedMemory()
    {
        var wide = Simulator.Wide;
        try
        {
            wide.SharedMemoryPerGroup = 32 * 1024;
            Assert.Equal(GemmKernel.Blocked8x8, wide.ChooseGemm(130, 129, 1, 4));
            Assert.Equal(GemmKernel.Tiled, wide.ChooseGemm(130, 129, 1, 8));
            // 34,000 bytes hold Blocked8x8's 33,792 for doubles but not Blocked4x4's 34,816.
            wide.SharedMemoryPerGroup = 34000;
            Assert.Equal(GemmKernel.Blocked8x8, wide.ChooseGemm(130, 129, 1, 8));
            wide.GemmOverride = GemmKernel.Blocked4x4;
            Assert.Equal(GemmKernel.Tiled, wide.ChooseGemm(130, 129, 1, 8));
            Assert.Equal(GemmKernel.Blocked4x4, wide.ChooseGemm(130, 129, 1, 4));
            // The product still runs, on the tiled kernel.
            var g = new Generator(5);
            var a = Tensor.Randn([70, 40], DType.Float64, g);
            var b = Tensor.Randn([40, 66], DType.Float64, g);
            Simulator.Close(a.MatMul(b), a.To(wide.Device).MatMul(b.To(wide.Device)), 1e-12);
        }
        finally
        {
            wide.GemmOverride = null;
            wide.SharedMemoryPerGroup = wide.Accelerator.MaxSharedMemoryPerGroup > 0 ? wide.Accelerator.MaxSharedMemoryPerGroup : 48 * 1024;
        }
    }

    [Fact]
    public void FailedWarmupWithdrawsTheDeviceWithTheReason()
    {
        var backend = Gpu.CreateSimulator(9, 2, 1, 1);
        var device = backend.Device;
        Assert.Same(backend, BackendRegistry.For(device));
        backend.Accelerator.Dispose(); // any failure while loading kernels: here the accelerator is gone
        var e = Assert.Throws<InvalidOperationException>(() => Gpu.Warmup(device));
        Assert.Contains("failed its kernel warm-up", e.Message);
        Assert.NotNull(e.InnerException);
        Assert.Throws<InvalidOperationException>(() => BackendRegistry.For(device));
        Assert.DoesNotContain(BackendRegistry.All, b => b.Device.Equals(device));
    }
}
