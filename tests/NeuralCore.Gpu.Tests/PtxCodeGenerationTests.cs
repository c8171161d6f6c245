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

/// <summary>
/// Compiles every kernel the backend uses to CUDA PTX offline (no GPU needed), so CUDA code generation cannot rot, and
/// checks the generated code for what ILGPU's CPU simulator cannot show: hardware approximations where accuracy is
/// promised, loops in the math functions, local memory in the GEMM kernels and shared memory beyond the devices' limits.
/// </summary>
public sealed class PtxCodeGenerationTests(ITestOutputHelper output)
{
    /// <summary>Shared memory every CUDA device gives a group statically, and the smaller limit some OpenCL devices have.</summary>
    const int CudaStaticShared = 48 * 1024, SmallDeviceShared = 32 * 1024;

    static string Compile(PTXBackend ptx, MethodInfo method, bool isExplicit)
    {
        var entry = isExplicit ? EntryPointDescription.FromExplicitlyGroupedKernel(method) : EntryPointDescription.FromImplicitlyGroupedKernel(method);
        return ((PTXCompiledKernel)ptx.Compile(entry, KernelSpecialization.Empty)).PTXAssembly;
    }

    static string Name(MethodInfo method) =>
        $"{method.DeclaringType?.Name}.{method.Name}<{string.Join(", ", method.GetGenericArguments().Select(t => t.Name))}>";

    [Fact]
    public void EveryKernelCompilesToPtxForSm80()
    {
        var backend = Simulator.Backend;
        backend.Warmup();
        var kernels = backend.LoadedKernels;
        Assert.True(kernels.Count > 100, $"Warmup loaded only {kernels.Count} kernels.");
        // The fused fast paths, each in both float types (and both target types for cross-entropy).
        var loaded = kernels.Select(k => $"{k.Method.DeclaringType?.Name}.{k.Method.Name}").ToList();
        foreach (var (kernel, variants) in new[]
        {
            ("OptimizerKernels.Adam", 2), ("OptimizerKernels.Sgd", 2), ("PoolKernels.MaxValues", 2),
            ("LossKernels.RowForward", 4), ("LossKernels.Total", 4), ("LossKernels.Backward", 4),
            ("AttentionKernels.Forward", 2), ("AttentionKernels.BackwardQuery", 2), ("AttentionKernels.BackwardKey", 2),
        })
            Assert.True(loaded.Count(k => k == kernel) == variants, $"Warmup loaded {loaded.Count(k => k == kernel)} variants of {kernel}, expected {variants}.");

        using var context = Context.Create(b => b.EnableAlgorithms());
        using var ptx = new PTXBackend(context, CudaArchitecture.SM_80, CudaInstructionSet.ISA_80, null!);
        var failures = new List<string>();
        var dump = Environment.GetEnvironmentVariable("NEURALCORE_PTX_DUMP");
        int largestShared = 0;
        foreach (var (method, isExplicit) in kernels)
        {
            string name = Name(method);
            string code;
            try
            {
                code = Compile(ptx, method, isExplicit);
            }
            catch (Exception e)
            {
                failures.Add($"{name}: {e.GetType().Name}: {e.Message}");
                continue;
            }
            if (!string.IsNullOrEmpty(dump)) File.WriteAllText(Path.Combine(dump, Regex.Replace(name, @"[^A-Za-z0-9_.]+", "_") + ".ptx"), code);
            if (string.IsNullOrWhiteSpace(code) || !code.Contains(".entry", StringComparison.Ordinal))
            {
                failures.Add($"{name}: no PTX entry point");
                continue;
            }
            var report = PtxReport.Of(code);
            // Accuracy is promised for every kernel: no hardware approximation of any kind (tanh.approx, ex2.approx,
            // lg2.approx, sin.approx, rcp/sqrt/div approximations).
            if (report.Approximations.Count > 0) failures.Add($"{name}: approximate instructions {string.Join(", ", report.Approximations)}");
            bool gemm = method.DeclaringType == typeof(GemmKernels);
            if (gemm && report.LocalAccesses > 0) failures.Add($"{name}: {report.LocalAccesses} local memory accesses");
            if (report.SharedBytes > CudaStaticShared) failures.Add($"{name}: {report.SharedBytes} bytes of static shared memory (CUDA allows {CudaStaticShared})");
            // Above 32 KB only the register-blocked GEMMs, whose launch checks the device's limit (IlgpuBackend.ChooseGemm).
            if (report.SharedBytes > SmallDeviceShared && !(gemm && method.Name.StartsWith("Blocked", StringComparison.Ordinal)))
                failures.Add($"{name}: {report.SharedBytes} bytes of shared memory, more than the {SmallDeviceShared} some devices have, and its launch does not check");
            largestShared = Math.Max(largestShared, report.SharedBytes);
            // Elementwise kernels are loop-free once their op's math is (the index arithmetic is unrolled): a loop here
            // is a range reduction or series whose trip count the input decides. Erf and GELU keep the host's series and
            // continued fraction, loops bounded by 60 and 200 steps; random fills loop over a block's 2 or 4 lanes.
            string? op = method.IsGenericMethod ? method.GetGenericArguments().LastOrDefault()?.Name : null;
            int allowed = method.DeclaringType == typeof(RandomKernels) ? 1
                : op is not null && (op.StartsWith("ErfFn", StringComparison.Ordinal) || op.StartsWith("GeluFn", StringComparison.Ordinal)) ? 2 : 0;
            if (method.DeclaringType == typeof(ElementwiseKernels) || method.DeclaringType == typeof(RandomKernels) || method.DeclaringType == typeof(OptimizerKernels))
                if (report.BackwardBranches > allowed) failures.Add($"{name}: {report.BackwardBranches} loops, at most {allowed} expected");
        }
        output.WriteLine($"{kernels.Count} kernels compiled; largest static shared memory {largestShared} bytes");
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }
}

/// <summary>What the PTX checks look for in one compiled kernel.</summary>
internal sealed record PtxReport(IReadOnlyList<string> Approximations, int LocalAccesses, int SharedBytes, int BackwardBranches)
{
    public static PtxReport Of(string code)
    {
        var approx = Regex.Matches(code, @"\b[a-z0-9]+(\.[a-z0-9]+)*\.approx(\.[a-z0-9]+)*").Select(m => m.Value).Distinct().ToList();
        int local = Regex.Matches(code, @"\b(ld|st)\.local\b").Count + Regex.Matches(code, @"^\s*\.local\s", RegexOptions.Multiline).Count;
        int shared = 0;
        foreach (Match m in Regex.Matches(code, @"\.shared\s+(?:\.align\s+\d+\s+)?\.(b|u|s|f)(\d+)\s+[A-Za-z_$][\w$]*\[(\d+)\]"))
            shared += int.Parse(m.Groups[2].Value) / 8 * int.Parse(m.Groups[3].Value);
        // A backward branch jumps to a label defined earlier in the text: the closing edge of a loop.
        var labels = new Dictionary<string, int>();
        foreach (Match m in Regex.Matches(code, @"^\s*([A-Za-z_$][\w$]*):", RegexOptions.Multiline)) labels[m.Groups[1].Value] = m.Index;
        int backward = 0;
        foreach (Match m in Regex.Matches(code, @"\bbra(?:\.uni)?\s+([A-Za-z_$][\w$]*)\s*;"))
            if (labels.TryGetValue(m.Groups[1].Value, out int at) && at < m.Index) backward++;
        return new PtxReport(approx, local, shared, backward);
    }
}

/// <summary>
/// Each <see cref="DeviceMath"/> function compiled on its own to PTX: loop-free (a fixed number of steps for any input)
/// and free of approximate instructions; and the checks themselves catch what ILGPU's own math emits.
/// </summary>
public sealed class DeviceMathPtxTests(ITestOutputHelper output)
{
    static void Exp64(Index1D i, ArrayView<double> a) => a[i] = DeviceMath.Exp(a[i]);
    static void Expm164(Index1D i, ArrayView<double> a) => a[i] = DeviceMath.Expm1(a[i]);
    static void Log64(Index1D i, ArrayView<double> a) => a[i] = DeviceMath.Log(a[i]);
    static void Tanh64(Index1D i, ArrayView<double> a) => a[i] = DeviceMath.Tanh(a[i]);
    static void Sin64(Index1D i, ArrayView<double> a) => a[i] = DeviceMath.Sin(a[i]);
    static void Cos64(Index1D i, ArrayView<double> a) => a[i] = DeviceMath.Cos(a[i]);
    static void Pow64(Index1D i, ArrayView<double> a) => a[i] = DeviceMath.Pow(a[i], a[i + 1]);
    static void Exp32(Index1D i, ArrayView<float> a) => a[i] = DeviceMath.Exp(a[i]);
    static void Expm132(Index1D i, ArrayView<float> a) => a[i] = DeviceMath.Expm1(a[i]);
    static void Log32(Index1D i, ArrayView<float> a) => a[i] = DeviceMath.Log(a[i]);
    static void Tanh32(Index1D i, ArrayView<float> a) => a[i] = DeviceMath.Tanh(a[i]);
    static void Sin32(Index1D i, ArrayView<float> a) => a[i] = DeviceMath.Sin(a[i]);
    static void Pow32(Index1D i, ArrayView<float> a) => a[i] = DeviceMath.Pow(a[i], a[i + 1]);

    // What ILGPU emits for .NET's Math/MathF inside a kernel.
    static void IlgpuTanh32(Index1D i, ArrayView<float> a) => a[i] = MathF.Tanh(a[i]);
    static void IlgpuSin64(Index1D i, ArrayView<double> a) => a[i] = Math.Sin(a[i]);

    public static TheoryData<string> Functions => new()
    {
        nameof(Exp64), nameof(Expm164), nameof(Log64), nameof(Tanh64), nameof(Sin64), nameof(Cos64), nameof(Pow64),
        nameof(Exp32), nameof(Expm132), nameof(Log32), nameof(Tanh32), nameof(Sin32), nameof(Pow32),
    };

    static PtxReport Report(string kernel)
    {
        var method = typeof(DeviceMathPtxTests).GetMethod(kernel, BindingFlags.NonPublic | BindingFlags.Static)!;
        using var context = Context.Create(b => b.EnableAlgorithms());
        using var ptx = new PTXBackend(context, CudaArchitecture.SM_80, CudaInstructionSet.ISA_80, null!);
        var code = ((PTXCompiledKernel)ptx.Compile(EntryPointDescription.FromImplicitlyGroupedKernel(method), KernelSpecialization.Empty)).PTXAssembly;
        return PtxReport.Of(code);
    }

    [Theory]
    [MemberData(nameof(Functions))]
    public void CompilesLoopFreeWithoutApproximations(string kernel)
    {
        var report = Report(kernel);
        output.WriteLine($"{kernel}: {report.BackwardBranches} backward branches, approximations [{string.Join(", ", report.Approximations)}], local {report.LocalAccesses}");
        Assert.Equal(0, report.BackwardBranches);
        Assert.Empty(report.Approximations);
    }

    [Fact]
    public void TheChecksCatchIlgpusOwnMath()
    {
        var tanh = Report(nameof(IlgpuTanh32));
        Assert.Contains("tanh.approx.f32", tanh.Approximations);
        var sin = Report(nameof(IlgpuSin64));
        output.WriteLine($"ILGPU's Math.Sin: {sin.BackwardBranches} backward branches");
        Assert.True(sin.BackwardBranches > 0, "ILGPU's double sine reduces its argument in a loop; the check should see it.");
    }
}
