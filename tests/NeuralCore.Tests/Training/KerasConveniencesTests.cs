using System.Globalization;
using NeuralCore.Data;
using NeuralCore.Nn;
using NeuralCore.Training;

namespace NeuralCore.Tests.Training;

/// <summary>Non-finite losses, TerminateOnNaN, cancellation, EarlyStopping's restore notice and CsvLogger.</summary>
public sealed class KerasConveniencesTests
{
    static Sequential CompiledModel(string optimizer = "adam")
    {
        Rng.ManualSeed(21);
        var model = SyntheticData.KerasModel();
        model.Compile(optimizer, "categorical_crossentropy", new[] { "accuracy" });
        return model;
    }

    // 64 samples in batches of 16, unshuffled: sample 40 lies in batch 2 (0-based); a NaN there makes that batch's loss NaN.
    static TensorDataset DataWithNaNAt(int sample)
    {
        var (x, y) = SyntheticData.Blobs(64, seed: 3);
        var values = x.ToArray<float>();
        values[sample * 16 + 5] = float.NaN;
        return new TensorDataset(Tensor.FromArray(values, 64, 1, 4, 4), y);
    }

    [Fact]
    public void NonFiniteLoss_IsReportedOnce_NamingEpochAndBatch_AndTrainingGoesOn()
    {
        var model = CompiledModel();
        var output = new StringWriter();

        var history = model.Fit(DataWithNaNAt(40), epochs: 2, batchSize: 16, shuffle: false,
            progress: new ConsoleProgress(output, liveBar: false));

        Assert.Equal(2, history.Epochs);
        var warning = Assert.Single(history.Messages);
        Assert.Contains("epoch 1, batch 3", warning);
        Assert.Contains("NaN", warning);
        Assert.Contains(warning, output.ToString());
        Assert.True(double.IsNaN(history["loss"][1]));
    }

    [Fact]
    public void FiniteTraining_HasNoMessages()
    {
        var history = CompiledModel().Fit(SyntheticData.Dataset(64, seed: 1), epochs: 2, batchSize: 16, verbose: 0);

        Assert.Empty(history.Messages);
    }

    [Fact]
    public void TerminateOnNaN_StopsAfterTheFirstNonFiniteBatch()
    {
        var model = CompiledModel();
        var terminate = new TerminateOnNaN();
        var batches = new BatchCounter();

        var history = model.Fit(DataWithNaNAt(40), epochs: 5, batchSize: 16, shuffle: false, verbose: 0, callbacks: [batches, terminate]);

        Assert.Equal(1, history.Epochs);
        Assert.Equal(0, terminate.StoppedEpoch);
        Assert.Equal(2, terminate.StoppedBatch);
        Assert.Equal(3, batches.Count);
        Assert.Contains(history.Messages, m => m.StartsWith("TerminateOnNaN:", StringComparison.Ordinal) && m.Contains("batch 3 of epoch 1"));
    }

    [Fact]
    public void TerminateOnNaN_StopsADivergingRun()
    {
        // SGD with a huge learning rate overflows the weights within a few steps.
        var model = CompiledModel();
        model.Compile(new NeuralCore.Optim.Sgd(lr: 1e30), "categorical_crossentropy");
        var terminate = new TerminateOnNaN();

        var history = model.Fit(SyntheticData.Dataset(256, seed: 1), epochs: 20, batchSize: 16, verbose: 0, callbacks: [terminate]);

        Assert.True(terminate.StoppedEpoch >= 0, "the run should have produced a non-finite loss and been stopped");
        Assert.Equal(terminate.StoppedEpoch + 1, history.Epochs);
        Assert.False(double.IsFinite(history["loss"][^1]));
    }

    [Fact]
    public void TerminateOnNaN_OnFiniteTraining_DoesNothing()
    {
        var terminate = new TerminateOnNaN();

        var history = CompiledModel().Fit(SyntheticData.Dataset(64, seed: 1), epochs: 3, batchSize: 16, verbose: 0, callbacks: [terminate]);

        Assert.Equal(3, history.Epochs);
        Assert.Equal(-1, terminate.StoppedEpoch);
    }

    [Fact]
    public void Cancellation_StopsAtTheNextBatch_WithTheCompletedHistory()
    {
        var model = CompiledModel();
        using var source = new CancellationTokenSource();
        var canceller = new CancelAt(source, epoch: 1, batch: 1);

        var e = Assert.Throws<FitCanceledException>(() =>
            model.Fit(SyntheticData.Dataset(64, seed: 1), epochs: 5, batchSize: 16, verbose: 0, callbacks: [canceller],
                cancellationToken: source.Token));

        Assert.Equal(1, e.Epoch);
        Assert.Equal(2, e.Batch);
        Assert.Equal(1, e.History.Epochs);
        Assert.Equal(source.Token, e.CancellationToken);
        Assert.IsAssignableFrom<OperationCanceledException>(e);
        Assert.Equal(6, canceller.Batches);
        Assert.True(model.IsTraining);
    }

    [Fact]
    public void Cancellation_BeforeFit_RunsNoStep()
    {
        var model = CompiledModel();
        model.Predict(SyntheticData.Blobs(4, seed: 1).Inputs);   // builds the Dense layers
        var before = SyntheticData.Flat(model);
        Assert.NotEmpty(before);
        using var source = new CancellationTokenSource();
        source.Cancel();

        var e = Assert.Throws<FitCanceledException>(() =>
            model.Fit(SyntheticData.Dataset(64, seed: 1), epochs: 2, batchSize: 16, verbose: 0, cancellationToken: source.Token));

        Assert.Equal(0, e.History.Epochs);
        Assert.Equal(before, SyntheticData.Flat(model));
    }

    [Fact]
    public void EvaluateAndPredict_HonourACancelledToken()
    {
        var model = CompiledModel();
        var data = SyntheticData.Dataset(64, seed: 1);
        using var source = new CancellationTokenSource();
        source.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => model.Evaluate(data, cancellationToken: source.Token));
        var (x, _) = SyntheticData.Blobs(64, seed: 1);
        Assert.ThrowsAny<OperationCanceledException>(() => model.Predict(x, cancellationToken: source.Token));
        Assert.Equal(64, model.Predict(x, cancellationToken: CancellationToken.None).Shape[0]);
    }

    [Fact]
    public void EarlyStopping_SaysWhichEpochsWeightsItRestored()
    {
        var model = CompiledModel();
        var stopping = new EarlyStopping(monitor: "loss", patience: 2, mode: "max", restoreBestWeights: true);

        var history = model.Fit(SyntheticData.Dataset(200, seed: 1), epochs: 10, verbose: 0, callbacks: [stopping]);

        Assert.Equal(0, stopping.RestoredEpoch);
        var message = Assert.Single(history.Messages);
        Assert.Contains("restored the weights of epoch 1", message);
        Assert.Contains(stopping.Best.ToString("G6", CultureInfo.InvariantCulture), message);
    }

    [Fact]
    public void EarlyStopping_WithoutRestore_RestoresNothing()
    {
        var stopping = new EarlyStopping(monitor: "loss", patience: 2, mode: "max");

        var history = CompiledModel().Fit(SyntheticData.Dataset(200, seed: 1), epochs: 10, verbose: 0, callbacks: [stopping]);

        Assert.Equal(-1, stopping.RestoredEpoch);
        Assert.Empty(history.Messages);
    }

    [Fact]
    public void CsvLogger_WritesHeaderAndOneRowPerEpoch_MatchingTheHistory()
    {
        string path = Path.Combine(Path.GetTempPath(), $"csvlogger-{Guid.NewGuid():N}.csv");
        try
        {
            var model = CompiledModel();
            var history = model.Fit(SyntheticData.Dataset(64, seed: 1), epochs: 3, batchSize: 16, verbose: 0,
                validationData: SyntheticData.Dataset(32, seed: 2), measureCost: false, callbacks: [new CsvLogger(path)]);

            var lines = File.ReadAllLines(path);
            Assert.Equal(4, lines.Length);
            Assert.Equal("epoch,accuracy,loss,val_accuracy,val_loss", lines[0]);
            for (int e = 0; e < 3; e++)
            {
                var fields = lines[e + 1].Split(',');
                Assert.Equal(e.ToString(CultureInfo.InvariantCulture), fields[0]);
                Assert.Equal(history["accuracy"][e], double.Parse(fields[1], CultureInfo.InvariantCulture));
                Assert.Equal(history["loss"][e], double.Parse(fields[2], CultureInfo.InvariantCulture));
                Assert.Equal(history["val_loss"][e], double.Parse(fields[4], CultureInfo.InvariantCulture));
            }

            // Append: a second run adds rows under the same header; without append the file starts over.
            model.Fit(SyntheticData.Dataset(64, seed: 1), epochs: 2, batchSize: 16, verbose: 0,
                validationData: SyntheticData.Dataset(32, seed: 2), callbacks: [new CsvLogger(path, append: true)]);
            lines = File.ReadAllLines(path);
            Assert.Equal(6, lines.Length);
            Assert.Single(lines, l => l.StartsWith("epoch", StringComparison.Ordinal));
            Assert.StartsWith("1,", lines[5], StringComparison.Ordinal);

            model.Fit(SyntheticData.Dataset(64, seed: 1), epochs: 1, batchSize: 16, verbose: 0, callbacks: [new CsvLogger(path, separator: ';')]);
            lines = File.ReadAllLines(path);
            Assert.Equal(2, lines.Length);
            Assert.Equal("epoch;accuracy;loss", lines[0]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void CsvLogger_RejectsAQuoteSeparator() =>
        Assert.Throws<ArgumentException>(() => new CsvLogger("x.csv", separator: '"'));

    sealed class BatchCounter : Callback
    {
        public int Count { get; private set; }

        public override void OnBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) => Count++;
    }

    sealed class CancelAt(CancellationTokenSource source, int epoch, int batch) : Callback
    {
        int current;

        public int Batches { get; private set; }

        public override void OnEpochBegin(int epoch) => current = epoch;

        public override void OnBatchEnd(int b, IReadOnlyDictionary<string, double> logs)
        {
            Batches++;
            if (current == epoch && b == batch) source.Cancel();
        }
    }
}
