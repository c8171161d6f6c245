using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Training;

namespace NeuralCore.Tests.Training;

public class GradientAccumulationTests
{
    static Sequential Model(long seed)
    {
        var model = new Sequential(new Linear(5, 4), new Tanh(), new Linear(4, 2));
        using (Tensor.NoGrad())
        {
            int i = 0;
            foreach (var p in model.Parameters()) p.Copy_(Tensor.Randn(p.Shape.ToArray(), DType.Float32, new Generator(seed + i++)).Mul(0.5));
        }
        return model;
    }

    static (Tensor X, Tensor Y) Data(int n) =>
        (Tensor.Randn([n, 5], DType.Float32, new Generator(1)), Tensor.Randn([n, 2], DType.Float32, new Generator(2)));

    static float[] Weights(Module m) => m.Parameters().SelectMany(p => p.ToArray<float>()).ToArray();

    static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f, $"weight {i}: {expected[i]} vs {actual[i]}");
    }

    // The reference: a plain loop stepping SGD with momentum once per group of consecutive samples, on the loss over the group.
    static float[] ManualGroups(int n, int[] groupSizes, int epochs)
    {
        var model = Model(10);
        var optimizer = new Sgd(model.Parameters(), lr: 0.1, momentum: 0.9);
        var (x, y) = Data(n);
        for (int e = 0; e < epochs; e++)
        {
            int start = 0;
            foreach (int size in groupSizes)
            {
                optimizer.ZeroGrad();
                Functional.Mse(model.Forward(x.Narrow(0, start, size)), y.Narrow(0, start, size)).Backward();
                optimizer.Step();
                start += size;
            }
        }
        return Weights(model);
    }

    static float[] Fitted(int n, int batchSize, int accumulationSteps, int epochs)
    {
        var model = Model(10);
        model.Compile(new Sgd(lr: 0.1, momentum: 0.9), "mse");
        var (x, y) = Data(n);
        var history = model.Fit(x, y, epochs: epochs, batchSize: batchSize, shuffle: false, verbose: 0, accumulationSteps: accumulationSteps);
        Assert.Equal(accumulationSteps.ToString(System.Globalization.CultureInfo.InvariantCulture), history.Parameters["accumulation_steps"]);
        return Weights(model);
    }

    [Fact]
    public void FourBatchesOfEight_StepAsOneBatchOfThirtyTwo()
    {
        var expected = ManualGroups(32, [32], epochs: 3);

        AssertClose(expected, Fitted(32, batchSize: 8, accumulationSteps: 4, epochs: 3));
        AssertClose(expected, Fitted(32, batchSize: 32, accumulationSteps: 1, epochs: 3));
        // Without accumulation, batches of eight take four steps per epoch and end elsewhere.
        var unaccumulated = Fitted(32, batchSize: 8, accumulationSteps: 1, epochs: 3);
        Assert.Contains(expected.Zip(unaccumulated), p => Math.Abs(p.First - p.Second) > 1e-3);
    }

    [Fact]
    public void TheEpochsLastGroup_MayBeShorter()
    {
        // 40 samples in batches of 8 with groups of 3 batches: a step on 24 samples, then one on the last 16.
        AssertClose(ManualGroups(40, [24, 16], epochs: 2), Fitted(40, batchSize: 8, accumulationSteps: 3, epochs: 2));
    }

    [Fact]
    public void APerStepSchedule_WithAccumulation_MatchesAManualLoopSteppingTheSchedulerAfterEachOptimizerStep()
    {
        // The reference: groups of 24 and 16 samples, WarmupCosineLR stepped after every optimizer step.
        var reference = Model(10);
        var manual = new Sgd(reference.Parameters(), lr: 0.1, momentum: 0.9);
        var manualSchedule = new WarmupCosineLR(manual, warmupSteps: 1, totalSteps: 4);
        var (x, y) = Data(40);
        for (int e = 0; e < 2; e++)
            foreach (var (start, size) in new[] { (0, 24), (24, 16) })
            {
                manual.ZeroGrad();
                Functional.Mse(reference.Forward(x.Narrow(0, start, size)), y.Narrow(0, start, size)).Backward();
                manual.Step();
                manualSchedule.Step();
            }

        var model = Model(10);
        var sgd = new Sgd(lr: 0.1, momentum: 0.9);
        model.Compile(sgd, "mse");
        var scheduler = new WarmupCosineLR(sgd, warmupSteps: 1, totalSteps: 4);
        model.Fit(x, y, epochs: 2, batchSize: 8, shuffle: false, verbose: 0, accumulationSteps: 3,
            callbacks: [new LearningRateSchedulerCallback(scheduler, SchedulerInterval.Step)]);

        Assert.Equal(4, scheduler.LastEpoch);
        AssertClose(Weights(reference), Weights(model));
        // Stepped per epoch instead, the same schedule ends elsewhere.
        var perEpoch = Model(10);
        var sgdEpoch = new Sgd(lr: 0.1, momentum: 0.9);
        perEpoch.Compile(sgdEpoch, "mse");
        perEpoch.Fit(x, y, epochs: 2, batchSize: 8, shuffle: false, verbose: 0, accumulationSteps: 3,
            callbacks: [new LearningRateSchedulerCallback(new WarmupCosineLR(sgdEpoch, warmupSteps: 1, totalSteps: 4))]);
        Assert.Contains(Weights(reference).Zip(Weights(perEpoch)), p => Math.Abs(p.First - p.Second) > 1e-3);
    }

    [Fact]
    public void AccumulationStepsBelowOne_Throws()
    {
        var model = Model(10);
        model.Compile("sgd", "mse");
        var (x, y) = Data(8);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(x, y, verbose: 0, accumulationSteps: 0));
    }
}
