using BenchmarkDotNet.Attributes;
using NeuralCore;

namespace NeuralCore.Benchmarks;

/// <summary>Elementwise ops on 1M float32 elements (12 MB of traffic per add: two reads, one write).</summary>
[MemoryDiagnoser]
public class ElementwiseBenchmarks
{
    Tensor x = null!, y = null!;

    [GlobalSetup]
    public void Setup()
    {
        Rng.ManualSeed(1);
        x = Tensor.Randn(1 << 20);
        y = Tensor.Randn(1 << 20);
    }

    [Benchmark]
    public Tensor Add()
    {
        var r = x + y;
        r.Dispose();
        return r;
    }

    [Benchmark]
    public Tensor Mul()
    {
        var r = x * y;
        r.Dispose();
        return r;
    }

    [Benchmark]
    public Tensor Relu()
    {
        var r = x.Relu();
        r.Dispose();
        return r;
    }
}
