using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using TorchSharp;
using TorchTensor = TorchSharp.torch.Tensor;

namespace NeuralCore.Benchmarks.Comparison;

/// <summary>
/// Fixed per-op cost: an add of two 1-element float32 tensors, once with plain inputs and once with two leaves that
/// require grad (so the op records an autograd node). The output is disposed at once in both libraries.
/// </summary>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class OverheadComparison
{
    static OverheadComparison() => ComparisonSetup.FixNativeLibrary();

    TorchTensor ta = null!, tb = null!, tLeafA = null!, tLeafB = null!;
    Tensor na = null!, nb = null!, nLeafA = null!, nLeafB = null!;

    [GlobalSetup]
    public void Setup()
    {
        ComparisonSetup.Initialize();
        ta = torch.tensor(new[] { 1.5f });
        tb = torch.tensor(new[] { 0.25f });
        tLeafA = torch.tensor(new[] { 1.5f }).requires_grad_();
        tLeafB = torch.tensor(new[] { 0.25f }).requires_grad_();
        na = Tensor.FromArray([1.5f], 1);
        nb = Tensor.FromArray([0.25f], 1);
        nLeafA = Tensor.FromArray([1.5f], 1).RequiresGrad_();
        nLeafB = Tensor.FromArray([0.25f], 1).RequiresGrad_();
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Add 1 element, no autograd")]
    public TorchTensor TorchSharp_Add()
    {
        var r = ta + tb;
        r.Dispose();
        return r;
    }

    [Benchmark, BenchmarkCategory("Add 1 element, no autograd")]
    public Tensor NeuralCore_Add()
    {
        var r = na + nb;
        r.Dispose();
        return r;
    }

    [Benchmark(Baseline = true), BenchmarkCategory("Add 1 element, autograd")]
    public TorchTensor TorchSharp_AddAutograd()
    {
        var r = tLeafA + tLeafB;
        r.Dispose();
        return r;
    }

    [Benchmark, BenchmarkCategory("Add 1 element, autograd")]
    public Tensor NeuralCore_AddAutograd()
    {
        var r = nLeafA + nLeafB;
        r.Dispose();
        return r;
    }
}
