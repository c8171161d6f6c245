using BenchmarkDotNet.Attributes;
using NeuralCore;

namespace NeuralCore.Benchmarks;

/// <summary>Reductions and softmax on float32 tensors (no autograd): full sums, per-dimension sums, softmax, argmax.</summary>
[MemoryDiagnoser]
public class ReduceBenchmarks
{
    Tensor v = null!, m = null!, logits = null!, wide = null!;

    [GlobalSetup]
    public void Setup()
    {
        Rng.ManualSeed(1);
        v = Tensor.Randn(1 << 20);          // 1,048,576
        m = Tensor.Randn(1024, 1024);
        logits = Tensor.Randn(100, 10);     // a batch of classifier outputs
        wide = Tensor.Randn(256, 1024);
    }

    /// <summary>Sum of 1,048,576 floats to a 0-d tensor.</summary>
    [Benchmark]
    public Tensor Sum1M()
    {
        var r = v.Sum();
        r.Dispose();
        return r;
    }

    /// <summary>[1024, 1024].Sum(dim: 0): reduces across rows (strided reduction direction).</summary>
    [Benchmark]
    public Tensor SumDim0_1024x1024()
    {
        var r = m.Sum(0);
        r.Dispose();
        return r;
    }

    /// <summary>[1024, 1024].Sum(dim: 1): reduces along each contiguous row.</summary>
    [Benchmark]
    public Tensor SumDim1_1024x1024()
    {
        var r = m.Sum(1);
        r.Dispose();
        return r;
    }

    [Benchmark]
    public Tensor Softmax_100x10()
    {
        var r = logits.Softmax(1);
        r.Dispose();
        return r;
    }

    [Benchmark]
    public Tensor Softmax_256x1024()
    {
        var r = wide.Softmax(1);
        r.Dispose();
        return r;
    }

    [Benchmark]
    public Tensor ArgMax_100x10()
    {
        var r = logits.ArgMax(dim: 1);
        r.Dispose();
        return r;
    }

    [Benchmark]
    public Tensor ArgMax_256x1024()
    {
        var r = wide.ArgMax(dim: 1);
        r.Dispose();
        return r;
    }
}
