using BenchmarkDotNet.Attributes;
using NeuralCore;

namespace NeuralCore.Benchmarks;

/// <summary>
/// Fixed per-op cost on 1-element float32 tensors, where the arithmetic is negligible: dispatch, shape checks,
/// output allocation, and (when a leaf requires grad) recording the autograd node.
/// </summary>
[MemoryDiagnoser]
public class OverheadBenchmarks
{
    Tensor a = null!, b = null!, leaf = null!, leaf2 = null!;

    [GlobalSetup]
    public void Setup()
    {
        a = Tensor.FromArray([1.5f], 1);
        b = Tensor.FromArray([0.25f], 1);
        leaf = Tensor.FromArray([1.5f], 1).RequiresGrad_();
        leaf2 = Tensor.FromArray([0.25f], 1).RequiresGrad_();
    }

    /// <summary>1-element add, neither operand requires grad (no graph recorded).</summary>
    [Benchmark(Baseline = true)]
    public Tensor Add_NoAutograd()
    {
        var r = a + b;
        r.Dispose();
        return r;
    }

    /// <summary>1-element add with a requires-grad leaf: records an AddBackward node.</summary>
    [Benchmark]
    public Tensor Add_Autograd()
    {
        var r = leaf + b;
        r.Dispose();
        return r;
    }

    /// <summary>1-element add of two requires-grad leaves: records an AddBackward node with two tracked inputs.</summary>
    [Benchmark]
    public Tensor Add_BothRequireGrad()
    {
        var r = leaf + leaf2;
        r.Dispose();
        return r;
    }

    /// <summary>1-element add with a requires-grad leaf inside <c>Tensor.NoGrad()</c> (includes entering and leaving it).</summary>
    [Benchmark]
    public Tensor Add_InsideNoGrad()
    {
        Tensor r;
        using (Tensor.NoGrad()) r = leaf + b;
        r.Dispose();
        return r;
    }

    /// <summary>A chain of 10 ops (add, mul, sub, relu, exp, neg, add, tanh, mul, sigmoid) on 1-element tensors, no autograd; intermediates disposed.</summary>
    [Benchmark]
    public Tensor Chain10_NoAutograd() => Chain(a);

    /// <summary>The same 10-op chain starting from a requires-grad leaf (10 graph nodes recorded; no backward).</summary>
    [Benchmark]
    public Tensor Chain10_Autograd() => Chain(leaf);

    Tensor Chain(Tensor x)
    {
        var t1 = x + b;
        var t2 = t1 * b;
        var t3 = t2 - b;
        var t4 = t3.Relu();
        var t5 = t4.Exp();
        var t6 = -t5;
        var t7 = t6 + b;
        var t8 = t7.Tanh();
        var t9 = t8 * b;
        var t10 = t9.Sigmoid();
        t1.Dispose(); t2.Dispose(); t3.Dispose(); t4.Dispose(); t5.Dispose();
        t6.Dispose(); t7.Dispose(); t8.Dispose(); t9.Dispose(); t10.Dispose();
        return t10;
    }
}
