using NeuralCore.Optim;

namespace NeuralCore.Training;

/// <summary>
/// Sets the optimizer's learning rate every epoch during <c>Fit</c>: from a function of (epoch, current rate)
/// before each epoch, as Keras' <c>LearningRateScheduler</c>, or by stepping an <see cref="LRScheduler"/> after
/// each epoch, as a PyTorch loop calls <c>scheduler.step()</c>; a <see cref="ReduceLROnPlateau"/> is stepped with the
/// monitored value of the epoch's logs.
/// </summary>
public sealed class LearningRateSchedulerCallback : Callback
{
    readonly Func<int, double, double>? schedule;
    readonly LRScheduler? scheduler;
    readonly ReduceLROnPlateau? plateau;
    readonly string? monitor;

    /// <summary>Calls <paramref name="schedule"/>(0-based epoch, current rate) before each epoch and sets the rate it returns.</summary>
    public LearningRateSchedulerCallback(Func<int, double, double> schedule)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        this.schedule = schedule;
    }

    /// <summary>Steps <paramref name="scheduler"/> once after each epoch. It must drive the compiled optimizer.</summary>
    public LearningRateSchedulerCallback(LRScheduler scheduler)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        this.scheduler = scheduler;
    }

    /// <summary>Steps <paramref name="scheduler"/> after each epoch with the logged <paramref name="monitor"/> value.</summary>
    /// <param name="scheduler">The plateau scheduler; it must drive the compiled optimizer.</param>
    /// <param name="monitor">Logged quantity to pass (<c>"val_loss"</c>, <c>"loss"</c>, <c>"val_accuracy"</c> with mode "max", ...).</param>
    /// <exception cref="ArgumentException"><paramref name="monitor"/> is empty.</exception>
    public LearningRateSchedulerCallback(ReduceLROnPlateau scheduler, string monitor = "val_loss")
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentException.ThrowIfNullOrWhiteSpace(monitor);
        plateau = scheduler;
        this.monitor = monitor;
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The scheduler drives another optimizer than the compiled one.</exception>
    public override void OnTrainBegin()
    {
        var (driven, kind) = scheduler is not null ? (scheduler.Optimizer, scheduler.GetType().Name)
            : plateau is not null ? (plateau.Optimizer, nameof(ReduceLROnPlateau))
            : (Optimizer, "");
        if (!ReferenceEquals(driven, Optimizer))
            throw new InvalidOperationException(
                $"LearningRateSchedulerCallback: the {kind} drives another optimizer than the one passed to Compile; create it with that optimizer (model.Optimizer).");
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException">The schedule returned a negative or NaN rate.</exception>
    public override void OnEpochBegin(int epoch)
    {
        if (schedule is not null) Optimizer.Lr = schedule(epoch, Optimizer.Lr);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The monitored value of a plateau scheduler is not logged.</exception>
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        ArgumentNullException.ThrowIfNull(logs);
        scheduler?.Step();
        if (plateau is null) return;
        if (!logs.TryGetValue(monitor!, out var value))
            throw new InvalidOperationException(
                $"LearningRateSchedulerCallback: \"{monitor}\" is not in the epoch logs (available: {MessageText.List(logs.Keys)}). " +
                "Validation values need validationData or validationSplit in Fit.");
        plateau.Step(value);
    }
}
