using NeuralCore.Data;
using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Training;

namespace NeuralCore.Tests.Training;

public sealed class SequentialFitTests
{
    [Theory]
    [InlineData(42)]
    [InlineData(1)]
    [InlineData(2024)]
    public void KerasProgramShape_OnSeparableData_LearnsAndReportsEverything(long seed)
    {
        Rng.ManualSeed(seed);
        var train = SyntheticData.Dataset(600, seed: 1);
        var test = SyntheticData.Dataset(200, seed: 2);
        var model = SyntheticData.KerasModel();
        model.Compile(optimizer: "adam", loss: "categorical_crossentropy", metrics: new[] { "accuracy" });

        History history = model.Fit(train, epochs: 5, batchSize: 16, validationData: test, verbose: 0);

        Assert.Equal(5, history.Epochs);
        Assert.Equal(["loss", "accuracy", "val_loss", "val_accuracy"], history.Keys);
        Assert.All(history.Values.Values, v => Assert.Equal(5, v.Count));
        Assert.True(history["loss"][^1] < 0.5 * history["loss"][0], $"loss {string.Join(", ", history["loss"])}, accuracy {string.Join(", ", history["accuracy"])}");
        Assert.True(history["accuracy"][^1] >= 0.95, $"training accuracy {string.Join(", ", history["accuracy"])}; validation {string.Join(", ", history["val_accuracy"])}");
        Assert.True(history["val_accuracy"][^1] >= 0.95, $"validation accuracy {history["val_accuracy"][^1]}");

        EvaluationResult result = model.Evaluate(test);
        Assert.Equal(history["val_loss"][^1], result.Loss, 5);
        Assert.Equal(history["val_accuracy"][^1], result["accuracy"], 10);
        Assert.Equal(result.Loss, result["loss"]);
        Assert.Equal(["accuracy"], result.Metrics.Keys);

        var (testX, testY) = SyntheticData.Blobs(200, seed: 2);
        Tensor probabilities = model.Predict(testX[..8]);
        Assert.Equal(new Shape([8, 10]), probabilities.Shape);
        var rows = probabilities.Sum(1).ToArray<float>();
        Assert.All(rows, s => Assert.Equal(1f, s, 1e-5f));
        Assert.All(probabilities.ToArray<float>(), p => Assert.InRange(p, 0f, 1f));
        var predicted = probabilities.ArgMax(1).ToArray<long>();
        var expected = testY[..8].ToArray<long>();
        Assert.True(predicted.Zip(expected).Count(t => t.First == t.Second) >= 7);
    }

    [Fact]
    public void Compile_WithObjects_TrainsAndKeepsTheGivenOptimizer()
    {
        Rng.ManualSeed(3);
        var model = SyntheticData.KerasModel();
        var adam = new Adam(lr: 1e-2);
        model.Compile(adam, Loss.CrossEntropy, new[] { "accuracy" });

        var history = model.Fit(SyntheticData.Dataset(600, seed: 1), epochs: 3, verbose: 0);

        Assert.Same(adam, model.Optimizer);
        Assert.True(adam.IsBound);
        Assert.Equal(model.Parameters().Count(), adam.AllParameters().Count());
        Assert.True(history["accuracy"][^1] >= 0.95, $"accuracy {history["accuracy"][^1]}");
    }

    [Fact]
    public void Compile_WithMetricObjects_ReportsThemUnderTheirNames()
    {
        Rng.ManualSeed(3);
        var model = SyntheticData.KerasModel();
        model.Compile("adam", "sparse_categorical_crossentropy", new Metric[] { new Accuracy("acc"), new MeanSquaredError() });

        var history = model.Fit(SyntheticData.Dataset(100, seed: 1), epochs: 1, verbose: 0, validationSplit: 0.2);

        Assert.Equal(["loss", "acc", "mse", "val_loss", "val_acc", "val_mse"], history.Keys);
        Assert.Equal(["acc", "mse"], model.MetricNames);
    }

    [Fact]
    public void Fit_RecordsTheRunSettingsInTheHistory()
    {
        var model = SyntheticData.KerasModel();
        model.Compile(new Adam(lr: 0.005), "sparse_categorical_crossentropy", new[] { "accuracy" });

        var history = model.Fit(SyntheticData.Dataset(100, seed: 1), epochs: 2, batchSize: 16, verbose: 0, validationSplit: 0.2, shuffle: false);

        Assert.Equal(new Dictionary<string, string>
        {
            ["epochs"] = "2", ["batch_size"] = "16", ["accumulation_steps"] = "1", ["shuffle"] = "false", ["validation_split"] = "0.2",
            ["training_samples"] = "80", ["validation_samples"] = "20", ["optimizer"] = "Adam", ["learning_rate"] = "0.005",
            ["loss"] = model.Loss!.Name, ["metrics"] = "accuracy",
        }, history.Parameters);
    }

    [Fact]
    public void CategoricalCrossentropy_OneHotAndClassIndexTargets_TrainIdentically()
    {
        var (x, labels) = SyntheticData.Blobs(300, seed: 5);
        // Both models start from the same weights and see the batches in order, so nothing depends on the shared
        // default generator (which tests running in parallel also draw from).
        var initial = SyntheticData.KerasModel();
        initial.Predict(x[..1]);
        History Train(Tensor targets)
        {
            var model = SyntheticData.KerasModel();
            model.Predict(x[..1]);
            model.LoadStateDict(initial.StateDict());
            model.Compile("adam", "categorical_crossentropy", new[] { "accuracy" });
            return model.Fit(x, targets, epochs: 2, batchSize: 50, shuffle: false, verbose: 0);
        }

        var byIndex = Train(labels);
        var byOneHot = Train(SyntheticData.OneHot(labels));

        for (int e = 0; e < 2; e++)
        {
            Assert.Equal(byIndex["loss"][e], byOneHot["loss"][e], 5);
            Assert.Equal(byIndex["accuracy"][e], byOneHot["accuracy"][e]);
        }
        Assert.True(byIndex["loss"][1] < byIndex["loss"][0]);
    }

    [Fact]
    public void ValidationSplit_HoldsOutTheLastSamples()
    {
        Rng.ManualSeed(5);
        var model = SyntheticData.KerasModel();
        model.Compile("adam", "categorical_crossentropy", new[] { "accuracy" });
        var reports = new List<TrainingProgress>();

        var history = model.Fit(SyntheticData.Dataset(600, seed: 1), epochs: 2, batchSize: 32, validationSplit: 0.2,
            progress: new ListProgress(reports));

        // 480 training samples in batches of 32.
        Assert.All(reports, r => Assert.Equal(15, r.Steps));
        Assert.Equal(["loss", "accuracy", "val_loss", "val_accuracy"], history.Keys);
        Assert.Equal(2, history["val_accuracy"].Count);
        var heldOut = new TensorDataset(SyntheticData.Blobs(600, seed: 1).Inputs[480..], SyntheticData.Blobs(600, seed: 1).Labels[480..]);
        Assert.Equal(history["val_loss"][^1], model.Evaluate(heldOut).Loss, 5);
    }

    [Fact]
    public void Progress_ReceivesRisingStepsAndOneCompletedReportPerEpoch()
    {
        Rng.ManualSeed(5);
        var model = SyntheticData.KerasModel();
        model.Compile("sgd", "categorical_crossentropy", new[] { "accuracy" });
        var reports = new List<TrainingProgress>();

        model.Fit(SyntheticData.Dataset(100, seed: 1), epochs: 3, batchSize: 16, validationData: SyntheticData.Dataset(20, seed: 2),
            progress: new ListProgress(reports));

        Assert.Equal(3 * 7, reports.Count);
        for (int epoch = 1; epoch <= 3; epoch++)
        {
            var ofEpoch = reports.Where(r => r.Epoch == epoch).ToList();
            Assert.Equal(Enumerable.Range(1, 7), ofEpoch.Select(r => r.Step));
            Assert.All(ofEpoch, r => Assert.Equal(3, r.Epochs));
            Assert.Equal([false, false, false, false, false, false, true], ofEpoch.Select(r => r.EpochCompleted));
            Assert.Contains("val_accuracy", ofEpoch[^1].Metrics.Keys);
            Assert.DoesNotContain("val_accuracy", ofEpoch[0].Metrics.Keys);
            Assert.All(ofEpoch, r => Assert.True(r.SamplesPerSecond > 0 && r.Eta >= TimeSpan.Zero && double.IsFinite(r.Loss)));
        }
        Assert.Equal(reports.Select(r => r.Epoch).Order(), reports.Select(r => r.Epoch));
    }

    [Fact]
    public void FitOnTensors_Regression_WithMseAndMae()
    {
        Rng.ManualSeed(9);
        var x = Tensor.Randn([256, 3], DType.Float32, new Generator(1));
        var y = x.MatMul(Tensor.FromArray(new float[] { 1.5f, -2f, 0.5f }, 3)) + 0.3f;   // [256] against outputs [256, 1]
        var model = new Sequential(new Dense(1));
        model.Compile(new Adam(lr: 0.05), "mse", new[] { "mae" });

        var history = model.Fit(x, y, epochs: 40, batchSize: 32, verbose: 0, validationData: (x[..64], y[..64]));

        Assert.Equal(["loss", "mae", "val_loss", "val_mae"], history.Keys);
        Assert.True(history["loss"][^1] < 1e-3, $"loss {history["loss"][^1]}");
        Assert.True(history["val_mae"][^1] < 0.03, $"val_mae {history["val_mae"][^1]}");
        var prediction = model.Predict(x[..4]);
        Assert.Equal(new Shape([4, 1]), prediction.Shape);
        Assert.Equal(y[..4].ToArray<float>(), prediction.Reshape(4).ToArray<float>(), (a, b) => Math.Abs(a - b) < 0.05f);
    }

    [Fact]
    public void BinaryCrossentropy_OnLogits_ThresholdsProbabilities()
    {
        Rng.ManualSeed(4);
        var x = Tensor.Randn([400, 2], DType.Float32, new Generator(3));
        var y = x.Sum(1).Gt(0).To(DType.Float32);
        var model = new Sequential(new Dense(8, activation: Activation.Tanh), new Dense(1));
        model.Compile(new Adam(lr: 0.05), "binary_crossentropy", new[] { "accuracy" });

        var history = model.Fit(x, y, epochs: 20, batchSize: 40, verbose: 0);

        Assert.True(history["accuracy"][^1] >= 0.97, $"accuracy {history["accuracy"][^1]}");
        var p = model.Predict(x);
        Assert.All(p.ToArray<float>(), v => Assert.InRange(v, 0f, 1f));
        var correct = p.Reshape(400).Gt(0.5).Eq(y.Gt(0.5)).Sum().Item<long>();
        Assert.True(correct >= 388);
    }

    [Fact]
    public void ModelEndingInSoftmax_IsTrainedOnProbabilities()
    {
        Rng.ManualSeed(8);
        var model = new Sequential(new Flatten(), new Dense(32, activation: Activation.Relu), new Dense(10, activation: Activation.Softmax));
        model.Compile("adam", "categorical_crossentropy", new[] { "accuracy" });
        var data = SyntheticData.Dataset(300, seed: 1);

        var history = model.Fit(data, epochs: 8, verbose: 0);

        var (x, _) = SyntheticData.Blobs(300, seed: 1);
        var probabilities = model.Predict(x[..16]);
        Tensor forward;
        using (Tensor.NoGrad()) forward = model.Forward(x[..16]);
        // Predict returns the model's own softmax output unchanged: no second softmax on top.
        Assert.Equal(forward.ToArray<float>(), probabilities.ToArray<float>());
        Assert.True(history["accuracy"][^1] >= 0.95, $"accuracy {history["accuracy"][^1]}");
    }

    [Fact]
    public void Fit_BindsAnUnboundOptimizerOnceAndKeepsItAcrossCalls()
    {
        Rng.ManualSeed(2);
        var model = SyntheticData.KerasModel();
        var adam = new Adam(lr: 1e-3);
        model.Compile(adam, "categorical_crossentropy");
        var data = SyntheticData.Dataset(64, seed: 1);

        model.Fit(data, verbose: 0);
        var first = adam.ParamGroups[0];
        model.Fit(data, verbose: 0);

        Assert.Single(adam.ParamGroups);
        Assert.Same(first, adam.ParamGroups[0]);
        Assert.True(model.IsTraining);
    }

    [Fact]
    public void Fit_WithL2Penalty_ReportsItSeparately()
    {
        Rng.ManualSeed(2);
        var model = new Sequential(new Flatten(), new Dense(16, 10));
        var sgd = new Sgd(new[] { new ParamGroup(model.Parameters()) { L2 = 1e-3 } }, lr: 0.05);
        model.Compile(sgd, "categorical_crossentropy");

        var history = model.Fit(SyntheticData.Dataset(100, seed: 1), epochs: 2, verbose: 0);

        Assert.Equal(["loss", "penalty"], history.Keys);
        var sumOfSquares = model.Parameters().Sum(p => p.Square().Sum().Item<double>());
        Assert.InRange(history["penalty"][^1], 0.5e-3 * sumOfSquares, 2e-3 * sumOfSquares);
    }

    [Fact]
    public void Evaluate_DoesNotChangeWeightsOrMode()
    {
        Rng.ManualSeed(2);
        var model = SyntheticData.KerasModel();
        model.Compile("adam", "categorical_crossentropy", new[] { "accuracy" });
        var data = SyntheticData.Dataset(64, seed: 1);
        model.Fit(data, verbose: 0);
        var before = SyntheticData.Flat(model);

        var result = model.Evaluate(data, batchSize: 7);

        Assert.Equal(before, SyntheticData.Flat(model));
        Assert.True(model.IsTraining);
        Assert.InRange(result["accuracy"], 0, 1);
        Assert.True(result.Loss > 0);
    }

    [Fact]
    public void Predict_BeforeCompile_ReturnsRawOutputsInBatches()
    {
        Rng.ManualSeed(2);
        var model = SyntheticData.KerasModel();
        var (x, _) = SyntheticData.Blobs(50, seed: 1);

        var batched = model.Predict(x, batchSize: 8);

        Tensor whole;
        using (Tensor.NoGrad()) whole = model.Forward(x);
        Assert.Equal(new Shape([50, 10]), batched.Shape);
        Assert.Equal(whole.ToArray<float>(), batched.ToArray<float>(), (a, b) => Math.Abs(a - b) < 1e-5f);
        Assert.False(batched.RequiresGrad);
    }

    [Fact]
    public void UncompiledModel_FitAndEvaluateThrow()
    {
        var model = SyntheticData.KerasModel();
        var data = SyntheticData.Dataset(10, seed: 1);

        var fit = Assert.Throws<InvalidOperationException>(() => model.Fit(data, verbose: 0));
        Assert.Contains("Compile", fit.Message);
        Assert.Throws<InvalidOperationException>(() => model.Evaluate(data));
    }

    [Fact]
    public void BadArguments_AreRejected()
    {
        var model = SyntheticData.KerasModel();
        model.Compile("adam", "mse");
        var data = SyntheticData.Dataset(10, seed: 1);

        Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(data, epochs: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(data, batchSize: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(data, validationSplit: 1.0));
        Assert.Throws<ArgumentException>(() => model.Fit(data, validationData: data, validationSplit: 0.5));
        Assert.Throws<ArgumentException>(() => model.Fit(data, validationSplit: 0.01));   // 0 of 10 samples held out
        Assert.Throws<ArgumentException>(() => model.Compile("adam", "mse", new[] { "accuracy", "accuracy" }));
    }

    [Fact]
    public void UnknownNames_ThrowArgumentExceptionListingKnownNames()
    {
        var model = SyntheticData.KerasModel();

        var loss = Assert.Throws<ArgumentException>(() => model.Compile("adam", "categorical_crossentropyy"));
        Assert.Contains("categorical_crossentropy", loss.Message);
        Assert.Contains("mse", loss.Message);
        var metric = Assert.Throws<ArgumentException>(() => model.Compile("adam", "mse", new[] { "precision" }));
        Assert.Contains("accuracy", metric.Message);
        Assert.Throws<ArgumentException>(() => model.Compile("adamm", "mse"));
        Assert.False(model.IsCompiled);
    }

    internal sealed class ListProgress(List<TrainingProgress> reports) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => reports.Add(value);
    }
}
