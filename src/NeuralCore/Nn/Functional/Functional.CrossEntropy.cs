using NeuralCore.Autograd;
using NeuralCore.Autograd.Rules;
using NeuralCore.Backends;
using NeuralCore.Profiling;

namespace NeuralCore.Nn;

// Classification losses over a class dimension: dimension 1 of [N, C, d1, ...], or dimension 0 of an
// unbatched [C] input. Compositions of LogSoftmax, Gather and reductions, so autograd comes from the op rules.
public static partial class Functional
{
    /// <summary>
    /// Cross-entropy between logits and targets, as <c>F.cross_entropy</c>: LogSoftmax over the class dimension
    /// (computed stably) followed by the negative log-likelihood.
    /// <para>
    /// Targets are either class indices (Int64 or Int32, the input's shape without the class dimension) or
    /// class probabilities (floating point, the input's shape; an integer one-hot tensor of the input's shape is
    /// read as probabilities too). With index targets, entries equal to <paramref name="ignoreIndex"/> contribute
    /// 0 and are left out of the mean, and the mean is weighted: Σ wᵢ·lossᵢ / Σ wᵢ with wᵢ = weight[targetᵢ].
    /// With probability targets <paramref name="ignoreIndex"/> does not apply and the mean is over the samples.
    /// </para>
    /// <para>
    /// Label smoothing ε mixes the target with the uniform distribution over C classes, as PyTorch: for index
    /// targets lossᵢ = (1 − ε)·nllᵢ + (ε/C)·Σ_c −w_c·log p_c; for probability targets t ← (1 − ε)·t + ε/C.
    /// </para>
    /// Shape: input [N, C], [N, C, d1, ...] or [C]; the result is 0-d, or the target's sample shape for
    /// <see cref="Reduction.None"/>.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The shapes do not fit (both are named), a target class is out of range, or the weight is not [C].
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="labelSmoothing"/> is outside [0, 1].</exception>
    public static Tensor CrossEntropy(Tensor input, Tensor target, Reduction reduction = Reduction.Mean,
        double labelSmoothing = 0.0, long ignoreIndex = -100, Tensor? weight = null)
    {
        const string op = nameof(CrossEntropy);
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), $"{op}: labelSmoothing must be in [0, 1], got {labelSmoothing}.");
        int classDim = CheckClassInput(input, target, weight, op);
        if (weight is null && labelSmoothing == 0 && input.Dim == 2 && input.Backend is IFusedLossKernels kernels
            && target.Dim == 1 && target.Shape[0] == input.Shape[0] && target.DType is DType.Int64 or DType.Int32
            && ReferenceEquals(target.Backend, input.Backend))
        {
            return FusedCrossEntropy(kernels, input, target, reduction, ignoreIndex);
        }
        var logp = input.LogSoftmax(classDim);
        // An index target has one dimension fewer than the input, so a target of the input's shape is a distribution.
        if (target.Shape == input.Shape)
            return SoftTargetCrossEntropy(logp, target, classDim, reduction, labelSmoothing, weight);
        return IndexTargetNll(logp, target, classDim, reduction, ignoreIndex, weight, labelSmoothing, op);
    }

    // LogSoftmax and the negative log-likelihood in one backend pass per row (see IFusedLossKernels); one graph
    // node, saving only the per-row log Σ exp and the mean's divisor, which stay on the logits' device.
    static Tensor FusedCrossEntropy(IFusedLossKernels kernels, Tensor input, Tensor target, Reduction reduction, long ignoreIndex)
    {
        if (reduction is not (Reduction.None or Reduction.Sum or Reduction.Mean))
            throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "Unknown reduction.");
        var x = input.IsContiguous ? input : input.Contiguous();
        var t = target.IsContiguous ? target : target.Contiguous();
        int n = (int)x.Shape[0];
        var saved = Tensor.Empty([n + 1], x.DType, x.Backend);
        var loss = Tensor.Empty(reduction == Reduction.None ? [n] : [], x.DType, x.Backend);
        kernels.CrossEntropyForward(x.Buf, t.Buf, ignoreIndex, reduction == Reduction.Mean, saved.Buf, loss.Buf);
        FlopCosts.Add("cross_entropy", FlopCosts.CrossEntropyForward(x.Buf.Shape));
        return Engine.Record(loss, LossRules.CrossEntropy, [x, t], a: ignoreIndex, saved: saved);
    }

    /// <summary>
    /// Negative log-likelihood of class-index targets, as <c>F.nll_loss</c>: −weight[t]·input[t] per sample, where
    /// the input already holds log-probabilities (the output of <see cref="LogSoftmax"/>). Entries equal to
    /// <paramref name="ignoreIndex"/> contribute 0 and are left out of the weighted mean Σ wᵢ·lossᵢ / Σ wᵢ.
    /// Shape: input [N, C], [N, C, d1, ...] or [C]; target (Int64 or Int32) the input's shape without dimension C.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes do not fit, a target class is out of range, or the weight is not [C].</exception>
    public static Tensor NllLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean,
        long ignoreIndex = -100, Tensor? weight = null)
    {
        const string op = nameof(NllLoss);
        int classDim = CheckClassInput(input, target, weight, op);
        return IndexTargetNll(input, target, classDim, reduction, ignoreIndex, weight, 0, op);
    }

    // Validates the input and weight; returns the class dimension.
    static int CheckClassInput(Tensor input, Tensor target, Tensor? weight, string op)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        if (input.Dim == 0)
            throw new ArgumentException($"{op}: input must be [N, C], [N, C, d1, ...] or unbatched [C], got a 0-d tensor.");
        if (!input.DType.IsFloatingPoint())
            throw new ArgumentException($"{op}: input must be floating point, got {input.DType}.");
        int classDim = input.Dim == 1 ? 0 : 1;
        long classes = input.Shape[classDim];
        if (weight is not null && (weight.Dim != 1 || weight.Shape[0] != classes))
            throw new ArgumentException($"{op}: weight must be 1-d with {classes} elements (one per class), got shape {weight.Shape}.");
        return classDim;
    }

    static Tensor SoftTargetCrossEntropy(Tensor logp, Tensor target, int classDim, Reduction reduction,
        double labelSmoothing, Tensor? weight)
    {
        long classes = logp.Shape[classDim];
        var t = target.DType.IsFloatingPoint() ? target : target.To(logp.DType);
        if (labelSmoothing > 0) t = t * (1 - labelSmoothing) + labelSmoothing / classes;
        var product = logp * t;
        if (weight is not null) product = product * ClassBroadcast(weight, logp.Dim);
        var loss = -product.Sum(classDim);
        return Reduce(loss, reduction);
    }

    static Tensor IndexTargetNll(Tensor logp, Tensor target, int classDim, Reduction reduction, long ignoreIndex,
        Tensor? weight, double labelSmoothing, string op)
    {
        long classes = logp.Shape[classDim];
        CheckIndexTarget(logp, target, classDim, op);
        var keep = target.Ne(ignoreIndex);
        var index = Tensor.Where(keep, target, 0.0);
        // On the CPU the targets are read once to reject bad classes with a clear message. On other devices that
        // read would be a host round trip every step: the same check runs on the device instead and its error, with
        // the same message, surfaces at the next read (e.g. loss.Item()). The Gather below never follows a bad class
        // either (negative ones are first moved out of range, since Gather would count them from the end).
        Tensor valid;
        if (target.Device.IsCpu)
            valid = Tensor.Scalar(CheckClassRange(target, classes, ignoreIndex, op), DType.Int64);
        else
        {
            CheckClassRangeOnDevice(index, classes, op);
            index = Tensor.Where(index.Ge(0), index, (double)classes);
            valid = keep.Sum();
        }
        var picked = logp.Gather(classDim, index.Unsqueeze(classDim)).Squeeze(classDim);
        Tensor? sampleWeight = weight?.IndexSelect(0, index.Flatten()).Reshape(target.Shape.ToArray());
        var nll = -(sampleWeight is null ? picked : picked * sampleWeight);
        if (labelSmoothing > 0)
        {
            var weighted = weight is null ? logp : logp * ClassBroadcast(weight, logp.Dim);
            var smooth = -weighted.Sum(classDim);
            nll = (1 - labelSmoothing) * nll + (labelSmoothing / classes) * smooth;
        }
        // Where, not a multiplication by the mask: an ignored entry must give exactly 0 even when its logits
        // hold −∞ (0·∞ would be NaN).
        var loss = Tensor.Where(keep, nll, 0.0);
        return reduction switch
        {
            Reduction.None => loss,
            Reduction.Sum => loss.Sum(),
            Reduction.Mean => sampleWeight is null
                ? loss.Sum().Div(valid.To(loss.Device).To(loss.DType))
                : loss.Sum() / Tensor.Where(keep, sampleWeight, 0.0).Sum(),
            _ => throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "Unknown reduction."),
        };
    }

    static void CheckIndexTarget(Tensor input, Tensor target, int classDim, string op)
    {
        var expected = input.Shape.ToArray().Where((_, i) => i != classDim).ToArray();
        bool shapeOk = target.Shape == new Shape(expected);
        if (target.DType is DType.Int64 or DType.Int32)
        {
            if (shapeOk) return;
            throw new ArgumentException(
                $"{op}: target shape {target.Shape} does not match input shape {input.Shape}; expected class indices of shape {new Shape(expected)}"
                + (op == nameof(CrossEntropy) ? $" or class probabilities of shape {input.Shape}." : "."));
        }
        throw new ArgumentException(
            $"{op}: target must hold class indices (Int64 or Int32) of shape {new Shape(expected)}"
            + (op == nameof(CrossEntropy) ? $", or class probabilities (floating point) of the input's shape {input.Shape}" : "")
            + $"; got {target.DType} of shape {target.Shape} for input shape {input.Shape}.");
    }

    // Reads the targets once to reject out-of-range classes with a clear message (PyTorch asserts on the device);
    // returns how many targets are not ignored.
    static long CheckClassRange(Tensor target, long classes, long ignoreIndex, string op)
    {
        long valid = 0;
        foreach (var t in target.ToArray<long>())
        {
            if (t == ignoreIndex) continue;
            if (t < 0 || t >= classes)
                throw new ArgumentException($"{op}: target {t} is out of range for {classes} classes.");
            valid++;
        }
        return valid;
    }

    // The device form of CheckClassRange over the targets with ignored entries already set to class 0: the lowest
    // class when it is negative, else the highest, must lie in [0, classes).
    static void CheckClassRangeOnDevice(Tensor index, long classes, string op)
    {
        if (index.NumElements == 0) return;
        using (Tensor.NoGrad())
        {
            Tensor lo = index.Min(), hi = index.Max();
            var loOk = lo.Ge(0);
            var worst = Tensor.Where(loOk, hi, lo);
            DeviceAssert.That(Tensor.Where(loOk, hi.Lt(classes), loOk), Tensor.Stack([worst, Tensor.Full([], classes, worst.DType, worst.Device)]),
                op + ": target {0} is out of range for {1} classes.");
        }
    }

    // A [C] vector shaped to broadcast along dimension 1 of an n-d input (or as is for an unbatched [C] input).
    static Tensor ClassBroadcast(Tensor perClass, int inputDim)
    {
        if (inputDim == 1) return perClass;
        var s = new long[inputDim];
        Array.Fill(s, 1L);
        s[1] = perClass.Shape[0];
        return perClass.Reshape(s);
    }
}
