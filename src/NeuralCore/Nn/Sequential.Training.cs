using NeuralCore.Data;
using NeuralCore.Optim;
using NeuralCore.Training;

namespace NeuralCore.Nn;

// Keras-style training: Compile, Fit, Evaluate, Predict. The loops live in NeuralCore.Training.Trainer.
public sealed partial class Sequential
{
    Trainer? trainer;

    /// <summary>The data-parallel strategy <c>Fit</c> trains with, or null for single-process training.</summary>
    public IDataParallel? DataParallel { get; private set; }

    /// <summary>
    /// Makes <c>Fit</c> train data-parallel with <paramref name="dataParallel"/> (see <see cref="IDataParallel"/>), or
    /// single-process again with null.
    /// </summary>
    /// <param name="dataParallel">A strategy replicating this model, or null.</param>
    /// <exception cref="ArgumentException">The strategy replicates another module.</exception>
    public void UseDataParallel(IDataParallel? dataParallel)
    {
        if (dataParallel is not null && !ReferenceEquals(dataParallel.Module, this))
            throw new ArgumentException($"UseDataParallel: the strategy replicates a {dataParallel.Module.GetType().Name}, not this model.", nameof(dataParallel));
        DataParallel = dataParallel;
    }

    /// <summary>True once <see cref="Compile(Optimizer, Training.Loss, IEnumerable{string}?)"/> was called.</summary>
    public bool IsCompiled => trainer is not null;

    /// <summary>The compiled optimizer (bound to this model's parameters by the first <see cref="Fit(Dataset, int, int, Dataset?, double, bool, int, IEnumerable{Callback}?, IProgress{TrainingProgress}?, int, bool, Profiling.EnergyOptions?, CancellationToken)"/>), or null before <c>Compile</c>.</summary>
    public Optimizer? Optimizer => trainer?.Optimizer;

    /// <summary>The compiled loss (with "auto" logits/probabilities resolved for this model), or null before <c>Compile</c>.</summary>
    public Training.Loss? Loss => trainer?.Loss;

    /// <summary>The compiled metrics' names, in order (empty before <c>Compile</c>).</summary>
    public IReadOnlyList<string> MetricNames => trainer?.Metrics.Select(m => m.Name).ToArray() ?? [];

    /// <summary>
    /// Configures training, as Keras' <c>compile</c>. Strings convert implicitly: optimizers <c>"adam"</c>,
    /// <c>"sgd"</c>, <c>"rmsprop"</c>, <c>"adamw"</c>; losses <c>"categorical_crossentropy"</c> (one-hot or class-index
    /// targets; logits unless the model ends in a softmax), <c>"sparse_categorical_crossentropy"</c>,
    /// <c>"binary_crossentropy"</c>, <c>"mse"</c>, <c>"mae"</c>, <c>"huber"</c>; metrics <c>"accuracy"</c>, <c>"mae"</c>,
    /// <c>"mse"</c>. Objects work too: <c>new Adam(lr: 1e-3)</c>, <c>Loss.CrossEntropy</c>. An optimizer created
    /// without parameters is bound to this model's parameters by the first <c>Fit</c>.
    /// </summary>
    /// <param name="optimizer">The optimizer, or its Keras name.</param>
    /// <param name="loss">The loss, or its Keras name.</param>
    /// <param name="metrics">Metric names to track, or null for none.</param>
    /// <exception cref="ArgumentException">A metric name is unknown or repeated.</exception>
    public void Compile(Optimizer optimizer, Training.Loss loss, IEnumerable<string>? metrics = null) =>
        Compile(optimizer, loss, (metrics ?? []).Select(Metric.FromName));

    /// <summary>Configures training with metric objects (custom <see cref="Metric"/> subclasses, <c>new Accuracy(threshold: 0.3)</c>).</summary>
    /// <param name="optimizer">The optimizer, or its Keras name.</param>
    /// <param name="loss">The loss, or its Keras name.</param>
    /// <param name="metrics">Metrics to track.</param>
    /// <exception cref="ArgumentException">Two metrics share a name, or one is named like a log key ("loss", "val_...").</exception>
    public void Compile(Optimizer optimizer, Training.Loss loss, IEnumerable<Metric> metrics)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(metrics);
        var list = metrics.ToArray();
        var names = new HashSet<string>();
        foreach (var m in list)
        {
            ArgumentNullException.ThrowIfNull(m, nameof(metrics));
            if (m.Name is "loss" or "penalty" || m.Name.StartsWith("val_", StringComparison.Ordinal))
                throw new ArgumentException($"Compile: a metric cannot be named \"{m.Name}\" (reserved for the logs).", nameof(metrics));
            if (!names.Add(m.Name))
                throw new ArgumentException($"Compile: the metric \"{m.Name}\" is listed twice.", nameof(metrics));
        }
        trainer = new Trainer(this, optimizer, loss.ResolveFor(this), list);
    }

    /// <summary>
    /// Trains the model, as Keras' <c>fit</c>: per epoch, shuffled mini-batches of <paramref name="data"/> each run
    /// zero-grad, forward, loss, backward and an optimizer step (each step inside a <see cref="Tensor.Scope"/>, so
    /// memory stays flat); then validation in evaluation mode without gradients.
    /// </summary>
    /// <param name="data">Training samples, batched by a <see cref="DataLoader"/> (per-item transforms run in parallel, seeded reproducibly).</param>
    /// <param name="epochs">Passes over the data.</param>
    /// <param name="batchSize">Samples per step (the last batch may be smaller).</param>
    /// <param name="validationData">Data measured after each epoch (<c>val_loss</c>, <c>val_</c>-metrics).</param>
    /// <param name="validationSplit">Fraction of <paramref name="data"/> held out for validation instead: the last samples, before shuffling (as Keras).</param>
    /// <param name="shuffle">Shuffle the training samples every epoch (with <see cref="Rng"/>'s default generator, so <c>Rng.ManualSeed</c> makes runs repeatable).</param>
    /// <param name="verbose">Console output when no <paramref name="progress"/> is given: 0 none, 1 a live progress bar (one line per epoch when output is redirected), 2 one line per epoch.</param>
    /// <param name="callbacks">Hooks called during training (<see cref="EarlyStopping"/>, <see cref="ModelCheckpoint"/>, ...).</param>
    /// <param name="progress">Receives a report after every step and at each epoch's end; replaces the console output.</param>
    /// <param name="accumulationSteps">
    /// Gradient accumulation: the optimizer steps once per this many consecutive batches, on the mean of their batch-mean
    /// gradients (each batch's loss is scaled by 1/k for a group of k), so <c>batchSize: 8, accumulationSteps: 4</c>
    /// trains as <c>batchSize: 32</c> with a quarter of the activation memory (exactly so for losses that are means
    /// over equal batches, without batch statistics). The epoch's last group may be shorter; a group cut short by a
    /// callback stopping training is not applied. Logged losses and metrics stay per batch.
    /// </param>
    /// <param name="measureCost">
    /// Count each epoch's FLOPs (<see cref="Profiling.FlopCounter"/>) and energy (<see cref="Profiling.EnergyMeter"/>) into
    /// <see cref="History.Costs"/> and the progress line; false turns both off.
    /// </param>
    /// <param name="energy">Energy methods, power model and carbon intensity; <see cref="Profiling.EnergyOptions.Default"/> when null.</param>
    /// <param name="cancellationToken">
    /// Stops training at the next batch boundary by throwing <see cref="FitCanceledException"/> (an
    /// <see cref="OperationCanceledException"/> that carries the <see cref="History"/> of the completed epochs).
    /// </param>
    /// <returns>Per-epoch loss and metrics, and each epoch's FLOPs and energy.</returns>
    /// <exception cref="FitCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="InvalidOperationException"><c>Compile</c> was not called.</exception>
    /// <exception cref="ArgumentException">Both validation data and a split, a split that leaves a side empty, or empty data.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A count or fraction out of range.</exception>
    public History Fit(Dataset data, int epochs = 1, int batchSize = 32, Dataset? validationData = null, double validationSplit = 0,
        bool shuffle = true, int verbose = 1, IEnumerable<Callback>? callbacks = null, IProgress<TrainingProgress>? progress = null,
        int accumulationSteps = 1, bool measureCost = true, Profiling.EnergyOptions? energy = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfLessThan(epochs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(accumulationSteps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(verbose);
        if (!(validationSplit >= 0 && validationSplit < 1))
            throw new ArgumentOutOfRangeException(nameof(validationSplit), validationSplit, "validationSplit must lie in [0, 1).");
        if (validationData is not null && validationSplit > 0)
            throw new ArgumentException("Fit: pass either validationData or validationSplit, not both.", nameof(validationSplit));
        var callbackList = callbacks?.ToArray() ?? [];
        foreach (var c in callbackList) ArgumentNullException.ThrowIfNull(c, nameof(callbacks));
        energy?.Validate();
        return Compiled(nameof(Fit)).Fit(data,
            new FitOptions(epochs, batchSize, validationData, validationSplit, shuffle, verbose, callbackList, progress, accumulationSteps, measureCost, energy,
                CancellationToken: cancellationToken));
    }

    /// <summary>
    /// Trains on the batches of <paramref name="loader"/> (for example one with a Poisson <see cref="IBatchSampler"/>,
    /// whose batches vary in size and may be empty: an empty batch steps the optimizer without a forward pass).
    /// Otherwise as <see cref="Fit(Dataset, int, int, Dataset?, double, bool, int, IEnumerable{Callback}?, IProgress{TrainingProgress}?, int, bool, Profiling.EnergyOptions?, CancellationToken)"/>.
    /// </summary>
    /// <param name="loader">The training batches; each enumeration is one epoch.</param>
    /// <param name="epochs">Passes over the loader.</param>
    /// <param name="validationData">Validation samples, or null.</param>
    /// <param name="verbose">0 silent, 1 progress bar, 2 one line per epoch.</param>
    /// <param name="callbacks">Training hooks.</param>
    /// <param name="progress">Progress receiver (replaces console output).</param>
    /// <param name="measureCost">Count each epoch's FLOPs and energy into <see cref="History.Costs"/>, as the other overload.</param>
    /// <param name="energy">Energy methods, power model and carbon intensity; <see cref="Profiling.EnergyOptions.Default"/> when null.</param>
    /// <param name="cancellationToken">Stops training at the next batch boundary (<see cref="FitCanceledException"/>).</param>
    /// <returns>Per-epoch loss and metrics, and each epoch's FLOPs and energy.</returns>
    /// <exception cref="InvalidOperationException"><c>Compile</c> was not called, or data-parallel training is attached.</exception>
    public History Fit(DataLoader loader, int epochs = 1, Dataset? validationData = null, int verbose = 1,
        IEnumerable<Callback>? callbacks = null, IProgress<TrainingProgress>? progress = null,
        bool measureCost = true, Profiling.EnergyOptions? energy = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(loader);
        ArgumentOutOfRangeException.ThrowIfLessThan(epochs, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(verbose);
        var callbackList = callbacks?.ToArray() ?? [];
        foreach (var c in callbackList) ArgumentNullException.ThrowIfNull(c, nameof(callbacks));
        energy?.Validate();
        return Compiled(nameof(Fit)).Fit(loader.Dataset,
            new FitOptions(epochs, loader.BatchSize, validationData, 0, loader.Shuffle, verbose, callbackList, progress, 1,
                measureCost, energy, loader, cancellationToken));
    }

    /// <summary>
    /// Trains on tensors: sample i is (<paramref name="x"/>[i], <paramref name="y"/>[i]). Otherwise as
    /// <see cref="Fit(Dataset, int, int, Dataset?, double, bool, int, IEnumerable{Callback}?, IProgress{TrainingProgress}?, int, bool, Profiling.EnergyOptions?, CancellationToken)"/>.
    /// </summary>
    /// <param name="x">Inputs [N, ...].</param>
    /// <param name="y">Targets [N, ...].</param>
    /// <param name="epochs">Passes over the data.</param>
    /// <param name="batchSize">Samples per step.</param>
    /// <param name="validationData">Validation inputs and targets, or null.</param>
    /// <param name="validationSplit">Fraction of the samples held out for validation (the last ones).</param>
    /// <param name="shuffle">Shuffle every epoch.</param>
    /// <param name="verbose">0 silent, 1 progress bar, 2 one line per epoch.</param>
    /// <param name="callbacks">Training hooks.</param>
    /// <param name="progress">Progress receiver (replaces console output).</param>
    /// <param name="accumulationSteps">Batches whose gradients are averaged into one optimizer step.</param>
    /// <param name="measureCost">Record each epoch's FLOPs and energy in <see cref="History.Costs"/>.</param>
    /// <param name="energy">Energy methods, power model and carbon intensity; the defaults when null.</param>
    /// <param name="cancellationToken">Stops training at the next batch boundary (<see cref="FitCanceledException"/>).</param>
    /// <returns>Per-epoch loss and metrics, and each epoch's FLOPs and energy.</returns>
    /// <exception cref="ArgumentException"><paramref name="x"/> and <paramref name="y"/> differ in their number of samples.</exception>
    public History Fit(Tensor x, Tensor y, int epochs = 1, int batchSize = 32, (Tensor X, Tensor Y)? validationData = null,
        double validationSplit = 0, bool shuffle = true, int verbose = 1, IEnumerable<Callback>? callbacks = null,
        IProgress<TrainingProgress>? progress = null, int accumulationSteps = 1, bool measureCost = true, Profiling.EnergyOptions? energy = null,
        CancellationToken cancellationToken = default) =>
        Fit(new TensorDataset(x, y), epochs, batchSize,
            validationData is var (vx, vy) ? new TensorDataset(vx, vy) : null,
            validationSplit, shuffle, verbose, callbacks, progress, accumulationSteps, measureCost, energy, cancellationToken);

    /// <summary>The compiled loss and metrics over <paramref name="data"/>, in evaluation mode without gradients (Keras' <c>evaluate</c>).</summary>
    /// <param name="data">Samples to measure.</param>
    /// <param name="batchSize">Samples per forward pass.</param>
    /// <exception cref="InvalidOperationException"><c>Compile</c> was not called.</exception>
    /// <param name="cancellationToken">Stops at the next batch boundary by throwing <see cref="OperationCanceledException"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="data"/> is empty.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public EvaluationResult Evaluate(Dataset data, int batchSize = 32, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var (loss, metrics) = Compiled(nameof(Evaluate)).Measure(data, batchSize, cancellationToken);
        return new EvaluationResult(loss, metrics);
    }

    /// <summary>The compiled loss and metrics over tensors <paramref name="x"/> and <paramref name="y"/>.</summary>
    /// <param name="x">Inputs [N, ...].</param>
    /// <param name="y">Targets [N, ...].</param>
    /// <param name="batchSize">Samples per forward pass.</param>
    /// <param name="cancellationToken">Stops at the next batch boundary by throwing <see cref="OperationCanceledException"/>.</param>
    public EvaluationResult Evaluate(Tensor x, Tensor y, int batchSize = 32, CancellationToken cancellationToken = default) =>
        Evaluate(new TensorDataset(x, y), batchSize, cancellationToken);

    /// <summary>
    /// The model's predictions for <paramref name="x"/> (batch first), computed in evaluation mode without gradients,
    /// <paramref name="batchSize"/> samples at a time. After <c>Compile</c>, outputs pass through the loss's
    /// <see cref="Training.Loss.Activate"/>: a categorical loss on logits gives softmax probabilities (rows sum to 1),
    /// a binary loss on logits gives sigmoid probabilities, other losses the raw outputs. Before <c>Compile</c>, the
    /// raw outputs. Use <see cref="Module.Forward"/> under <see cref="Tensor.NoGrad"/> for logits.
    /// </summary>
    /// <param name="x">Inputs [N, ...]; integer inputs are converted to Float32.</param>
    /// <param name="batchSize">Samples per forward pass.</param>
    /// <param name="cancellationToken">Stops at the next batch boundary by throwing <see cref="OperationCanceledException"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="x"/> is 0-d.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Tensor Predict(Tensor x, int batchSize = 32, CancellationToken cancellationToken = default) =>
        trainer is not null ? trainer.Predict(x, batchSize, cancellationToken) : Trainer.PredictRaw(this, x, batchSize, o => o, cancellationToken);

    Trainer Compiled(string operation) =>
        trainer ?? throw new InvalidOperationException(
            $"Sequential.{operation}: the model is not compiled; call Compile(optimizer, loss, metrics) first, e.g. Compile(\"adam\", \"categorical_crossentropy\", new[] {{ \"accuracy\" }}).");
}
