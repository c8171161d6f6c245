using BenchmarkDotNet.Attributes;
using NeuralCore;
using NeuralCore.Backends;
using NeuralCore.Nn;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Benchmarks;

/// <summary>
/// Conv2d and MaxPool2d through the functional API at LeNet's shapes (batch 100 on 3×32×32) and one
/// ResNet-like 3×3 layer. Forward benchmarks use tensors that do not require grad (no graph is recorded);
/// forward+backward benchmarks use weight and bias leaves that require grad and back-propagate a gradient of
/// ones, then release the gradients so each invocation does the same work.
/// Forward flops: 2·N·Cout·Hout·Wout·Cin·kH·kW.
/// </summary>
[MemoryDiagnoser]
public class ConvBenchmarks
{
    // LeNet conv1: [100, 3, 32, 32] -> 6 @ 5x5 -> [100, 6, 28, 28]
    Tensor x1 = null!, w1 = null!, b1 = null!, g1 = null!;
    // LeNet conv2: [100, 6, 14, 14] -> 16 @ 5x5 -> [100, 16, 10, 10]
    Tensor x2 = null!, w2 = null!, b2 = null!, g2 = null!;
    // ResNet-like: [32, 64, 56, 56] -> 64 @ 3x3, padding 1 -> [32, 64, 56, 56]
    Tensor x3 = null!, w3 = null!, b3 = null!;
    // LeNet pooling input: [100, 6, 28, 28]
    Tensor p = null!;
    // LeNet's second pooling input [100, 16, 10, 10], pooled gradients and argmax indices of both poolings
    Tensor p2 = null!, gp1 = null!, gp2 = null!, idx1 = null!, idx2 = null!, pooled1 = null!;
    static readonly Conv2dParams Unit = new(1, 1, 0, 0, 1, 1, 1);
    static readonly Pool2dParams Pool2x2 = new(2, 2, 2, 2, 0, 0, false, true);

    [GlobalSetup]
    public void Setup()
    {
        Rng.ManualSeed(1);
        x1 = Tensor.Randn(100, 3, 32, 32);
        w1 = Tensor.Randn(6, 3, 5, 5).Mul(0.1);
        b1 = Tensor.Randn(6);
        g1 = Tensor.Ones(100, 6, 28, 28);

        x2 = Tensor.Randn(100, 6, 14, 14);
        w2 = Tensor.Randn(16, 6, 5, 5).Mul(0.1);
        b2 = Tensor.Randn(16);
        g2 = Tensor.Ones(100, 16, 10, 10);

        x3 = Tensor.Randn(32, 64, 56, 56);
        w3 = Tensor.Randn(64, 64, 3, 3).Mul(0.05);
        b3 = Tensor.Randn(64);

        p = Tensor.Randn(100, 6, 28, 28);
        p2 = Tensor.Randn(100, 16, 10, 10);
        gp1 = Tensor.Randn(100, 6, 14, 14);
        gp2 = Tensor.Randn(100, 16, 5, 5);
        idx1 = Tensor.Empty([100, 6, 14, 14], DType.Int64, p.Backend);
        idx2 = Tensor.Empty([100, 16, 5, 5], DType.Int64, p.Backend);
        pooled1 = Tensor.Empty([100, 6, 14, 14], DType.Float32, p.Backend);
        p.Backend.MaxPool2d(p.Buf, pooled1.Buf, idx1.Buf, Pool2x2);
        using (var t = Tensor.Empty([100, 16, 5, 5], DType.Float32, p.Backend)) p.Backend.MaxPool2d(p2.Buf, t.Buf, idx2.Buf, Pool2x2);
    }

    [GlobalSetup(Targets = new[] { nameof(LeNetConv1ForwardBackward), nameof(LeNetConv2ForwardBackward) })]
    public void SetupBackward()
    {
        Setup();
        w1.RequiresGrad_(); b1.RequiresGrad_();
        w2.RequiresGrad_(); b2.RequiresGrad_();
        x2.RequiresGrad_();   // conv2's input is an activation inside LeNet, so its gradient is needed too
    }

    /// <summary>LeNet conv1 forward: 2·100·6·28·28·3·5·5 = 70.56 MFLOP.</summary>
    [Benchmark]
    public Tensor LeNetConv1Forward()
    {
        var y = F.Conv2d(x1, w1, b1);
        y.Dispose();
        return y;
    }

    /// <summary>LeNet conv2 forward: 2·100·16·10·10·6·5·5 = 48.0 MFLOP.</summary>
    [Benchmark]
    public Tensor LeNetConv2Forward()
    {
        var y = F.Conv2d(x2, w2, b2);
        y.Dispose();
        return y;
    }

    /// <summary>LeNet conv1 forward + backward (weight and bias gradients; the image needs none).</summary>
    [Benchmark]
    public void LeNetConv1ForwardBackward()
    {
        using (Tensor.Scope())
        {
            var y = F.Conv2d(x1, w1, b1);
            y.Backward(g1);
        }
        Release(w1); Release(b1);
    }

    /// <summary>LeNet conv2 forward + backward (input, weight and bias gradients).</summary>
    [Benchmark]
    public void LeNetConv2ForwardBackward()
    {
        using (Tensor.Scope())
        {
            var y = F.Conv2d(x2, w2, b2);
            y.Backward(g2);
        }
        Release(w2); Release(b2); Release(x2);
    }

    /// <summary>ResNet-like 3×3 conv forward: 2·32·64·56·56·64·3·3 = 7.40 GFLOP.</summary>
    [Benchmark]
    public Tensor ResNet3x3Forward()
    {
        var y = F.Conv2d(x3, w3, b3, stride: 1, padding: 1);
        y.Dispose();
        return y;
    }

    /// <summary>MaxPool2d 2×2, stride 2, on [100, 6, 28, 28] (LeNet's first pooling), forward; the input needs no gradient.</summary>
    [Benchmark]
    public Tensor MaxPool2x2Forward()
    {
        var y = F.MaxPool2d(p, 2);
        y.Dispose();
        return y;
    }

    /// <summary>LeNet conv1 kernel alone (no bias): [100, 3, 32, 32] → [100, 6, 28, 28].</summary>
    [Benchmark]
    public Tensor Conv1Forward() => Dispose(ConvOps.Conv2d(x1, w1, Unit));

    /// <summary>LeNet conv1 input gradient (LeNet itself does not need it): [100, 6, 28, 28] → [100, 3, 32, 32].</summary>
    [Benchmark]
    public Tensor Conv1BackwardInput() => Dispose(ConvOps.Conv2dBackwardInput(g1, w1, 32, 32, Unit));

    /// <summary>LeNet conv1 weight gradient, summed over the batch of 100.</summary>
    [Benchmark]
    public Tensor Conv1BackwardWeight() => Dispose(ConvOps.Conv2dBackwardWeight(x1, g1, 5, 5, Unit));

    /// <summary>LeNet conv2 kernel alone (no bias): [100, 6, 14, 14] → [100, 16, 10, 10].</summary>
    [Benchmark]
    public Tensor Conv2Forward() => Dispose(ConvOps.Conv2d(x2, w2, Unit));

    /// <summary>LeNet conv2 input gradient: [100, 16, 10, 10] → [100, 6, 14, 14].</summary>
    [Benchmark]
    public Tensor Conv2BackwardInput() => Dispose(ConvOps.Conv2dBackwardInput(g2, w2, 14, 14, Unit));

    /// <summary>LeNet conv2 weight gradient, summed over the batch of 100.</summary>
    [Benchmark]
    public Tensor Conv2BackwardWeight() => Dispose(ConvOps.Conv2dBackwardWeight(x2, g2, 5, 5, Unit));

    /// <summary>MaxPool2d 2×2 stride 2 on [100, 16, 10, 10] (LeNet's second pooling), forward.</summary>
    [Benchmark]
    public Tensor MaxPool2x2Forward_16x10() => Dispose(F.MaxPool2d(p2, 2));

    /// <summary>MaxPool2d 2×2 on [100, 6, 28, 28] writing values and argmax indices (what a training pass records), into preallocated outputs.</summary>
    [Benchmark]
    public void MaxPool2x2ForwardWithIndices() => p.Backend.MaxPool2d(p.Buf, pooled1.Buf, idx1.Buf, Pool2x2);

    /// <summary>MaxPool2d 2×2 backward to [100, 6, 28, 28] (scatter of the pooled gradient to the argmax positions).</summary>
    [Benchmark]
    public Tensor MaxPool2x2Backward() => Dispose(ConvOps.MaxPool2dBackward(gp1, idx1, 28, 28, Pool2x2));

    /// <summary>MaxPool2d 2×2 backward to [100, 16, 10, 10].</summary>
    [Benchmark]
    public Tensor MaxPool2x2Backward_16x10() => Dispose(ConvOps.MaxPool2dBackward(gp2, idx2, 10, 10, Pool2x2));

    static Tensor Dispose(Tensor t)
    {
        t.Dispose();
        return t;
    }

    static void Release(Tensor leaf)
    {
        leaf.Grad?.Dispose();
        leaf.Grad = null;
    }
}
