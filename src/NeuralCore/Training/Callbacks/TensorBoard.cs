namespace NeuralCore.Training;

/// <summary>
/// Writes training curves and weight histograms as TensorBoard event files (Keras' <c>TensorBoard</c> callback):
/// <c>logDir/train</c> gets <c>epoch_loss</c>, <c>epoch_</c>+metric and <c>epoch_learning_rate</c> per epoch, and
/// <c>logDir/validation</c> the <c>val_</c> values under the same tags, so TensorBoard draws both runs on one chart.
/// With <c>updateFrequency</c> &gt; 0 the train run also gets <c>batch_loss</c> and <c>batch_</c>+metric (running
/// epoch means) every that many batches, at the global batch index. With <c>histogramFrequency</c> &gt; 0 every
/// parameter and buffer is written as a histogram (tag: its state-dict name) every that many epochs. Start TensorBoard
/// with <c>tensorboard --logdir LOGDIR</c>. In data-parallel training only rank 0 writes.
/// </summary>
public sealed class TensorBoard : Callback
{
    EventFileWriter? train, validation;
    long globalBatch;

    /// <summary>Creates the callback.</summary>
    /// <param name="logDir">The log folder; created if missing. Each Fit adds a new event file to its run folders.</param>
    /// <param name="histogramFrequency">Write weight histograms every this many epochs; 0 for none.</param>
    /// <param name="updateFrequency">Write batch-level scalars every this many batches; 0 for epoch-level only.</param>
    /// <param name="histogramBuckets">Equal-width buckets per histogram.</param>
    /// <exception cref="ArgumentException"><paramref name="logDir"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A negative frequency, or fewer than 1 bucket.</exception>
    public TensorBoard(string logDir, int histogramFrequency = 0, int updateFrequency = 0, int histogramBuckets = 30)
    {
        ArgumentException.ThrowIfNullOrEmpty(logDir);
        ArgumentOutOfRangeException.ThrowIfNegative(histogramFrequency);
        ArgumentOutOfRangeException.ThrowIfNegative(updateFrequency);
        ArgumentOutOfRangeException.ThrowIfLessThan(histogramBuckets, 1);
        LogDir = logDir;
        HistogramFrequency = histogramFrequency;
        UpdateFrequency = updateFrequency;
        HistogramBuckets = histogramBuckets;
    }

    /// <summary>The log folder.</summary>
    public string LogDir { get; }

    /// <summary>Epochs between weight histograms (0: none).</summary>
    public int HistogramFrequency { get; }

    /// <summary>Batches between batch-level scalars (0: epoch-level only).</summary>
    public int UpdateFrequency { get; }

    /// <summary>Buckets per histogram.</summary>
    public int HistogramBuckets { get; }

    /// <summary>The event file of the training run of the last Fit, or null before one.</summary>
    public string? TrainFile => train?.Path;

    /// <summary>The event file of the validation run of the last Fit (null until a validation value is logged).</summary>
    public string? ValidationFile => validation?.Path;

    /// <inheritdoc />
    public override bool RankZeroOnly => true;

    /// <inheritdoc />
    public override void OnTrainBegin()
    {
        train = new EventFileWriter(Path.Combine(LogDir, "train"));
        validation = null;
        globalBatch = 0;
    }

    /// <inheritdoc />
    public override void OnBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        ArgumentNullException.ThrowIfNull(logs);
        long step = globalBatch++;
        if (UpdateFrequency == 0 || (step + 1) % UpdateFrequency != 0) return;
        train!.Scalars(step, logs.Select(kv => ("batch_" + kv.Key, kv.Value)));
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        ArgumentNullException.ThrowIfNull(logs);
        var trainValues = logs.Where(kv => !kv.Key.StartsWith("val_", StringComparison.Ordinal))
            .Select(kv => ("epoch_" + kv.Key, kv.Value)).Append(("epoch_learning_rate", Optimizer.Lr)).ToArray();
        train!.Scalars(epoch, trainValues);
        var validationValues = logs.Where(kv => kv.Key.StartsWith("val_", StringComparison.Ordinal))
            .Select(kv => ("epoch_" + kv.Key["val_".Length..], kv.Value)).ToArray();
        if (validationValues.Length > 0)
        {
            validation ??= new EventFileWriter(Path.Combine(LogDir, "validation"));
            validation.Scalars(epoch, validationValues);
        }
        if (HistogramFrequency > 0 && (epoch + 1) % HistogramFrequency == 0)
        {
            using var noGrad = Tensor.NoGrad();
            var histograms = Model.StateDict()
                .Where(kv => kv.Value.DType.IsFloatingPoint())
                .Select(kv => (kv.Key, kv.Value.To(DType.Float32).ToArray<float>()))
                .ToArray();
            train.Histograms(epoch, histograms, HistogramBuckets);
        }
    }
}
