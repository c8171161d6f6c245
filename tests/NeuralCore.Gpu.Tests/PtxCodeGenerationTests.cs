using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace NeuralCore.Gpu.Tests;

/// <summary>Compiles every kernel the backend uses to CUDA PTX offline (no GPU needed), so CUDA code generation cannot rot.</summary>
public sealed class PtxCodeGenerationTests
{
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
        })
            Assert.True(loaded.Count(k => k == kernel) == variants, $"Warmup loaded {loaded.Count(k => k == kernel)} variants of {kernel}, expected {variants}.");

        using var context = Context.Create(b => b.EnableAlgorithms());
        using var ptx = new PTXBackend(context, CudaArchitecture.SM_80, CudaInstructionSet.ISA_80, null!);
        var failures = new List<string>();
        foreach (var (method, isExplicit) in kernels)
        {
            string name = $"{method.DeclaringType?.Name}.{method.Name}<{string.Join(", ", method.GetGenericArguments().Select(t => t.Name))}>";
            try
            {
                var entry = isExplicit ? EntryPointDescription.FromExplicitlyGroupedKernel(method) : EntryPointDescription.FromImplicitlyGroupedKernel(method);
                var compiled = (PTXCompiledKernel)ptx.Compile(entry, KernelSpecialization.Empty);
                if (string.IsNullOrWhiteSpace(compiled.PTXAssembly) || !compiled.PTXAssembly.Contains(".entry", StringComparison.Ordinal))
                    failures.Add($"{name}: no PTX entry point");
            }
            catch (Exception e)
            {
                failures.Add($"{name}: {e.GetType().Name}: {e.Message}");
            }
        }
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }
}
