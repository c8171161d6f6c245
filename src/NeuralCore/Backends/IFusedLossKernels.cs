namespace NeuralCore.Backends;

/// <summary>
/// Optional backend capability: cross-entropy over class-index targets as one pass per row (log-softmax and
/// negative log-likelihood together, forward and backward), instead of the composed LogSoftmax, Gather and
/// reductions. <c>Functional.CrossEntropy</c> uses it for [N, C] logits with Int64/Int32 targets, no class
/// weights and no label smoothing when the logits' backend implements it; otherwise it composes tensor ops,
/// which work on every device.
/// </summary>
/// <remarks>
/// Nothing here returns data to the caller: the divisor of the mean (the number of non-ignored targets) is
/// written next to the per-row log Σ exp in <c>saved</c>, where the backward reads it, so a device backend
/// never needs a host read to run a loss forward and backward.
/// </remarks>
public interface IFusedLossKernels
{
    /// <summary>
    /// For logits x [N, C] (dense, Float32/Float64) and targets t [N] (dense, Int64 or Int32): writes
    /// <c>lse[i] = log Σ_c exp(x[i, c])</c> (computed stably) into <c>saved[i]</c> for i &lt; N, and the loss divisor
    /// d into <c>saved[N]</c>: the number of targets not equal to <paramref name="ignoreIndex"/> when
    /// <paramref name="mean"/> is set, else 1. Writes the losses <c>ℓ[i] = lse[i] − x[i, t[i]]</c> (0 where
    /// t[i] = <paramref name="ignoreIndex"/>) into <paramref name="output"/>: all N of them when it is [N], otherwise
    /// (0-d) Σ ℓ[i] / d (NaN for a mean with no non-ignored target).
    /// </summary>
    /// <param name="logits">x [N, C].</param>
    /// <param name="target">t [N].</param>
    /// <param name="ignoreIndex">Targets equal to it contribute 0 and are not counted.</param>
    /// <param name="mean">Divide the 0-d sum by the number of non-ignored targets.</param>
    /// <param name="saved">[N + 1] of the logits' dtype, dense: what <see cref="CrossEntropyBackward"/> needs.</param>
    /// <param name="output">[N] or 0-d of the logits' dtype, dense.</param>
    /// <exception cref="ArgumentException">
    /// A target other than <paramref name="ignoreIndex"/> is outside [0, C). A backend that cannot see the targets
    /// without a host read (a GPU) checks them on the device and throws at the next read of any tensor instead.
    /// </exception>
    void CrossEntropyForward(BufferView logits, BufferView target, long ignoreIndex, bool mean, BufferView saved, BufferView output);

    /// <summary>
    /// Gradient of <see cref="CrossEntropyForward"/>: <c>dx[i, c] = s[i]·(exp(x[i, c] − saved[i]) − [c = t[i]])</c> with
    /// <c>s[i] = dy[i] / saved[N]</c> (per-sample output, <paramref name="gradOutput"/> [N]) or <c>dy / saved[N]</c> (0-d);
    /// rows with an ignored target get 0. <paramref name="gradInput"/> [N, C] is dense and fully overwritten.
    /// </summary>
    void CrossEntropyBackward(BufferView logits, BufferView target, long ignoreIndex, BufferView saved,
        BufferView gradOutput, BufferView gradInput);
}
