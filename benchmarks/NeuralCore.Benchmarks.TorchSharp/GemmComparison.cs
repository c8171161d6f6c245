using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using TorchSharp;
using TorchTensor = TorchSharp.torch.Tensor;

namespace NeuralCore.Benchmarks.Comparison;

/// <summary>Square float32 matrix product N×N · N×N (2·N³ flops): <c>torch.mm</c> against <c>Tensor.MatMul</c>.</summary>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class GemmComparison
{
    static GemmComparison() => ComparisonSetup.FixNativeLibrary();

    [Params(256, 512, 1024)]
    public int N { get; set; }

    TorchTensor ta = null!, tb = null!;
    Tensor na = null!, nb = null!;

    [GlobalSetup]
    public void Setup()
    {
        ComparisonSetup.Initialize();
        ta = torch.randn(N, N);
        tb = torch.randn(N, N);
        na = Tensor.Randn(N, N);
        nb = Tensor.Randn(N, N);
    }

    [Benchmark(Baseline = true), BenchmarkCategory("SGEMM")]
    public TorchTensor TorchSharp_MatMul()
    {
        var c = torch.mm(ta, tb);
        c.Dispose();
        return c;
    }

    [Benchmark, BenchmarkCategory("SGEMM")]
    public Tensor NeuralCore_MatMul()
    {
        var c = na.MatMul(nb);
        c.Dispose();
        return c;
    }
}
