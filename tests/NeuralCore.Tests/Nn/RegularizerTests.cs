using NeuralCore.Nn;
using NeuralCore.Training;

namespace NeuralCore.Tests.Nn;

public sealed class RegularizerTests
{
    [Fact]
    public void Penalties_FollowKerasFormulas()
    {
        var w = Tensor.FromArray([1f, -2f, 3f], 3);
        Assert.Equal(0.1 * 6, Regularizers.L1(0.1).Penalty(w).Item<float>(), 1e-6);
        Assert.Equal(0.01 * 14, Regularizers.L2(0.01).Penalty(w).Item<float>(), 1e-6);
        Assert.Equal(0.1 * 6 + 0.01 * 14, Regularizers.L1L2(0.1, 0.01).Penalty(w).Item<float>(), 1e-6);
        Assert.Throws<ArgumentOutOfRangeException>(() => Regularizers.L2(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Regularizers.L1(double.NaN));
    }

    [Fact]
    public void RegularizationLoss_SumsTheLayersPenalties_AndItsGradientIsTheFormulas()
    {
        Rng.ManualSeed(3);
        var first = new Dense(4, 3, "relu", kernelRegularizer: Regularizers.L2(0.5), biasRegularizer: Regularizers.L1(0.25));
        var conv = new Conv2d(1, 2, 3) { KernelRegularizer = Regularizers.L1L2(0.1, 0.2) };
        var model = new Sequential(conv, new Flatten(), new Dense(2));
        var w = first.Weight.ToArray<float>();
        var b = first.Bias!.ToArray<float>();
        var k = conv.Weight.ToArray<float>();

        var expected = 0.5 * w.Sum(v => (double)v * v) + 0.25 * b.Sum(v => Math.Abs((double)v));
        Assert.Equal(expected, first.RegularizationLoss().Item<float>(), 1e-5);
        Assert.Equal(0.1 * k.Sum(v => Math.Abs((double)v)) + 0.2 * k.Sum(v => (double)v * v), model.RegularizationLoss().Item<float>(), 1e-5);
        Assert.Equal(0f, new Sequential(new Linear(2, 2)).RegularizationLoss().Item<float>());

        first.RegularizationLoss().Backward();
        var gw = first.Weight.Grad!.ToArray<float>();
        var gb = first.Bias.Grad!.ToArray<float>();
        for (int i = 0; i < w.Length; i++) Assert.Equal(2 * 0.5 * w[i], gw[i], 1e-6);
        for (int i = 0; i < b.Length; i++) Assert.Equal(0.25 * Math.Sign(b[i]), gb[i], 1e-6);
    }

    [Fact]
    public void Fit_MinimisesAndLogsTheLossWithThePenalty()
    {
        // A strong L2 penalty shrinks the kernel against a run without it; the logged loss includes the penalty.
        // The squared norm of the first Dense layer's kernel (the one regularized in the second run).
        float Norm(Sequential m) => m.NamedModules().Select(x => x.Module).OfType<Dense>().First().Weight.ToArray<float>().Sum(v => v * v);
        var data = NeuralCore.Tests.Training.SyntheticData.Dataset(128, seed: 1);

        Rng.ManualSeed(8);
        var plain = new Sequential(new Flatten(), new Dense(16, "relu"), new Dense(10));
        plain.Compile(new NeuralCore.Optim.Sgd(lr: 0.1), "categorical_crossentropy");
        plain.Fit(data, epochs: 5, batchSize: 16, verbose: 0, shuffle: false);

        Rng.ManualSeed(8);
        var dense = new Dense(16, "relu", kernelRegularizer: Regularizers.L2(0.5));
        var regularized = new Sequential(new Flatten(), dense, new Dense(10));
        regularized.Compile(new NeuralCore.Optim.Sgd(lr: 0.1), "categorical_crossentropy");
        var history = regularized.Fit(data, epochs: 5, batchSize: 16, verbose: 0, shuffle: false);

        // Each step multiplies the kernel by about (1 - lr * 2 * 0.5) = 0.9 beyond the data gradient: 40 steps shrink it far.
        Assert.True(Norm(regularized) < 0.25 * Norm(plain), $"{Norm(regularized)} vs {Norm(plain)}");
        // Evaluate's loss = the data loss + the penalty.
        var eval = regularized.Evaluate(data);
        double penalty = dense.RegularizationLoss().Item<float>();
        regularized.Compile("sgd", "categorical_crossentropy");
        dense.KernelRegularizer = null;
        var withoutPenalty = regularized.Evaluate(data);
        Assert.Equal(withoutPenalty.Loss + penalty, eval.Loss, 1e-4);
        Assert.True(history["loss"][^1] > 0);
    }

    [Fact]
    public void ActivityRegularizer_AddsThePerSamplePenaltyOfTheOutput()
    {
        Rng.ManualSeed(5);
        var layer = new Dense(3, 2, activityRegularizer: Regularizers.L1(0.5));
        var x = Tensor.Randn([4, 3]);

        using var activity = ActivityRegularization.Collect();
        var y = layer.Forward(x);

        Assert.Equal(1, activity.Count);
        double expected = 0.5 * y.ToArray<float>().Sum(v => Math.Abs((double)v)) / 4;
        Assert.Equal(expected, activity.Loss(y).Item<float>(), 1e-5);
    }

    [Fact]
    public void WithoutACollection_ActivityIsNotRecorded()
    {
        var layer = new Dense(3, 2, activityRegularizer: Regularizers.L1(0.5));
        layer.Forward(Tensor.Ones([2, 3]));
        using var activity = ActivityRegularization.Collect();
        Assert.Equal(0, activity.Count);
        Assert.Equal(0f, activity.Loss(Tensor.Ones([1])).Item<float>());
    }

    [Fact]
    public void Regularizers_SaveAndReload_WithTheLayer()
    {
        string dir = Directory.CreateTempSubdirectory("regularizers-").FullName;
        try
        {
            var model = new Sequential(
                new Conv2d(1, 2, 3) { KernelRegularizer = Regularizers.L2(0.01), ActivityRegularizer = Regularizers.L1(0.001) },
                new Flatten(),
                new Dense(8, 4, "tanh", kernelRegularizer: Regularizers.L1L2(0.1, 0.2), biasRegularizer: Regularizers.L2(0.3)),
                new Dense(4, 2));
            string path = Path.Combine(dir, "m.safetensors");
            model.Save(path);

            var loaded = Sequential.Load(path);
            var modules = loaded.NamedChildren().Select(c => c.Module).ToArray();
            var conv = Assert.IsType<Conv2d>(modules[0]);
            Assert.Equal(0.01, conv.KernelRegularizer!.L2);
            Assert.Equal(0.001, conv.ActivityRegularizer!.L1);
            Assert.Null(conv.BiasRegularizer);
            var dense = Assert.IsType<Dense>(modules[2]);
            Assert.Equal((0.1, 0.2), (dense.KernelRegularizer!.L1, dense.KernelRegularizer.L2));
            Assert.Equal(0.3, dense.BiasRegularizer!.L2);
            Assert.Null(Assert.IsType<Dense>(modules[3]).KernelRegularizer);
            Assert.Equal(model.RegularizationLoss().Item<float>(), loaded.RegularizationLoss().Item<float>());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
