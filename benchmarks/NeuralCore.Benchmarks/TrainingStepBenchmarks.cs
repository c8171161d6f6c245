using NeuralCore.Samples;
using BenchmarkDotNet.Attributes;
using NeuralCore;
using NeuralCore.Nn;
using NeuralCore.Optim;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Benchmarks;

/// <summary>
/// Whole training steps and inference passes, written as a user would: each step runs inside
/// <see cref="Tensor.Scope"/> so its temporaries return to the pool when it ends. The data is a fixed random
/// batch (no data loading is timed).
/// </summary>
[MemoryDiagnoser]
public class TrainingStepBenchmarks
{
    LeNet lenet = null!;
    Sgd sgd = null!;
    Tensor images = null!, labels = null!, image1 = null!;

    Sequential mlp = null!;
    Adam adam = null!;
    Tensor mlpInput = null!, mlpLabels = null!;

    [GlobalSetup]
    public void Setup()
    {
        Rng.ManualSeed(1);
        lenet = new LeNet();
        sgd = new Sgd(lenet.Parameters(), lr: 0.001, momentum: 0.9);
        images = Tensor.Randn(100, 3, 32, 32);
        labels = Tensor.RandInt(0, 10, [100]);
        image1 = Tensor.Randn(1, 3, 32, 32);

        mlp = new Sequential(new Linear(784, 256), new ReLU(), new Linear(256, 128), new ReLU(), new Linear(128, 10));
        adam = new Adam(mlp.Parameters(), lr: 1e-3);
        mlpInput = Tensor.Randn(64, 784);
        mlpLabels = Tensor.RandInt(0, 10, [64]);
    }

    /// <summary>LeNet, batch 100 on 3×32×32: ZeroGrad, forward, CrossEntropy, Backward, SGD (lr 0.001, momentum 0.9) step.</summary>
    [Benchmark]
    public void LeNetTrainStep_Batch100()
    {
        lenet.Train();
        using var scope = Tensor.Scope();
        sgd.ZeroGrad();
        var loss = F.CrossEntropy(lenet.Forward(images), labels);
        loss.Backward();
        sgd.Step();
    }

    /// <summary>LeNet inference, batch 100, under NoGrad.</summary>
    [Benchmark]
    public void LeNetInference_Batch100()
    {
        lenet.Eval();
        using var scope = Tensor.Scope();
        using var noGrad = Tensor.NoGrad();
        lenet.Forward(images);
    }

    /// <summary>LeNet inference, batch 1, under NoGrad (latency of a single image).</summary>
    [Benchmark]
    public void LeNetInference_Batch1()
    {
        lenet.Eval();
        using var scope = Tensor.Scope();
        using var noGrad = Tensor.NoGrad();
        lenet.Forward(image1);
    }

    /// <summary>MLP 784-256-128-10 with ReLU, batch 64: ZeroGrad, forward, CrossEntropy, Backward, Adam (lr 1e-3) step.</summary>
    [Benchmark]
    public void MlpAdamTrainStep_Batch64()
    {
        mlp.Train();
        using var scope = Tensor.Scope();
        adam.ZeroGrad();
        var loss = F.CrossEntropy(mlp.Forward(mlpInput), mlpLabels);
        loss.Backward();
        adam.Step();
    }
}
