namespace NeuralCore.Backends;

/// <summary>
/// Optional backend capability: cross-entropy over class-index targets as one pass per row (log-softmax and
/// negative log-likelihood together, forward and backward), instead of the composed LogSoftmax, Gather and
/// reductions. <c>Functional.CrossEntropy</c> uses it for [N, C] logits with Int64/Int32 targets, no class
/// weights and no label smoothing when the logits' backend implements it; otherwise it composes tensor ops,
/// which work on every device.
/// </summary>
public interface IFusedLossKernels
{
    /// <summary>
    /// For logits x [N, C] (dense, Float32/Float64) and targets t [N] (dense, Int64 or Int32): writes
    /// <c>lse[i] = log Σ_c exp(x[i, c])</c> (computed stably) into <paramref name="logSumExp"/> [N], and the losses
    /// <c>ℓ[i] = lse[i] − x[i, t[i]]</c> (0 where t[i] = <paramref name="ignoreIndex"/>) into <paramref name="output"/>:
    /// all N of them when it is [N], otherwise (0-d) their sum, divided by the number of
    /// non-ignored targets when <paramref name="mean"/> is set (NaN when there are none).
    /// </summary>
    /// <returns>The number of targets not equal to <paramref name="ignoreIndex"/>.</returns>
    /// <exception cref="ArgumentException">A target other than <paramref name="ignoreIndex"/> is outside [0, C).</exception>
    long CrossEntropyForward(BufferView logits, BufferView target, long ignoreIndex, bool mean, BufferView logSumExp, BufferView output);

    /// <summary>
    /// Gradient of <see cref="CrossEntropyForward"/>: <c>dx[i, c] = s[i]·(exp(x[i, c] − lse[i]) − [c = t[i]])</c> with
    /// <c>s[i] = dy[i]</c> (per-sample output, <paramref name="gradOutput"/> [N]) or <c>dy</c> (0-d),
    /// divided by <paramref name="validCount"/> when <paramref name="mean"/> is set; rows with an ignored target get 0.
    /// <paramref name="gradInput"/> [N, C] is dense and fully overwritten.
    /// </summary>
    void CrossEntropyBackward(BufferView logits, BufferView target, long ignoreIndex, bool mean, long validCount,
        BufferView logSumExp, BufferView gradOutput, BufferView gradInput);
}
