using BenchmarkDotNet.Attributes;
using NeuralCore;

namespace NeuralCore.Benchmarks;

/// <summary>Square float32 matrix products through the public Tensor API (2·N³ flops each).</summary>
[MemoryDiagnoser]
public class GemmBenchmarks
{
    Tensor a = null!, b = null!;

    [Params(256, 512, 1024)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Rng.ManualSeed(1);
        a = Tensor.Randn(N, N);
        b = Tensor.Randn(N, N);
    }

    [Benchmark]
    public Tensor MatMul()
    {
        var c = a.MatMul(b);
        c.Dispose();
        return c;
    }
}
