using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using TorchSharp;
using TorchTensor = TorchSharp.torch.Tensor;

namespace NeuralCore.Benchmarks.Comparison;

/// <summary>
/// Elementwise float32 ops on 1,048,576 elements (an add or mul moves 12 MiB: two 4 MiB reads, one 4 MiB write;
/// relu 8 MiB). Each output is disposed at once: libtorch frees it, NeuralCore returns it to its pool.
/// </summary>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class ElementwiseComparison
{
    const int Elements = 1 << 20;

    static ElementwiseComparison() => ComparisonSetup.FixNativeLibrary();

    TorchTensor tx = null!, ty = null!;
    Tensor nx = null!, ny = null!;

    [GlobalSetup]
    public void Setup()
    {
        ComparisonSetup.Initialize();
        tx = torch.randn(Elements);
        ty = torch.randn(Elements);
        nx = Tensor.Randn(Elements);
        ny = Tensor.Randn(Elements);
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Add 1M")]
    public TorchTensor TorchSharp_Add()
    {
        var r = tx + ty;
        r.Dispose();
        return r;
    }

    [Benchmark, BenchmarkCategory("Add 1M")]
    public Tensor NeuralCore_Add()
    {
        var r = nx + ny;
        r.Dispose();
        return r;
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Mul 1M")]
    public TorchTensor TorchSharp_Mul()
    {
        var r = tx * ty;
        r.Dispose();
        return r;
    }

    [Benchmark, BenchmarkCategory("Mul 1M")]
    public Tensor NeuralCore_Mul()
    {
        var r = nx * ny;
        r.Dispose();
        return r;
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Relu 1M")]
    public TorchTensor TorchSharp_Relu()
    {
        var r = tx.relu();
        r.Dispose();
        return r;
    }

    [Benchmark, BenchmarkCategory("Relu 1M")]
    public Tensor NeuralCore_Relu()
    {
        var r = nx.Relu();
        r.Dispose();
        return r;
    }
}
