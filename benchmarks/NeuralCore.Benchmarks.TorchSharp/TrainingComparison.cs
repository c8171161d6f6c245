using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Samples;
using TorchSharp;
using F = NeuralCore.Nn.Functional;
using TorchTensor = TorchSharp.torch.Tensor;

namespace NeuralCore.Benchmarks.Comparison;

/// <summary>
/// Whole training steps and inference passes on a fixed random batch, in both libraries: the sample's LeNet
/// (and <see cref="TorchLeNet"/>, the same layers in TorchSharp) and a 784-256-128-10 ReLU MLP. Each step runs
/// inside a scope that releases its temporaries when it ends (<c>Tensor.Scope</c>, <c>torch.NewDisposeScope</c>).
/// A training step is: gradients set to none, forward, CrossEntropy, backward, optimizer step.
/// </summary>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class TrainingComparison
{
    const string LeNetTrain = "LeNet train step, batch 100", LeNetInfer100 = "LeNet inference, batch 100",
                 LeNetInfer1 = "LeNet inference, batch 1", MlpTrain = "MLP Adam step, batch 64";

    static TrainingComparison() => ComparisonSetup.FixNativeLibrary();

    TorchLeNet tLeNet = null!;
    TorchSgdMomentum tSgd = null!;
    TorchTensor tImages = null!, tLabels = null!, tImage1 = null!;
    torch.nn.Module<TorchTensor, TorchTensor> tMlp = null!;
    TorchAdam tAdam = null!;
    TorchTensor tMlpInput = null!, tMlpLabels = null!;

    LeNet nLeNet = null!;
    Sgd nSgd = null!;
    Tensor nImages = null!, nLabels = null!, nImage1 = null!;
    Sequential nMlp = null!;
    Adam nAdam = null!;
    Tensor nMlpInput = null!, nMlpLabels = null!;

    [GlobalSetup]
    public void Setup()
    {
        ComparisonSetup.Initialize();

        tLeNet = new TorchLeNet();
        tSgd = new TorchSgdMomentum(tLeNet.parameters(), lr: 0.001, momentum: 0.9);
        tImages = torch.randn(100, 3, 32, 32);
        tLabels = torch.randint(0, 10, [100]);
        tImage1 = torch.randn(1, 3, 32, 32);
        tMlp = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10));
        tAdam = new TorchAdam(tMlp.parameters(), lr: 1e-3);
        tMlpInput = torch.randn(64, 784);
        tMlpLabels = torch.randint(0, 10, [64]);

        nLeNet = new LeNet();
        nSgd = new Sgd(nLeNet.Parameters(), lr: 0.001, momentum: 0.9);
        nImages = Tensor.Randn(100, 3, 32, 32);
        nLabels = Tensor.RandInt(0, 10, [100]);
        nImage1 = Tensor.Randn(1, 3, 32, 32);
        nMlp = new Sequential(new Linear(784, 256), new ReLU(), new Linear(256, 128), new ReLU(), new Linear(128, 10));
        nAdam = new Adam(nMlp.Parameters(), lr: 1e-3);
        nMlpInput = Tensor.Randn(64, 784);
        nMlpLabels = Tensor.RandInt(0, 10, [64]);
    }

    [Benchmark(Baseline = true), BenchmarkCategory(LeNetTrain)]
    public void TorchSharp_LeNetTrainStep()
    {
        tLeNet.train();
        using var scope = torch.NewDisposeScope();
        tLeNet.zero_grad();
        var loss = torch.nn.functional.cross_entropy(tLeNet.forward(tImages), tLabels);
        loss.backward();
        tSgd.Step();
    }

    [Benchmark, BenchmarkCategory(LeNetTrain)]
    public void NeuralCore_LeNetTrainStep()
    {
        nLeNet.Train();
        using var scope = Tensor.Scope();
        nSgd.ZeroGrad();
        var loss = F.CrossEntropy(nLeNet.Forward(nImages), nLabels);
        loss.Backward();
        nSgd.Step();
    }

    [Benchmark(Baseline = true), BenchmarkCategory(LeNetInfer100)]
    public void TorchSharp_LeNetInference100()
    {
        tLeNet.eval();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        tLeNet.forward(tImages);
    }

    [Benchmark, BenchmarkCategory(LeNetInfer100)]
    public void NeuralCore_LeNetInference100()
    {
        nLeNet.Eval();
        using var scope = Tensor.Scope();
        using var noGrad = Tensor.NoGrad();
        nLeNet.Forward(nImages);
    }

    [Benchmark(Baseline = true), BenchmarkCategory(LeNetInfer1)]
    public void TorchSharp_LeNetInference1()
    {
        tLeNet.eval();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        tLeNet.forward(tImage1);
    }

    [Benchmark, BenchmarkCategory(LeNetInfer1)]
    public void NeuralCore_LeNetInference1()
    {
        nLeNet.Eval();
        using var scope = Tensor.Scope();
        using var noGrad = Tensor.NoGrad();
        nLeNet.Forward(nImage1);
    }

    [Benchmark(Baseline = true), BenchmarkCategory(MlpTrain)]
    public void TorchSharp_MlpAdamStep()
    {
        tMlp.train();
        using var scope = torch.NewDisposeScope();
        tMlp.zero_grad();
        var loss = torch.nn.functional.cross_entropy(tMlp.forward(tMlpInput), tMlpLabels);
        loss.backward();
        tAdam.Step();
    }

    [Benchmark, BenchmarkCategory(MlpTrain)]
    public void NeuralCore_MlpAdamStep()
    {
        nMlp.Train();
        using var scope = Tensor.Scope();
        nAdam.ZeroGrad();
        var loss = F.CrossEntropy(nMlp.Forward(nMlpInput), nMlpLabels);
        loss.Backward();
        nAdam.Step();
    }
}
