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
    Tensor rows = null!, bias = null!, image = null!, channel = null!;
    Tensor act = null!, actGrad = null!;

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

    [GlobalSetup(Targets = [nameof(BiasAdd_100x120), nameof(ChannelAdd_NCHW)])]
    public void SetupBroadcast()
    {
        Rng.ManualSeed(1);
        rows = Tensor.Randn(100, 120);
        bias = Tensor.Randn(120);
        image = Tensor.Randn(100, 6, 28, 28);
        channel = Tensor.Randn(1, 6, 1, 1);
    }

    [GlobalSetup(Target = nameof(ReluForwardBackward_LeNet))]
    public void SetupRelu()
    {
        Rng.ManualSeed(1);
        act = Tensor.Randn(100, 6, 28, 28).RequiresGrad_();
        actGrad = Tensor.Randn(100, 6, 28, 28);
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

    /// <summary>A tensor plus a C# scalar (the scalar becomes a 0-d operand broadcast over the tensor).</summary>
    [Benchmark]
    public Tensor AddScalar()
    {
        var r = x + 2.0;
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

    /// <summary>A Linear layer's bias add: [100, 120] + [120] (the bias row broadcast over the batch).</summary>
    [Benchmark]
    public Tensor BiasAdd_100x120()
    {
        var r = rows + bias;
        r.Dispose();
        return r;
    }

    /// <summary>A per-channel add on LeNet's first activation: [100, 6, 28, 28] + [1, 6, 1, 1].</summary>
    [Benchmark]
    public Tensor ChannelAdd_NCHW()
    {
        var r = image + channel;
        r.Dispose();
        return r;
    }

    /// <summary>ReLU forward and backward on LeNet's first activation [100, 6, 28, 28] (470,400 elements).</summary>
    [Benchmark]
    public Tensor ReluForwardBackward_LeNet()
    {
        act.Grad = null;
        using (Tensor.Scope())
        {
            var r = act.Relu();
            r.Backward(actGrad);
        }
        var g = act.Grad!;
        g.Dispose();
        return g;
    }
}
