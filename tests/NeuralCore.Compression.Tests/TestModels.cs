using NeuralCore.Nn;

namespace NeuralCore.Compression.Tests;

/// <summary>Small seeded models and data shared by the compression tests.</summary>
internal static class TestModels
{
    /// <summary>Flatten → Dense 16 relu → Dense 12 relu → Dense 4, built for 2×3×3 inputs.</summary>
    public static Sequential Mlp(long seed)
    {
        Rng.ManualSeed(seed);
        var model = new Sequential(new Flatten(), new Dense(16, Activation.Relu), new Dense(12, Activation.Relu), new Dense(4));
        using (Tensor.NoGrad()) model.Forward(Tensor.Zeros(1, 2, 3, 3));
        return model;
    }

    /// <summary>Conv 6 → BatchNorm → ReLU → max-pool → Conv 8 → ReLU → Flatten → Linear 10 → ReLU → Linear 3, on 1×6×6 inputs, with non-trivial BatchNorm statistics.</summary>
    public static Sequential Cnn(long seed)
    {
        Rng.ManualSeed(seed);
        var bn = new BatchNorm2d(6);
        var model = new Sequential(
            new Conv2d(1, 6, 3, padding: 1), bn, new ReLU(), new MaxPool2d(2),
            new Conv2d(6, 8, 3, padding: 1), new ReLU(), new Flatten(),
            new Linear(8 * 3 * 3, 10), new ReLU(), new Linear(10, 3));
        using (Tensor.NoGrad())
        {
            bn.Weight!.Copy_(Tensor.Rand(6).Add(0.5));
            bn.Bias!.Copy_(Tensor.Randn(6).Mul(0.3));
            bn.RunningMean!.Copy_(Tensor.Randn(6).Mul(0.2));
            bn.RunningVar!.Copy_(Tensor.Rand(6).Add(0.5));
        }
        return model;
    }

    /// <summary>A weight's values as floats.</summary>
    public static float[] Values(Tensor t) => t.Detach().ToArray<float>();
}
