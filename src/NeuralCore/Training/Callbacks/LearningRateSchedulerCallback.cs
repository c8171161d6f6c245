using NeuralCore.Optim;

namespace NeuralCore.Training;

/// <summary>
/// Sets the optimizer's learning rate during <c>Fit</c>: from a function of (epoch, current rate) before each
/// epoch, as Keras' <c>LearningRateScheduler</c>, or by stepping an <see cref="LRScheduler"/> after each epoch, as a
/// PyTorch loop calls <c>scheduler.step()</c>; a <see cref="ReduceLROnPlateau"/> is stepped with the monitored value
/// of the epoch's logs. With <see cref="SchedulerInterval.Step"/> the function or the scheduler follows optimizer
/// steps instead of epochs (warmup and 1cycle schedules); with gradient accumulation the optimizer, and so the
/// schedule, steps once per group of batches.
/// </summary>
public sealed class LearningRateSchedulerCallback : Callback
{
    readonly Func<int, double, double>? schedule;
    readonly LRScheduler? scheduler;
    readonly ReduceLROnPlateau? plateau;
    readonly string? monitor;

    /// <summary>
    /// Calls <paramref name="schedule"/>(0-based index, current rate) and sets the rate it returns: before each epoch
    /// with <see cref="SchedulerInterval.Epoch"/>; with <see cref="SchedulerInterval.Step"/>, before the first optimizer
    /// step (index 0) and after each optimizer step k (index k + 1), so step k runs at the rate for index k.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="interval"/> is not a defined value.</exception>
    public LearningRateSchedulerCallback(Func<int, double, double> schedule, SchedulerInterval interval = SchedulerInterval.Epoch)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        this.schedule = schedule;
        Interval = CheckInterval(interval);
    }

    /// <summary>
    /// Steps <paramref name="scheduler"/> once after each epoch, or once after each optimizer step with
    /// <see cref="SchedulerInterval.Step"/> (the scheduler applied its index-0 rate when it was created, so optimizer
    /// step k runs at the schedule's rate for index k, as in a PyTorch loop). It must drive the compiled optimizer.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="interval"/> is not a defined value.</exception>
    public LearningRateSchedulerCallback(LRScheduler scheduler, SchedulerInterval interval = SchedulerInterval.Epoch)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        this.scheduler = scheduler;
        Interval = CheckInterval(interval);
    }

    /// <summary>Whether the schedule follows epochs or optimizer steps (always epochs for <see cref="ReduceLROnPlateau"/>).</summary>
    public SchedulerInterval Interval { get; }

    static SchedulerInterval CheckInterval(SchedulerInterval interval) =>
        Enum.IsDefined(interval) ? interval
            : throw new ArgumentOutOfRangeException(nameof(interval), interval, "LearningRateSchedulerCallback: interval must be Epoch or Step.");

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
        if (schedule is not null && Interval == SchedulerInterval.Step) Optimizer.Lr = schedule(0, Optimizer.Lr);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException">The schedule returned a negative or NaN rate.</exception>
    public override void OnEpochBegin(int epoch)
    {
        if (schedule is not null && Interval == SchedulerInterval.Epoch) Optimizer.Lr = schedule(epoch, Optimizer.Lr);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException">The schedule returned a negative or NaN rate.</exception>
    /// <exception cref="InvalidOperationException">The scheduler is stepped past its end (<see cref="OneCycleLR"/>).</exception>
    public override void OnOptimizerStep(int step)
    {
        if (Interval != SchedulerInterval.Step) return;
        if (schedule is not null) Optimizer.Lr = schedule(step + 1, Optimizer.Lr);
        scheduler?.Step();
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The monitored value of a plateau scheduler is not logged.</exception>
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        ArgumentNullException.ThrowIfNull(logs);
        if (Interval == SchedulerInterval.Epoch) scheduler?.Step();
        if (plateau is null) return;
        if (!logs.TryGetValue(monitor!, out var value))
            throw new InvalidOperationException(
                $"LearningRateSchedulerCallback: \"{monitor}\" is not in the epoch logs (available: {MessageText.List(logs.Keys)}). " +
                "Validation values need validationData or validationSplit in Fit.");
        plateau.Step(value);
    }
}
