using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Training;

namespace NeuralCore.Tests.Training;

public sealed class PerStepScheduleTests
{
    // Records the rate each optimizer step ran at (it runs before the scheduler callback that follows it in the list)
    // and the batch whose end followed each step.
    sealed class StepRecorder : Callback
    {
        public List<double> Rates { get; } = [];
        public List<int> Steps { get; } = [];
        public List<int> BatchesAfterStep { get; } = [];
        bool stepped;

        public override void OnOptimizerStep(int step)
        {
            Steps.Add(step);
            Rates.Add(Optimizer.Lr);
            stepped = true;
        }

        public override void OnBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
        {
            if (stepped) BatchesAfterStep.Add(batch);
            stepped = false;
        }
    }

    static Sequential Model(Optimizer optimizer)
    {
        Rng.ManualSeed(5);
        var model = new Sequential(new Linear(5, 4), new Tanh(), new Linear(4, 2));
        model.Compile(optimizer, "mse");
        return model;
    }

    static (Tensor X, Tensor Y) Data(int n) =>
        (Tensor.Randn([n, 5], DType.Float32, new Generator(1)), Tensor.Randn([n, 2], DType.Float32, new Generator(2)));

    // WarmupCosineLR's closed form, written out independently of the class.
    static double WarmupCosine(double baseLr, int warmup, int total, int step) =>
        step < warmup ? baseLr * step / warmup
            : baseLr * (1 + Math.Cos(Math.PI * Math.Min(1.0, (double)(step - warmup) / (total - warmup)))) / 2;

    static void AssertRates(IReadOnlyList<double> expected, IReadOnlyList<double> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++) Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-12, $"step {i}: {expected[i]} vs {actual[i]}");
    }

    [Fact]
    public void StepInterval_SetsTheWarmupCosineRateOfEveryOptimizerStep()
    {
        var sgd = new Sgd(lr: 0.1);
        var scheduler = new WarmupCosineLR(sgd, warmupSteps: 3, totalSteps: 12);
        var model = Model(sgd);
        var recorder = new StepRecorder();
        var (x, y) = Data(40);

        // 40 samples in batches of 8: five optimizer steps per epoch, fifteen in all, past the end of the decay.
        model.Fit(x, y, epochs: 3, batchSize: 8, shuffle: false, verbose: 0,
            callbacks: [recorder, new LearningRateSchedulerCallback(scheduler, SchedulerInterval.Step)]);

        Assert.Equal(Enumerable.Range(0, 15), recorder.Steps);
        AssertRates(Enumerable.Range(0, 15).Select(k => WarmupCosine(0.1, 3, 12, k)).ToArray(), recorder.Rates);
        Assert.Equal(0.0, recorder.Rates[0]);
        Assert.Equal(15, scheduler.LastEpoch);
    }

    [Fact]
    public void StepInterval_WithGradientAccumulation_StepsOncePerGroup()
    {
        var sgd = new Sgd(lr: 0.2);
        var scheduler = new WarmupCosineLR(sgd, warmupSteps: 2, totalSteps: 5, etaMin: 0.01);
        var model = Model(sgd);
        var recorder = new StepRecorder();
        var (x, y) = Data(40);

        // Five batches of 8 per epoch in groups of two: steps after batches 1, 3 and 4 (the short last group).
        model.Fit(x, y, epochs: 2, batchSize: 8, shuffle: false, verbose: 0, accumulationSteps: 2,
            callbacks: [recorder, new LearningRateSchedulerCallback(scheduler, SchedulerInterval.Step)]);

        Assert.Equal(new[] { 1, 3, 4, 1, 3, 4 }, recorder.BatchesAfterStep);
        Assert.Equal(Enumerable.Range(0, 6), recorder.Steps);
        var expected = Enumerable.Range(0, 6).Select(k => k < 2 ? 0.2 * k / 2
            : 0.01 + (0.2 - 0.01) * (1 + Math.Cos(Math.PI * Math.Min(1.0, (k - 2) / 3.0))) / 2).ToArray();
        AssertRates(expected, recorder.Rates);
        Assert.Equal(6, scheduler.LastEpoch);
    }

    [Fact]
    public void StepInterval_WithFunction_SetsTheRateBeforeEachOptimizerStep()
    {
        var sgd = new Sgd(lr: 0.1);
        var model = Model(sgd);
        var recorder = new StepRecorder();
        var (x, y) = Data(24);

        model.Fit(x, y, epochs: 2, batchSize: 8, shuffle: false, verbose: 0,
            callbacks: [recorder, new LearningRateSchedulerCallback((step, lr) => 0.1 / (1 + step), SchedulerInterval.Step)]);

        AssertRates(Enumerable.Range(0, 6).Select(k => 0.1 / (1 + k)).ToArray(), recorder.Rates);
        Assert.Equal(0.1 / 7, sgd.Lr, 12);
    }

    [Fact]
    public void EpochInterval_IsTheDefault_AndIgnoresOptimizerSteps()
    {
        var sgd = new Sgd(lr: 0.1);
        var scheduler = new StepLR(sgd, stepSize: 1, gamma: 0.5);
        var model = Model(sgd);
        var recorder = new StepRecorder();
        var (x, y) = Data(24);
        var callback = new LearningRateSchedulerCallback(scheduler);

        model.Fit(x, y, epochs: 2, batchSize: 8, shuffle: false, verbose: 0, callbacks: [recorder, callback]);

        Assert.Equal(SchedulerInterval.Epoch, callback.Interval);
        AssertRates([0.1, 0.1, 0.1, 0.05, 0.05, 0.05], recorder.Rates);
        Assert.Equal(2, scheduler.LastEpoch);
    }

    [Fact]
    public void OneCycle_SteppedPastItsEnd_ThrowsFromFit()
    {
        var sgd = new Sgd(lr: 0.1);
        var scheduler = new OneCycleLR(sgd, maxLr: 0.1, totalSteps: 4);
        var model = Model(sgd);
        var (x, y) = Data(24);

        // Three steps per epoch: the fifth Step is past the cycle's totalSteps = 4.
        var e = Assert.Throws<InvalidOperationException>(() => model.Fit(x, y, epochs: 2, batchSize: 8, shuffle: false, verbose: 0,
            callbacks: [new LearningRateSchedulerCallback(scheduler, SchedulerInterval.Step)]));
        Assert.Contains("totalSteps = 4", e.Message);
    }

    [Fact]
    public void UndefinedInterval_Throws()
    {
        var scheduler = new StepLR(new Sgd(lr: 0.1), stepSize: 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LearningRateSchedulerCallback(scheduler, (SchedulerInterval)7));
    }
}
