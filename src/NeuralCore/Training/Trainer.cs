using System.Diagnostics;
using NeuralCore.Data;
using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Profiling;

namespace NeuralCore.Training;

/// <summary>
/// The Keras-style loops behind <see cref="Sequential"/>'s <c>Fit</c>, <c>Evaluate</c> and <c>Predict</c>, for one
/// compiled (model, optimizer, loss, metrics) combination. Every step runs inside a <see cref="Tensor.Scope"/>, so
/// the memory in use stays flat however long training runs.
/// </summary>
internal sealed class Trainer(Sequential model, Optimizer optimizer, Loss loss, IReadOnlyList<Metric> metrics)
{
    public Optimizer Optimizer { get; } = optimizer;

    public Loss Loss { get; } = loss;

    public IReadOnlyList<Metric> Metrics { get; } = metrics;

    Dictionary<string, string> RunParameters(FitOptions options, Dataset trainSet, Dataset? validationSet)
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        return new Dictionary<string, string>
        {
            ["epochs"] = options.Epochs.ToString(c),
            ["batch_size"] = options.BatchSize.ToString(c),
            ["accumulation_steps"] = options.AccumulationSteps.ToString(c),
            ["shuffle"] = options.Shuffle ? "true" : "false",
            ["validation_split"] = options.ValidationSplit.ToString("R", c),
            ["training_samples"] = trainSet.Count.ToString(c),
            ["validation_samples"] = (validationSet?.Count ?? 0).ToString(c),
            ["optimizer"] = Optimizer.GetType().Name,
            ["learning_rate"] = Optimizer.Lr.ToString("R", c),
            ["loss"] = Loss.Name,
            ["metrics"] = string.Join(",", Metrics.Select(m => m.Name)),
        };
    }

    public History Fit(Dataset data, FitOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        var (trainSet, validationSet) = Split(data, options);
        // The loader shuffles with Rng.Default, seeds per-item transforms (augmentation) reproducibly and assembles
        // batches ahead on the thread pool while this thread trains.
        // Data-parallel: each epoch this process trains on its share of the samples, in the order the strategy gives.
        var parallel = model.DataParallel;
        if (options.Loader is not null && parallel is not null)
            throw new InvalidOperationException("Fit: training from a DataLoader is not supported with data-parallel training; pass a Dataset.");
        var loader = options.Loader ?? (parallel is null ? new DataLoader(trainSet, options.BatchSize, options.Shuffle) : ShareLoader(parallel, trainSet, 0, options));
        bool leader = parallel is null || parallel.Rank == 0;
        var callbacks = leader ? options.Callbacks : options.Callbacks.Where(c => !c.RankZeroOnly).ToArray();
        var reporter = !leader ? null : options.Progress ?? (options.Verbose > 0 ? new ConsoleProgress(liveBar: options.Verbose == 1 ? null : false) : null);
        var trainMetrics = Metrics.Select(m => m.Clone()).ToArray();
        var history = new History(RunParameters(options, trainSet, validationSet));
        bool wasTraining = model.IsTraining;

        var token = options.CancellationToken;
        int steps = loader.Count;
        TrainingProgress? lastReport = null;
        void Report(TrainingProgress p)
        {
            lastReport = p;
            reporter?.Report(p);
        }
        // Notices go into the history and to the progress output as a line of their own.
        void Note(string message)
        {
            history.AppendMessage(message);
            reporter?.Report((lastReport ?? new TrainingProgress(0, options.Epochs, 0, steps, double.NaN,
                new Dictionary<string, double>(), 0, TimeSpan.Zero)) with { Message = message, EpochCompleted = false });
        }

        BindOptimizer(trainSet, options.BatchSize);
        bool trackPenalty = Optimizer.ParamGroups.Any(g => g.L1 != 0 || g.L2 != 0);
        foreach (var c in callbacks) c.Attach(model, Optimizer, Note);
        foreach (var c in callbacks) c.OnTrainBegin();

        IReadOnlyDictionary<string, double> lastLogs = new Dictionary<string, double>();
        bool nonFiniteReported = false;
        int optimizerSteps = 0;
        try
        {
            for (int epoch = 0; epoch < options.Epochs; epoch++)
            {
                if (parallel is not null && epoch > 0)
                {
                    loader = ShareLoader(parallel, trainSet, epoch, options);
                    steps = loader.Count;
                }
                foreach (var c in callbacks) c.OnEpochBegin(epoch);
                // The epoch's cost covers its training steps and its validation.
                using var flops = options.MeasureCost ? FlopCounter.Start() : null;
                using var meter = options.MeasureCost ? EnergyMeter.Start(options.Energy) : null;
                model.Train();
                foreach (var m in trainMetrics) m.Reset();
                double lossSum = 0, penaltySum = 0;
                int seen = 0, done = 0, penaltySeen = 0;
                var clock = Stopwatch.StartNew();
                bool stop = false;
                using (var batches = loader.GetEnumerator())
                    for (int step = 0; step < steps && !stop; step++)
                    {
                        // Cancellation takes effect between steps: the model keeps the last completed step's weights.
                        if (token.IsCancellationRequested) throw new FitCanceledException(history, epoch, step, token);
                        // Batches are taken in groups of AccumulationSteps (the epoch's last group may be shorter): each
                        // adds its share of the group's mean gradient, and the last one steps the optimizer.
                        int groupStart = step - step % options.AccumulationSteps;
                        int groupSize = Math.Min(options.AccumulationSteps, steps - groupStart);
                        bool lastInGroup = step == groupStart + groupSize - 1;
                        var (batchLoss, batchPenalty, batchSize) = TrainStep(batches, trainMetrics, trackPenalty,
                            firstInGroup: step == groupStart, lastInGroup, groupSize);
                        if (lastInGroup)
                        {
                            foreach (var c in callbacks) c.OnOptimizerStep(optimizerSteps);
                            optimizerSteps++;
                        }
                        if (!nonFiniteReported && !double.IsFinite(batchLoss))
                        {
                            nonFiniteReported = true;
                            Note(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                                $"Warning: the training loss is {batchLoss} at epoch {epoch + 1}, batch {step + 1} (1-based); training goes on with non-finite values unless a TerminateOnNaN callback stops it (check the inputs and lower the learning rate)."));
                        }
                        lossSum += batchLoss * batchSize;
                        if (trackPenalty && !double.IsNaN(batchPenalty))
                        {
                            penaltySum += batchPenalty * batchSize;
                            penaltySeen += batchSize;
                        }
                        seen += batchSize;
                        done++;
                        var running = Logs(lossSum / seen, trainMetrics, trackPenalty ? penaltySum / Math.Max(penaltySeen, 1) : null);
                        foreach (var c in callbacks) c.OnBatchEnd(step, running);
                        stop = callbacks.Any(c => c.StopTraining);
                        if (step + 1 < steps && !stop)
                            Report(Progress(epoch, options.Epochs, step + 1, steps, running, seen, clock.Elapsed));
                    }

                var logs = Logs(lossSum / seen, trainMetrics, trackPenalty ? penaltySum / Math.Max(penaltySeen, 1) : null);
                if (parallel is not null) AverageAcrossRanks(parallel, logs);
                foreach (var c in callbacks) c.OnEpochLogs(epoch, logs);
                if (validationSet is not null)
                {
                    var (valLoss, valMetrics) = Measure(validationSet, options.BatchSize, token);
                    logs["val_loss"] = valLoss;
                    foreach (var (name, value) in valMetrics) logs["val_" + name] = value;
                }
                history.Append(logs);
                TrainingCost? cost = null;
                if (flops is not null && meter is not null)
                {
                    flops.Dispose();
                    cost = new TrainingCost(flops.Forward, flops.Backward, flops.Optimizer, meter.Stop());
                    history.AppendCost(cost);
                }
                lastLogs = logs;
                Report(Progress(epoch, options.Epochs, done, steps, logs, seen, clock.Elapsed) with
                {
                    EpochCompleted = true,
                    Eta = TimeSpan.Zero,
                    Cost = cost,
                });
                foreach (var c in callbacks) c.OnEpochEnd(epoch, logs);
                if (stop || callbacks.Any(c => c.StopTraining)) break;
            }
            foreach (var c in callbacks) c.OnTrainEnd(lastLogs);
        }
        finally
        {
            model.Train(wasTraining);
        }
        return history;
    }

    // The batch is taken inside the step's scope, so the tensors this thread makes for it are released with the step.
    // The loss, the optimizer's penalty and the metrics' running sums come back in one read: the step's only wait
    // for the device.
    // With gradient accumulation, a batch that is not the last of its group only adds to the gradients.
    (double Loss, double Penalty, int Size) TrainStep(IEnumerator<(Tensor Inputs, Tensor Targets)> batches, Metric[] trainMetrics, bool trackPenalty,
        bool firstInGroup, bool lastInGroup, int groupSize)
    {
        using var scope = Tensor.Scope();
        if (!batches.MoveNext()) throw new InvalidOperationException("Fit: the dataset yielded fewer batches than its size promises.");
        var (x, y) = Prepare(batches.Current);
        if (x.Shape[0] == 0)
        {
            // An empty batch (Poisson sampling can draw one) has no loss; the optimizer still steps, so step hooks
            // (differential privacy adds its noise there) run as for any other batch.
            if (firstInGroup) Optimizer.ReleaseGrads();
            if (lastInGroup) Optimizer.Step();
            return (0, double.NaN, 0);
        }
        // Nothing outside this loop holds the previous step's gradients, so they go back to the pool now rather
        // than when the GC finalizes them (a training loop then rents no new gradient buffers step after step).
        if (firstInGroup) Optimizer.ReleaseGrads();
        model.DataParallel?.BeforeForward();
        using var activity = ActivityRegularization.Collect();
        var output = model.Forward(x);
        var lossValue = Loss.Compute(output, y);
        if (lossValue.NumElements != 1)
            throw new InvalidOperationException($"Fit: the loss \"{Loss.Name}\" returned shape {lossValue.Shape}; a loss must return one value.");
        lossValue = WithRegularization(lossValue, activity);
        (groupSize == 1 ? lossValue : lossValue * (1.0 / groupSize)).Backward();
        if (lastInGroup) Optimizer.Step();
        using (Tensor.NoGrad())
        {
            var prediction = Loss.Activate(output.Detach());
            foreach (var m in trainMetrics) m.Update(prediction, y);
        }
        int size = (int)x.Shape[0];
        // The loss, the penalty and the metrics' running sums (for the batch logs) come back in one download.
        // A batch that did not step reports no penalty (NaN): the penalty log averages the batches that stepped.
        var penalty = trackPenalty && lastInGroup ? Optimizer.LastPenaltyTensor() : null;
        var values = DeviceSum.ReadWith(penalty is null ? [lossValue] : [lossValue, penalty], trainMetrics.SelectMany(m => m.Sums));
        return (values[0], !lastInGroup ? double.NaN : penalty is not null ? values[1] : trackPenalty ? Optimizer.LastPenalty : 0, size);
    }

    /// <summary>Mean loss and metrics of the model in evaluation mode, without gradients, over all of <paramref name="data"/>.</summary>
    public (double Loss, IReadOnlyDictionary<string, double> Metrics) Measure(Dataset data, int batchSize, CancellationToken cancellationToken = default)
    {
        if (data.Count == 0) throw new ArgumentException("Evaluate: the dataset is empty.", nameof(data));
        var measured = Metrics.Select(m => m.Clone()).ToArray();
        // A private generator: evaluation must not advance Rng.Default (the loader draws an epoch seed even unshuffled).
        var loader = new DataLoader(data, batchSize, shuffle: false, generator: new Generator(0));
        bool wasTraining = model.IsTraining;
        model.Eval();
        // Batch losses are summed on the device and read once at the end.
        var lossSum = new DeviceSum();
        try
        {
            using var noGrad = Tensor.NoGrad();
            using var batches = loader.GetEnumerator();
            for (int step = 0; step < loader.Count; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = Tensor.Scope();
                if (!batches.MoveNext()) throw new InvalidOperationException("Evaluate: the dataset yielded fewer batches than its size promises.");
                var (x, y) = Prepare(batches.Current);
                using var activity = ActivityRegularization.Collect();
                var output = model.Forward(x);
                lossSum.Add(WithRegularization(Loss.Compute(output, y), activity).To(DType.Float64).Mul(x.Shape[0]));
                var prediction = Loss.Activate(output);
                foreach (var m in measured) m.Update(prediction, y);
            }
        }
        finally
        {
            model.Train(wasTraining);
        }
        double total = lossSum.Read();
        lossSum.Reset();
        return (total / data.Count, measured.ToDictionary(m => m.Name, m => m.Result));
    }

    // As Keras: the loss that is minimised and logged includes the layers' weight and activity penalties.
    Tensor WithRegularization(Tensor loss, ActivityRegularization activity)
    {
        var penalty = model.RegularizationLossOrNull();
        if (penalty is not null) loss = loss + penalty.To(loss.DType);
        if (activity.Count > 0) loss = loss + activity.Loss(loss).To(loss.DType);
        return loss;
    }

    public Tensor Predict(Tensor x, int batchSize, CancellationToken cancellationToken = default) =>
        PredictRaw(model, x, batchSize, Loss.Activate, cancellationToken);

    /// <summary>Forward in evaluation mode without gradients, batch by batch, each output passed through <paramref name="activate"/>.</summary>
    public static Tensor PredictRaw(Module model, Tensor x, int batchSize, Func<Tensor, Tensor> activate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (x.Dim == 0) throw new ArgumentException($"Predict: the input needs a leading batch dimension, got shape {x.Shape}.", nameof(x));
        bool wasTraining = model.IsTraining;
        model.Eval();
        try
        {
            using var noGrad = Tensor.NoGrad();
            long n = x.Shape[0];
            var outputs = new List<Tensor>();
            for (long start = 0; start < n; start += batchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = Tensor.Scope();
                var batch = PrepareInput(model, x.Narrow(0, start, Math.Min(batchSize, n - start)));
                outputs.Add(scope.Keep(activate(model.Forward(batch))));
            }
            return outputs.Count == 1 ? outputs[0] : Tensor.Cat(outputs);
        }
        finally
        {
            model.Train(wasTraining);
        }
    }

    (Tensor X, Tensor Y) Prepare((Tensor Inputs, Tensor Targets) batch)
    {
        var device = ModelDevice(model);
        var y = batch.Targets;
        return (PrepareInput(model, batch.Inputs), device is null || y.Device.Equals(device) ? y : y.To(device));
    }

    // Integer inputs (raw UInt8 pixels) are cast to Float32 as Keras casts to floatx; scaling them is the data's job.
    static Tensor PrepareInput(Module model, Tensor x)
    {
        if (!x.DType.IsFloatingPoint()) x = x.To(DType.Float32);
        var device = ModelDevice(model);
        return device is null || x.Device.Equals(device) ? x : x.To(device);
    }

    // A model whose layers are not built yet has no parameters: it goes where To(device) placed it.
    static Device? ModelDevice(Module model) => model.Parameters().FirstOrDefault()?.Device ?? model.Placement;

    // Layers that infer their input size (Dense) create parameters on their first call, so an unbound optimizer
    // is bound after one forward pass without gradients on the first batch.
    void BindOptimizer(Dataset data, int batchSize)
    {
        if (Optimizer.IsBound) return;
        if (model.NamedModules().Any(m => m.Module is Dense { IsBuilt: false }))
        {
            bool wasTraining = model.IsTraining;
            model.Eval();
            try
            {
                using var noGrad = Tensor.NoGrad();
                using var scope = Tensor.Scope();
                model.Forward(Prepare(data.GetBatch(Enumerable.Range(0, Math.Min(batchSize, data.Count)).ToArray())).X);
            }
            finally
            {
                model.Train(wasTraining);
            }
        }
        Optimizer.Bind(model.Parameters());
    }

    static (Dataset Train, Dataset? Validation) Split(Dataset data, FitOptions options)
    {
        int n = data.Count;
        if (n == 0) throw new ArgumentException("Fit: the training dataset is empty.", nameof(data));
        if (options.ValidationData is { } v)
        {
            if (v.Count == 0) throw new ArgumentException("Fit: the validation dataset is empty.", "validationData");
            return (data, v);
        }
        if (options.ValidationSplit == 0) return (data, null);
        // As Keras: the last fraction of the samples, taken before any shuffling, is held out.
        int trainCount = (int)(n * (1 - options.ValidationSplit));
        if (trainCount == 0 || trainCount == n)
            throw new ArgumentException(
                $"Fit: validationSplit {options.ValidationSplit} of {n} samples leaves {trainCount} for training and {n - trainCount} for validation; both need at least one.",
                "validationSplit");
        return (new Subset(data, Enumerable.Range(0, trainCount)), new Subset(data, Enumerable.Range(trainCount, n - trainCount)));
    }

    static DataLoader ShareLoader(IDataParallel parallel, Dataset trainSet, int epoch, FitOptions options)
    {
        var indices = parallel.EpochIndices(trainSet.Count, epoch, options.Shuffle);
        if (indices.Count == 0)
            throw new ArgumentException($"Fit: the data-parallel share of rank {parallel.Rank} of {parallel.WorldSize} is empty ({trainSet.Count} samples).", "data");
        return new DataLoader(new Subset(trainSet, indices), options.BatchSize, shuffle: false);
    }

    // Every process has its logs in the same key order, so the values line up.
    static void AverageAcrossRanks(IDataParallel parallel, Dictionary<string, double> logs)
    {
        var keys = logs.Keys.ToArray();
        var mean = parallel.AverageAcrossRanks(keys.Select(k => logs[k]).ToArray());
        if (mean.Length != keys.Length)
            throw new InvalidOperationException($"Fit: averaging {keys.Length} log values across ranks returned {mean.Length}.");
        for (int i = 0; i < keys.Length; i++) logs[keys[i]] = mean[i];
    }

    static Dictionary<string, double> Logs(double loss, Metric[] metrics, double? penalty)
    {
        var logs = new Dictionary<string, double> { ["loss"] = loss };
        foreach (var m in metrics) logs[m.Name] = m.Result;
        if (penalty is double p) logs["penalty"] = p;
        return logs;
    }

    static TrainingProgress Progress(int epoch, int epochs, int step, int steps, IReadOnlyDictionary<string, double> logs, int seen, TimeSpan elapsed)
    {
        var metrics = logs.Where(kv => kv.Key != "loss").ToDictionary(kv => kv.Key, kv => kv.Value);
        double seconds = Math.Max(elapsed.TotalSeconds, 1e-9);
        var eta = TimeSpan.FromSeconds(elapsed.TotalSeconds / step * (steps - step));
        return new TrainingProgress(epoch + 1, epochs, step, steps, logs["loss"], metrics, seen / seconds, eta) { Elapsed = elapsed };
    }
}
