using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Training;

namespace NeuralCore.Tests.Training;

public sealed class CallbackTests
{
    static Sequential CompiledModel(Optimizer? optimizer = null)
    {
        Rng.ManualSeed(21);
        var model = SyntheticData.KerasModel();
        model.Compile(optimizer ?? "adam", "categorical_crossentropy", new[] { "accuracy" });
        return model;
    }

    [Fact]
    public void EarlyStopping_StopsAfterPatienceEpochsWithoutImprovement()
    {
        var model = CompiledModel();
        // The training loss falls every epoch, so in "max" mode only epoch 0 counts as an improvement.
        var stopping = new EarlyStopping(monitor: "loss", patience: 2, mode: "max");

        var history = model.Fit(SyntheticData.Dataset(200, seed: 1), epochs: 10, verbose: 0, callbacks: [stopping]);

        Assert.Equal(3, history.Epochs);
        Assert.Equal(2, stopping.StoppedEpoch);
        Assert.Equal(0, stopping.BestEpoch);
        Assert.Equal(history["loss"][0], stopping.Best);
    }

    [Fact]
    public void EarlyStopping_OnImprovingQuantity_RunsAllEpochs()
    {
        var model = CompiledModel();
        var stopping = new EarlyStopping(monitor: "loss", patience: 0);

        var history = model.Fit(SyntheticData.Dataset(200, seed: 1), epochs: 4, verbose: 0, callbacks: [stopping]);

        Assert.Equal(4, history.Epochs);
        Assert.Equal(-1, stopping.StoppedEpoch);
        Assert.Equal(3, stopping.BestEpoch);
    }

    [Fact]
    public void EarlyStopping_RestoresTheBestEpochsWeights()
    {
        var model = CompiledModel();
        var recorder = new WeightRecorder();
        var stopping = new EarlyStopping(monitor: "loss", patience: 2, mode: "max", restoreBestWeights: true);

        model.Fit(SyntheticData.Dataset(200, seed: 1), epochs: 10, verbose: 0, callbacks: [recorder, stopping]);

        Assert.Equal(3, recorder.AtEpochEnd.Count);
        Assert.NotEqual(recorder.AtEpochEnd[0], recorder.AtEpochEnd[2]);
        Assert.Equal(recorder.AtEpochEnd[0], SyntheticData.Flat(model));
    }

    [Fact]
    public void EarlyStopping_MissingMonitor_ExplainsWhatIsLogged()
    {
        var model = CompiledModel();

        var e = Assert.Throws<InvalidOperationException>(() =>
            model.Fit(SyntheticData.Dataset(50, seed: 1), epochs: 2, verbose: 0, callbacks: [new EarlyStopping()]));

        Assert.Contains("val_loss", e.Message);
        Assert.Contains("accuracy", e.Message);
    }

    [Fact]
    public void EarlyStopping_AutoModeMaximizesAccuracy()
    {
        var model = CompiledModel();
        var stopping = new EarlyStopping(monitor: "accuracy", patience: 100);

        var history = model.Fit(SyntheticData.Dataset(200, seed: 1), epochs: 3, verbose: 0, callbacks: [stopping]);

        Assert.Equal(history["accuracy"].Max(), stopping.Best);
    }

    [Fact]
    public void StopTraining_FromABatchCallback_EndsTheEpochEarly()
    {
        var model = CompiledModel();
        var stopper = new StopAfterBatches(3);

        var history = model.Fit(SyntheticData.Dataset(200, seed: 1), epochs: 5, batchSize: 10, verbose: 0, callbacks: [stopper]);

        Assert.Equal(1, history.Epochs);
        Assert.Equal(3, stopper.Batches);
        Assert.True(stopper.TrainEnded);
    }

    [Fact]
    public void LearningRateSchedulerCallback_WithFunction_SetsTheRateBeforeEachEpoch()
    {
        var sgd = new Sgd(lr: 0.1);
        var model = CompiledModel(sgd);
        var seen = new List<double>();
        var recorder = new LrRecorder(seen);

        model.Fit(SyntheticData.Dataset(64, seed: 1), epochs: 3, verbose: 0,
            callbacks: [new LearningRateSchedulerCallback((epoch, lr) => epoch == 0 ? lr : lr * 0.5), recorder]);

        Assert.Equal(new[] { 0.1, 0.05, 0.025 }, seen);
        Assert.Equal(0.025, sgd.Lr);
    }

    [Fact]
    public void LearningRateSchedulerCallback_WithScheduler_StepsOncePerEpoch()
    {
        var sgd = new Sgd(lr: 0.1);
        var scheduler = new StepLR(sgd, stepSize: 1, gamma: 0.5);
        var model = CompiledModel(sgd);

        model.Fit(SyntheticData.Dataset(64, seed: 1), epochs: 3, verbose: 0, callbacks: [new LearningRateSchedulerCallback(scheduler)]);

        Assert.Equal(3, scheduler.LastEpoch);
        Assert.Equal(0.1 * 0.125, sgd.Lr, 12);
    }

    [Fact]
    public void LearningRateSchedulerCallback_WithPlateauScheduler_PassesTheMonitoredValue()
    {
        var sgd = new Sgd(lr: 0.1);
        // The training loss falls every epoch, so in "max" mode every epoch after the first is a bad one.
        var plateau = new ReduceLROnPlateau(sgd, mode: "max", factor: 0.5, patience: 0);
        var model = CompiledModel(sgd);

        var history = model.Fit(SyntheticData.Dataset(64, seed: 1), epochs: 3, verbose: 0,
            callbacks: [new LearningRateSchedulerCallback(plateau, monitor: "loss")]);

        Assert.Equal(3, plateau.LastEpoch);
        Assert.Equal(history["loss"][0], plateau.Best);
        Assert.Equal(0.025, sgd.Lr, 12);
    }

    [Fact]
    public void LearningRateSchedulerCallback_ForAnotherOptimizer_Throws()
    {
        var model = CompiledModel(new Sgd(lr: 0.1));
        var other = new StepLR(new Sgd(lr: 0.1), stepSize: 1);

        Assert.Throws<InvalidOperationException>(() =>
            model.Fit(SyntheticData.Dataset(16, seed: 1), verbose: 0, callbacks: [new LearningRateSchedulerCallback(other)]));
    }

    [Fact]
    public void Callback_OutsideFit_ThrowsOnModelAccess()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new WeightRecorder().Model);
        Assert.Contains("Fit", e.Message);
    }

    [Fact]
    public void Callbacks_SeeEpochsAndBatchesInOrder()
    {
        var model = CompiledModel();
        var trace = new TraceCallback();

        model.Fit(SyntheticData.Dataset(30, seed: 1), epochs: 2, batchSize: 10, verbose: 0,
            validationData: SyntheticData.Dataset(10, seed: 2), callbacks: [trace]);

        Assert.Equal(
            ["train-begin", "epoch-begin 0", "batch 0", "batch 1", "batch 2", "epoch-end 0 val_accuracy",
             "epoch-begin 1", "batch 0", "batch 1", "batch 2", "epoch-end 1 val_accuracy", "train-end"],
            trace.Events);
    }

    sealed class WeightRecorder : Callback
    {
        public List<float[]> AtEpochEnd { get; } = [];

        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) => AtEpochEnd.Add(SyntheticData.Flat(Model));
    }

    sealed class StopAfterBatches(int count) : Callback
    {
        public int Batches { get; private set; }

        public bool TrainEnded { get; private set; }

        public override void OnBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
        {
            Batches++;
            if (Batches == count) StopTraining = true;
        }

        public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs) => TrainEnded = true;
    }

    sealed class LrRecorder(List<double> seen) : Callback
    {
        public override void OnEpochBegin(int epoch) => seen.Add(Optimizer.Lr);
    }

    sealed class TraceCallback : Callback
    {
        public List<string> Events { get; } = [];

        public override void OnTrainBegin() => Events.Add("train-begin");

        public override void OnEpochBegin(int epoch) => Events.Add($"epoch-begin {epoch}");

        public override void OnBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
        {
            Assert.Equal(["loss", "accuracy"], logs.Keys);
            Events.Add($"batch {batch}");
        }

        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) =>
            Events.Add($"epoch-end {epoch} {logs.Keys.Last()}");

        public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs) => Events.Add("train-end");
    }
}
