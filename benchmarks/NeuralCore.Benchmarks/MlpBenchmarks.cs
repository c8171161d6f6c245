using BenchmarkDotNet.Attributes;
using NeuralCore;
using NeuralCore.Nn;
using NeuralCore.Optim;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Benchmarks;

/// <summary>
/// The pieces of <see cref="TrainingStepBenchmarks.MlpAdamTrainStep_Batch64"/> (784-256-128-10 MLP with ReLU,
/// batch 64, CrossEntropy, Adam lr 1e-3), timed one at a time: the Linear layers forward and backward at the
/// step's shapes, the loss forward and backward, the optimizer update alone, ZeroGrad, and the GEMM shapes the
/// layers run. Each invocation runs in its own <see cref="Tensor.Scope"/>, as a training step does.
/// </summary>
[MemoryDiagnoser]
public class MlpBenchmarks
{
    Linear lin1 = null!, lin2 = null!;
    Tensor x = null!, h = null!, g1 = null!, g2 = null!;
    Tensor logits = null!, labels = null!;
    Sequential mlp = null!;
    Adam adam = null!;
    Tensor[] grads = null!;
    Tensor gemmA = null!, gemmB = null!, gemmG = null!;

    [GlobalSetup]
    public void Setup()
    {
        Rng.ManualSeed(1);
        lin1 = new Linear(784, 256);
        lin2 = new Linear(256, 128);
        x = Tensor.Randn(64, 784);
        h = Tensor.Randn(64, 256).RequiresGrad_();
        g1 = Tensor.Randn(64, 256);
        g2 = Tensor.Randn(64, 128);
        logits = Tensor.Randn(64, 10).RequiresGrad_();
        labels = Tensor.RandInt(0, 10, [64]);

        mlp = new Sequential(new Linear(784, 256), new ReLU(), new Linear(256, 128), new ReLU(), new Linear(128, 10));
        adam = new Adam(mlp.Parameters(), lr: 1e-3);
        grads = mlp.Parameters().Select(p => Tensor.RandnLike(p).Mul(1e-3)).ToArray();
        foreach (var (p, gr) in mlp.Parameters().Zip(grads)) p.Grad = gr;

        gemmA = Tensor.Randn(64, 784);
        gemmB = Tensor.Randn(784, 256);
        gemmG = Tensor.Randn(64, 256);
    }

    /// <summary>Linear 784→256 forward on [64, 784] (graph recorded: the weight requires grad).</summary>
    [Benchmark]
    public void Linear784x256_Forward()
    {
        using var scope = Tensor.Scope();
        lin1.Forward(x);
    }

    /// <summary>Linear 784→256 forward and backward (weight and bias gradients; the input needs none, as a first layer).</summary>
    [Benchmark]
    public void Linear784x256_ForwardBackward()
    {
        using var scope = Tensor.Scope();
        lin1.Forward(x).Backward(g1);
        lin1.Weight.Grad = null;
        lin1.Bias!.Grad = null;
    }

    /// <summary>Linear 256→128 forward and backward with the input gradient too (a hidden layer).</summary>
    [Benchmark]
    public void Linear256x128_ForwardBackward_InputGrad()
    {
        using var scope = Tensor.Scope();
        lin2.Forward(h).Backward(g2);
        lin2.Weight.Grad = null;
        lin2.Bias!.Grad = null;
        h.Grad = null;
    }

    /// <summary>CrossEntropy on [64, 10] logits with index targets, forward and backward.</summary>
    [Benchmark]
    public void CrossEntropy64x10_ForwardBackward()
    {
        using var scope = Tensor.Scope();
        F.CrossEntropy(logits, labels).Backward();
        logits.Grad = null;
    }

    /// <summary>One Adam step (lr 1e-3) over the MLP's six parameters, gradients already in place.</summary>
    [Benchmark]
    public void AdamStep_MlpParameters()
    {
        using var scope = Tensor.Scope();
        adam.Step();
    }

    /// <summary>ZeroGrad over the MLP's six parameters (the gradients are put back first).</summary>
    [Benchmark]
    public void ZeroGrad_MlpParameters()
    {
        int i = 0;
        foreach (var p in adam.ParamGroups[0].Parameters) p.Grad = grads[i++];
        adam.ZeroGrad();
    }

    /// <summary>The forward GEMM of the first layer: [64, 784]·[784, 256].</summary>
    [Benchmark]
    public void Gemm64x784x256()
    {
        using var scope = Tensor.Scope();
        gemmA.MatMul(gemmB);
    }

    /// <summary>The weight-gradient GEMM of the first layer: [784, 64]ᵀ-view · [64, 256].</summary>
    [Benchmark]
    public void Gemm784x64x256_TransposedA()
    {
        using var scope = Tensor.Scope();
        gemmA.T.MatMul(gemmG);
    }
}
