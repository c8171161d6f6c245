using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Training;
using NeuralCore.Tests.Vision;
using NeuralCore.Vision;

namespace NeuralCore.Tests.Convergence;

/// <summary>
/// Real training on the full Fashion-MNIST (Debian's dataset-fashion-mnist package, installed by CI): Keras-style
/// Compile/Fit/Evaluate on all 60,000 training images, scored on the 10,000 test images. The floors lie a little below
/// every measured run and above the bars (MLP 0.88, CNN 0.90); see each test. Runs in the non-parallel "Memory" collection
/// so that no other test draws from the default generator and the seeded runs repeat the measured ones exactly.
/// </summary>
[Collection("Memory")]
public sealed class FashionMnistConvergenceTests
{
    /// <summary>Adam's rate annealed along a half cosine over the epochs (Keras' LearningRateScheduler): stable final weights.</summary>
    static LearningRateSchedulerCallback Cosine(double lr, int epochs) =>
        new((epoch, _) => lr * 0.5 * (1 + Math.Cos(Math.PI * epoch / epochs)));

    static double TrainAndScore(Sequential model, int epochs, int batchSize, double lr, long seed)
    {
        Rng.ManualSeed(seed);
        var train = new FashionMnist("data", train: true, download: false);
        var test = new FashionMnist("data", train: false, download: false);
        model.Compile(new Adam(lr: lr), "categorical_crossentropy", new[] { "accuracy" });
        var history = model.Fit(train, epochs: epochs, batchSize: batchSize, verbose: 2, callbacks: [Cosine(lr, epochs)]);
        Assert.True(history["loss"][^1] < history["loss"][0], "training loss did not fall");
        double accuracy = model.Evaluate(test, batchSize: 500)["accuracy"];
        Console.WriteLine($"test accuracy {accuracy:F4} (seed {seed}, {epochs} epochs)");
        return accuracy;
    }

    // Measured test accuracy (2-core Zen 5, Release): 0.8924 with seed 1, 0.8934 with seed 2; about 1.5 s per epoch,
    // 19 s for the test. The seed documents' Dense 64-32 reached only 0.875 after 10 epochs (seeds 1, 2), hence 256-128
    // and the cosine schedule (the last epochs' accuracy no longer jumps by a point from one epoch to the next).
    [DebianFashionMnistFact]
    public void Mlp_TenEpochs_ReachesTheFloor()
    {
        var model = new Sequential(
            new Flatten(),
            new Dense(256, activation: Activation.Relu),
            new Dense(128, activation: Activation.Relu),
            new Dense(10));
        double accuracy = TrainAndScore(model, epochs: 10, batchSize: 64, lr: 1e-3, seed: 1);
        Assert.True(accuracy >= 0.885, $"MLP test accuracy {accuracy:F4} is below the floor 0.885 (the issue's bar is 0.88).");
    }

    // Measured test accuracy: 0.9181 with seed 1, 0.9157 with seed 2; about 24 s per epoch, 100 s for the test. Without
    // batch norm (the sample's CNN) the same budget gave 0.8941 after 4 epochs and 0.8987 after 5 with the schedule.
    [DebianFashionMnistFact]
    public void Cnn_FourEpochs_ReachesTheFloor()
    {
        var model = new Sequential(
            new Conv2d(1, 16, 3, padding: 1), new BatchNorm2d(16), new ReLU(), new MaxPool2d(2),
            new Conv2d(16, 32, 3, padding: 1), new BatchNorm2d(32), new ReLU(), new MaxPool2d(2),
            new Flatten(),
            new Dense(64, activation: Activation.Relu),
            new Dense(10));
        double accuracy = TrainAndScore(model, epochs: 4, batchSize: 64, lr: 2e-3, seed: 1);
        Assert.True(accuracy >= 0.905, $"CNN test accuracy {accuracy:F4} is below the floor 0.905 (the issue's bar is 0.90).");
    }
}
