using NeuralCore.Backends;

namespace NeuralCore.Nn;

// Regression and binary losses. Each is a composition of Tensor ops, so autograd comes from the op rules.
// Where PyTorch would broadcast a target of another shape (with a warning), these throw instead: a silently
// broadcast target is almost always a bug (a [N] target against a [N, 1] prediction gives an [N, N] loss).
public static partial class Functional
{
    /// <summary>
    /// Mean squared error: (input − target)², reduced by <paramref name="reduction"/>, as <c>F.mse_loss</c>.
    /// Shape: input and target the same shape; the result is 0-d, or that shape for <see cref="Reduction.None"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes differ (named in the message).</exception>
    public static Tensor Mse(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        CheckSameShape(input, target, nameof(Mse));
        return Reduce((input - target).Square(), reduction);
    }

    /// <summary>Alias of <see cref="Mse"/> under PyTorch's <c>mse_loss</c> name.</summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) => Mse(input, target, reduction);

    /// <summary>Mean absolute error |input − target|, as <c>F.l1_loss</c>. Shape: as <see cref="Mse"/>.</summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static Tensor L1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        CheckSameShape(input, target, nameof(L1Loss));
        return Reduce((input - target).Abs(), reduction);
    }

    /// <summary>
    /// Huber loss, as <c>F.huber_loss</c>: with d = |input − target|, 0.5·d² where d &lt; delta and
    /// delta·(d − 0.5·delta) elsewhere. Shape: as <see cref="Mse"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delta"/> is not positive.</exception>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static Tensor HuberLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double delta = 1.0)
    {
        if (!(delta > 0)) throw new ArgumentOutOfRangeException(nameof(delta), $"HuberLoss: delta must be positive, got {delta}.");
        CheckSameShape(input, target, nameof(HuberLoss));
        var diff = input - target;
        var d = diff.Abs();
        return Reduce(Tensor.Where(d.Lt(delta), 0.5 * diff.Square(), delta * (d - 0.5 * delta)), reduction);
    }

    /// <summary>
    /// Smooth L1 loss, as <c>F.smooth_l1_loss</c>: with d = |input − target|, 0.5·d²/beta where d &lt; beta and
    /// d − 0.5·beta elsewhere; beta = 0 gives the L1 loss. Equals <see cref="HuberLoss"/> / beta for beta &gt; 0.
    /// Shape: as <see cref="Mse"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="beta"/> is negative.</exception>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static Tensor SmoothL1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double beta = 1.0)
    {
        if (!(beta >= 0)) throw new ArgumentOutOfRangeException(nameof(beta), $"SmoothL1Loss: beta must be non-negative, got {beta}.");
        CheckSameShape(input, target, nameof(SmoothL1Loss));
        if (beta == 0) return L1Loss(input, target, reduction);
        var diff = input - target;
        var d = diff.Abs();
        return Reduce(Tensor.Where(d.Lt(beta), (0.5 / beta) * diff.Square(), d - 0.5 * beta), reduction);
    }

    /// <summary>
    /// Binary cross-entropy of probabilities, as <c>F.binary_cross_entropy</c>:
    /// −weight·(t·log x + (1 − t)·log(1 − x)), each log clamped at −100 so that x = 0 or 1 gives a finite loss.
    /// Where a log is clamped its gradient is 0 (the derivative of the clamped formula). Prefer
    /// <see cref="BinaryCrossEntropyWithLogits"/>, which is stable for any logit.
    /// Shape: input and target the same shape; <paramref name="weight"/> broadcasts to it.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes differ, the weight does not broadcast, or an input is outside [0, 1] or NaN.
    /// On the CPU the range check throws here; on a GPU it runs on the device and throws at the next read from it
    /// (e.g. <c>loss.Item()</c>), so training never waits for the check.</exception>
    public static Tensor BinaryCrossEntropy(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, Tensor? weight = null)
    {
        const string op = nameof(BinaryCrossEntropy);
        CheckSameShape(input, target, op);
        CheckBroadcastsTo(weight, input, op, nameof(weight));
        CheckProbabilities(input, op);
        var loss = -(target * ClampedLog(input) + (1 - target) * ClampedLog(1 - input));
        return Reduce(weight is null ? loss : loss * weight, reduction);
    }

    // Rejects inputs outside [0, 1], NaN included (as PyTorch), naming the range found. The check is computed on
    // the input's device; on a GPU it raises at the next read (e.g. loss.Item()) instead of waiting here.
    static void CheckProbabilities(Tensor input, string op)
    {
        if (input.NumElements == 0) return;
        using (Tensor.NoGrad())
        {
            var detached = input.Detach();
            Tensor min = detached.Min(), max = detached.Max();
            // NaN-propagating Min: a NaN anywhere makes min and max NaN and the comparison false.
            var inRange = min.Minimum(1 - max).Ge(0);
            DeviceAssert.That(inRange, Tensor.Stack([min, max]),
                op + ": input values must be probabilities in [0, 1], got values in [{0}, {1}]; use BinaryCrossEntropyWithLogits for logits.");
        }
    }

    // log(x) clamped below at −100 as PyTorch's BCE. log is taken of 1 where x is 0, so the unused branch of
    // the Where has a finite gradient (a plain Clamp after Log would back-propagate 0/0 = NaN there).
    static Tensor ClampedLog(Tensor x)
    {
        var positive = x.Gt(0);
        return Tensor.Where(positive, Tensor.Where(positive, x, 1.0).Log(), -100.0).Clamp(min: -100);
    }

    /// <summary>
    /// Binary cross-entropy of logits, as <c>F.binary_cross_entropy_with_logits</c>, computed stably as
    /// (1 − t)·x + (1 + (posWeight − 1)·t)·softplus(−x), which without posWeight is max(x, 0) − x·t + log(1 + e^−|x|).
    /// Shape: input and target the same shape; <paramref name="weight"/> broadcasts to it and
    /// <paramref name="posWeight"/> (one entry per class, the last dimension) broadcasts to it as well.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes differ, or a weight does not broadcast to the input.</exception>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, Reduction reduction = Reduction.Mean,
        Tensor? weight = null, Tensor? posWeight = null)
    {
        const string op = nameof(BinaryCrossEntropyWithLogits);
        CheckSameShape(input, target, op);
        CheckBroadcastsTo(weight, input, op, nameof(weight));
        CheckBroadcastsTo(posWeight, input, op, nameof(posWeight));
        var softplusNeg = (-input).Softplus();
        var loss = (1 - target) * input + (posWeight is null ? softplusNeg : ((posWeight - 1) * target + 1) * softplusNeg);
        return Reduce(weight is null ? loss : loss * weight, reduction);
    }

    /// <summary>
    /// Kullback–Leibler divergence, as <c>F.kl_div</c>: input holds log-probabilities and target probabilities
    /// (log-probabilities when <paramref name="logTarget"/>); pointwise t·(log t − input), 0 where t = 0.
    /// <see cref="Reduction.Mean"/> averages over every element as PyTorch's "mean"; for the mathematically
    /// correct KL divergence per sample (PyTorch's "batchmean") use <see cref="Reduction.Sum"/> divided by the batch size.
    /// Shape: input and target the same shape.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static Tensor KlDiv(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, bool logTarget = false)
    {
        CheckSameShape(input, target, nameof(KlDiv));
        Tensor pointwise;
        if (logTarget)
        {
            pointwise = target.Exp() * (target - input);
        }
        else
        {
            var positive = target.Gt(0);
            var xLogX = Tensor.Where(positive, target * Tensor.Where(positive, target, 1.0).Log(), 0.0);
            pointwise = xLogX - target * input;
        }
        return Reduce(pointwise, reduction);
    }

    static Tensor Reduce(Tensor loss, Reduction reduction) => reduction switch
    {
        Reduction.None => loss,
        Reduction.Mean => loss.Mean(),
        Reduction.Sum => loss.Sum(),
        _ => throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "Unknown reduction."),
    };

    static void CheckSameShape(Tensor input, Tensor target, string op)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        if (input.Shape != target.Shape)
            throw new ArgumentException($"{op}: input shape {input.Shape} and target shape {target.Shape} must be equal (targets are not broadcast).");
    }

    static void CheckBroadcastsTo(Tensor? t, Tensor input, string op, string name)
    {
        if (t is null) return;
        bool ok = t.Dim <= input.Dim;
        for (int i = 1; ok && i <= t.Dim; i++)
            ok = t.Shape[-i] == 1 || t.Shape[-i] == input.Shape[-i];
        if (!ok) throw new ArgumentException($"{op}: {name} shape {t.Shape} does not broadcast to input shape {input.Shape}.");
    }
}
