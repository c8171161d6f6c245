namespace NeuralCore.Training;

/// <summary>
/// How often <see cref="LearningRateSchedulerCallback"/> advances its schedule during <c>Fit</c> (the
/// <c>interval</c> of a Lightning scheduler configuration).
/// </summary>
public enum SchedulerInterval
{
    /// <summary>Once per epoch: a PyTorch loop calling <c>scheduler.step()</c> after each epoch (step-decay, cosine over epochs).</summary>
    Epoch,

    /// <summary>
    /// Once per optimizer step: a PyTorch loop calling <c>scheduler.step()</c> after every <c>optimizer.step()</c>
    /// (warmup, 1cycle). With gradient accumulation that is once per group of batches, not once per batch.
    /// </summary>
    Step,
}
