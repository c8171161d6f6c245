using BenchmarkDotNet.Attributes;
using NeuralCore;

namespace NeuralCore.Benchmarks;

/// <summary>
/// Elementwise ops through the public Tensor API on float32 tensors: add/mul/relu/exp on 1M elements
/// (an add moves 12 MiB: two 4 MiB reads, one 4 MiB write), and an add on 16M elements (192 MiB of traffic,
/// larger than the caches). Outputs are disposed at once so their buffers return to the pool.
/// </summary>
[MemoryDiagnoser]
public class ElementwiseBenchmarks
{
    const int Small = 1 << 20;   // 1,048,576
    const int Large = 1 << 24;   // 16,777,216

    Tensor x = null!, y = null!, bigX = null!, bigY = null!;

    [GlobalSetup]
    public void Setup()
    {
        Rng.ManualSeed(1);
        x = Tensor.Randn(Small);
        y = Tensor.Randn(Small);
    }

    [GlobalSetup(Target = nameof(Add16M))]
    public void SetupLarge()
    {
        Rng.ManualSeed(1);
        bigX = Tensor.Randn(Large);
        bigY = Tensor.Randn(Large);
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

    [Benchmark]
    public Tensor Exp()
    {
        var r = x.Exp();
        r.Dispose();
        return r;
    }

    /// <summary>16,777,216-element add: two 64 MiB reads and one 64 MiB write, DRAM bound.</summary>
    [Benchmark]
    public Tensor Add16M()
    {
        var r = bigX + bigY;
        r.Dispose();
        return r;
    }
}
