using System.Reflection;
using System.Text.RegularExpressions;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using NeuralCore.Gpu.Kernels;
using Xunit.Abstractions;

namespace NeuralCore.Gpu.Tests;

/// <summary>The register-blocked GEMM compiles to PTX whose micro-tile lives in registers.</summary>
public sealed class GemmPtxTests(ITestOutputHelper output)
{
    public static TheoryData<string, Type, Type> Kernels => new()
    {
        { nameof(GemmKernels.Blocked8x8), typeof(float), typeof(F32) },
        { nameof(GemmKernels.Blocked4x4), typeof(float), typeof(F32) },
        { nameof(GemmKernels.Blocked8x8), typeof(double), typeof(F64) },
    };

    [Theory]
    [MemberData(nameof(Kernels))]
    public void MicroTileStaysInRegisters(string kernel, Type element, Type numeric)
    {
        var method = typeof(GemmKernels).GetMethod(kernel, BindingFlags.Public | BindingFlags.Static)!.MakeGenericMethod(element, numeric);
        using var context = Context.Create(b => b.EnableAlgorithms());
        using var ptx = new PTXBackend(context, CudaArchitecture.SM_80, CudaInstructionSet.ISA_80, null!);
        var compiled = (PTXCompiledKernel)ptx.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), KernelSpecialization.Empty);
        string code = compiled.PTXAssembly;
        var dump = Environment.GetEnvironmentVariable("NEURALCORE_PTX_DUMP");
        if (!string.IsNullOrEmpty(dump)) File.WriteAllText(Path.Combine(dump, $"{kernel}_{element.Name}.ptx"), code);

        int Count(string pattern) => Regex.Matches(code, pattern).Count;
        string t = element == typeof(float) ? "f32" : "f64";
        int fma = Count($@"\bfma\.rn\.{t}\b"), mul = Count($@"\bmul(\.rn)?\.{t}\b"), add = Count($@"\badd(\.rn)?\.{t}\b");
        int sharedLoads = Count(@"\bld\.shared\."), local = Count(@"\b(ld|st)\.local\b") + Count(@"\.local\s");
        output.WriteLine($"{kernel}<{element.Name}>: {code.Length} chars, fma {fma}, mul {mul}, add {add}, ld.shared {sharedLoads}, local memory accesses {local}");
        Assert.Equal(0, local);
        int micro = kernel == nameof(GemmKernels.Blocked8x8) ? 64 : 16;
        Assert.True(fma + Math.Min(mul, add) >= micro, $"expected at least {micro} multiply-adds in the main loop, found fma {fma}, mul {mul}, add {add}");
    }
}
