using NeuralCore.Nn;
using NeuralCore.Optim;

namespace NeuralCore.Training;

/// <summary>
/// Hooks into <c>Fit</c> (Keras' callbacks). Epochs and batches are 0-based here, as in Keras. Logs hold
/// <c>"loss"</c> and the metrics (epoch means so far for batches; at epoch end also <c>"val_loss"</c> and
/// <c>"val_"</c>-metrics). Set <see cref="StopTraining"/> to end training after the current batch.
/// </summary>
public abstract class Callback
{
    Sequential? model;
    Optimizer? optimizer;
    Action<string>? notify;

    /// <summary>The model being trained.</summary>
    /// <exception cref="InvalidOperationException">The callback is not attached to a running <c>Fit</c>.</exception>
    public Sequential Model => model ?? throw NotAttached();

    /// <summary>The optimizer training <see cref="Model"/>.</summary>
    /// <exception cref="InvalidOperationException">The callback is not attached to a running <c>Fit</c>.</exception>
    public Optimizer Optimizer => optimizer ?? throw NotAttached();

    /// <summary>
    /// Whether, in data-parallel training (<see cref="IDataParallel"/>), the callback runs on rank 0 only (false by
    /// default: it runs on every process, which all see the same averaged epoch logs). Callbacks that write files,
    /// such as <see cref="ModelCheckpoint"/>, return true.
    /// </summary>
    public virtual bool RankZeroOnly => false;

    /// <summary>Set to true to request that training stop; <c>Fit</c> clears it when it starts.</summary>
    public bool StopTraining { get; set; }

    InvalidOperationException NotAttached() =>
        new($"{GetType().Name}: the callback is used outside Fit; pass it in Fit's callbacks argument.");

    internal void Attach(Sequential model, Optimizer optimizer, Action<string>? notify = null)
    {
        this.model = model;
        this.optimizer = optimizer;
        this.notify = notify;
        StopTraining = false;
    }

    /// <summary>
    /// Reports a notice from the callback to the running <c>Fit</c>: it is recorded in <see cref="History.Messages"/>
    /// and shown by the progress output (a report with <see cref="TrainingProgress.Message"/> set). Outside Fit it does
    /// nothing.
    /// </summary>
    /// <param name="message">The notice, one line.</param>
    protected void Notify(string message) => notify?.Invoke(message);

    /// <summary>Called once before the first epoch.</summary>
    public virtual void OnTrainBegin() { }

    /// <summary>Called before each epoch's first batch.</summary>
    /// <param name="epoch">0-based epoch.</param>
    public virtual void OnEpochBegin(int epoch) { }

    /// <summary>Called after each training step.</summary>
    /// <param name="batch">0-based batch index within the epoch.</param>
    /// <param name="logs">Running epoch means of the loss and metrics.</param>
    public virtual void OnBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) { }

    /// <summary>
    /// Called right after each optimizer step, before the <see cref="OnBatchEnd"/> of the batch that made it. With
    /// gradient accumulation the optimizer steps once per group of batches, so this runs once per group; a per-step
    /// learning-rate schedule (<see cref="SchedulerInterval.Step"/>) advances here.
    /// </summary>
    /// <param name="step">0-based count of the optimizer steps taken in this <c>Fit</c>, over all epochs.</param>
    public virtual void OnOptimizerStep(int step) { }

    /// <summary>
    /// Called when an epoch's training logs are complete, before validation, before <see cref="History"/> records them
    /// and before the progress line shows them: a callback may add values of its own (a privacy accountant adds
    /// <c>"epsilon"</c>).
    /// </summary>
    /// <param name="epoch">0-based epoch.</param>
    /// <param name="logs">The epoch's logs, writable.</param>
    public virtual void OnEpochLogs(int epoch, IDictionary<string, double> logs) { }

    /// <summary>Called after each epoch, validation included.</summary>
    /// <param name="epoch">0-based epoch.</param>
    /// <param name="logs">The values <see cref="History"/> records for this epoch.</param>
    public virtual void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) { }

    /// <summary>Called once when training ends (normally or by a stop request).</summary>
    /// <param name="logs">The last epoch's logs (empty when no epoch completed).</param>
    public virtual void OnTrainEnd(IReadOnlyDictionary<string, double> logs) { }
}
