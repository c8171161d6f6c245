using BenchmarkDotNet.Attributes;
using NeuralCore.Data;
using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Privacy;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Benchmarks;

/// <summary>
/// One training step without privacy and one DP-SGD step (σ = 1, C = 1, flat clipping) with materialized per-sample
/// gradients and with ghost clipping, for the DpFashionMnist MLP (784-64-10 tanh, batch 1024) and a small CNN
/// (Conv 1→16 5×5 stride 2, Conv 16→32 3×3 stride 2, Linear 1568→10, batch 256, 1×28×28 inputs). Each step is
/// ZeroGrad, forward, CrossEntropy, Backward and an SGD step (the DP step clips and noises in its pre-step hook).
/// </summary>
[MemoryDiagnoser]
public class PrivacyStepBenchmarks
{
    /// <summary>The model: the MLP or the CNN.</summary>
    [Params("Mlp784-64-10_B1024", "SmallCnn_B256")]
    public string Model { get; set; } = "";

    /// <summary>Plain (no privacy), Materialized or Ghost.</summary>
    [Params("Plain", "Materialized", "Ghost")]
    public string Step { get; set; } = "";

    Sequential model = null!;
    Sgd sgd = null!;
    PrivateTraining? dp;
    Tensor x = null!, y = null!;

    [GlobalSetup]
    public void Setup()
    {
        Rng.ManualSeed(1);
        int batch;
        if (Model.StartsWith("Mlp", StringComparison.Ordinal))
        {
            batch = 1024;
            model = new Sequential(new Linear(784, 64), new Tanh(), new Linear(64, 10));
            x = Tensor.Randn(batch, 784);
        }
        else
        {
            batch = 256;
            model = new Sequential(new Conv2d(1, 16, 5, stride: 2, padding: 2), new ReLU(), new Conv2d(16, 32, 3, stride: 2, padding: 1), new ReLU(),
                new Flatten(), new Linear(32 * 7 * 7, 10));
            x = Tensor.Randn(batch, 1, 28, 28);
        }
        y = Tensor.RandInt(0, 10, [batch]);
        sgd = new Sgd(model.Parameters(), lr: 0.01);
        if (Step != "Plain")
        {
            // The loader only sets the sampling rate (batch / N); the benchmark feeds the fixed batch itself.
            var data = new TensorDataset(Tensor.Zeros(batch * 10, 1), Tensor.Zeros([batch * 10], DType.Int64, null));
            var mode = Step == "Ghost" ? GradSampleMode.Ghost : GradSampleMode.Materialized;
            dp = new PrivacyEngine().MakePrivate(model, sgd, new DataLoader(data, batch), 1.0, 1.0, generator: new Generator(2), gradSampleMode: mode).Training;
        }
    }

    [GlobalCleanup]
    public void Cleanup() => dp?.Dispose();

    /// <summary>One step of the configured kind.</summary>
    [Benchmark]
    public void TrainStep()
    {
        model.Train();
        using var scope = Tensor.Scope();
        sgd.ZeroGrad();
        F.CrossEntropy(model.Forward(x), y).Backward();
        sgd.Step();
    }
}
