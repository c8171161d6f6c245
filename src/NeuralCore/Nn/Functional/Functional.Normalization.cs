namespace NeuralCore.Nn;

public static partial class Functional
{
    /// <summary>
    /// Batch normalisation, as <c>F.batch_norm</c>: y = (x − mean)/√(var + eps)·weight + bias per channel
    /// (dimension 1). In training the mean and biased variance come from the batch (every dimension except 1),
    /// and, when given, <paramref name="runningMean"/> and <paramref name="runningVar"/> are updated in place
    /// (without recording gradients) as running = (1 − momentum)·running + momentum·batch, with the unbiased
    /// variance, as PyTorch. Otherwise the running statistics normalise the input.
    /// Shape: x [N, C, *]; runningMean, runningVar, weight and bias [C]; the output has x's shape.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// x has fewer than 2 dimensions, a per-channel tensor is not [C], only one running statistic is given, the
    /// running statistics are missing in evaluation mode, or a channel has a single value in training.
    /// </exception>
    public static Tensor BatchNorm(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null,
        bool training = false, double momentum = 0.1, double eps = 1e-5) =>
        BatchNorm(x, runningMean, runningVar, weight, bias, training, momentum, null, eps);

    /// <summary>
    /// <see cref="BatchNorm(Tensor, Tensor?, Tensor?, Tensor?, Tensor?, bool, double, double)"/> with the momentum
    /// held on the device as a 0-d Float64 tensor (a cumulative average's 1/num_batches_tracked), so the running
    /// statistics are updated without reading it back. Both forms give the same bits: the device form computes
    /// the update factors in Float64 exactly as the host form, then casts them to the statistics' dtype.
    /// </summary>
    internal static Tensor BatchNorm(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias,
        bool training, Tensor momentum, double eps) =>
        BatchNorm(x, runningMean, runningVar, weight, bias, training, 0, momentum, eps);

    static Tensor BatchNorm(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias,
        bool training, double momentum, Tensor? deviceMomentum, double eps)
    {
        const string op = nameof(BatchNorm);
        ArgumentNullException.ThrowIfNull(x);
        if (x.Dim < 2) throw new ArgumentException($"{op}: input must be [N, C, *] with at least 2 dimensions, got {x.Shape}.");
        if (!x.DType.IsFloatingPoint()) throw new ArgumentException($"{op}: input must be floating point, got {x.DType}.");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"{op}: eps must be non-negative, got {eps}.");
        long channels = x.Shape[1];
        CheckPerChannel(runningMean, channels, "runningMean", x);
        CheckPerChannel(runningVar, channels, "runningVar", x);
        CheckPerChannel(weight, channels, nameof(weight), x);
        CheckPerChannel(bias, channels, nameof(bias), x);
        if ((runningMean is null) != (runningVar is null))
            throw new ArgumentException($"{op}: runningMean and runningVar must be given together.");

        var dims = Enumerable.Range(0, x.Dim).Where(d => d != 1).ToArray();
        var channelShape = new long[x.Dim];
        Array.Fill(channelShape, 1L);
        channelShape[1] = channels;
        Tensor centered, variance;
        if (training)
        {
            long n = channels == 0 ? 0 : x.NumElements / channels;
            if (n <= 1) throw new ArgumentException($"{op}: expected more than 1 value per channel when training, got input shape {x.Shape}.");
            var mean = x.Mean(dims, keepDim: true);
            centered = x - mean;
            variance = centered.Square().Mean(dims, keepDim: true);
            if (runningMean is not null)
                using (Tensor.NoGrad())
                {
                    if (deviceMomentum is null)
                    {
                        runningMean.Mul_(1 - momentum).Add_(mean.Reshape(channels), momentum);
                        runningVar!.Mul_(1 - momentum).Add_(variance.Reshape(channels), momentum * n / (n - 1));
                    }
                    else
                    {
                        var keep = (1 - deviceMomentum).To(runningMean.DType);
                        runningMean.Mul_(keep).Add_(mean.Reshape(channels) * deviceMomentum.To(mean.DType));
                        var varFactor = deviceMomentum.Mul(n).Div(n - 1).To(variance.DType);
                        runningVar!.Mul_((1 - deviceMomentum).To(runningVar.DType)).Add_(variance.Reshape(channels) * varFactor);
                    }
                }
        }
        else
        {
            if (runningMean is null)
                throw new ArgumentException($"{op}: runningMean and runningVar are required in evaluation mode (training: false).");
            centered = x - runningMean.Reshape(channelShape);
            variance = runningVar!.Reshape(channelShape);
        }
        var y = centered * (variance + eps).Rsqrt();
        if (weight is not null) y = y * weight.Reshape(channelShape);
        if (bias is not null) y = y + bias.Reshape(channelShape);
        return y;
    }

    /// <summary>
    /// Layer normalisation, as <c>F.layer_norm</c>: each sample is normalised over its last
    /// <c>normalizedShape.Length</c> dimensions with their mean and biased variance, then scaled by
    /// <paramref name="weight"/> and shifted by <paramref name="bias"/> (both of shape normalizedShape).
    /// Shape: x [*, normalizedShape]; the output has x's shape.
    /// </summary>
    /// <exception cref="ArgumentException">x's trailing dimensions are not normalizedShape, or weight/bias have another shape.</exception>
    public static Tensor LayerNorm(Tensor x, long[] normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        const string op = nameof(LayerNorm);
        var expected = CheckNormalizedShape(op, x, normalizedShape, weight);
        int k = normalizedShape.Length;
        if (bias is not null && bias.Shape != expected)
            throw new ArgumentException($"{op}: bias shape {bias.Shape} must equal normalizedShape {expected}.");

        var dims = Enumerable.Range(x.Dim - k, k).ToArray();
        var centered = x - x.Mean(dims, keepDim: true);
        var y = centered * (centered.Square().Mean(dims, keepDim: true) + eps).Rsqrt();
        if (weight is not null) y = y * weight;
        if (bias is not null) y = y + bias;
        return y;
    }

    /// <summary>
    /// Group normalisation (Wu and He 2018), as <c>torch.nn.functional.group_norm</c>: the C channels of each sample are
    /// split into <paramref name="numGroups"/> groups, each normalised over its channels and all spatial positions, then
    /// scaled per channel by <paramref name="weight"/> and shifted by <paramref name="bias"/>. Statistics never mix
    /// samples, so it works with any batch size (and with per-sample gradients). Shape: [N, C, *] → the same shape.
    /// </summary>
    /// <exception cref="ArgumentException">The input has fewer than 2 dimensions, C is not divisible by the group count,
    /// or weight/bias are not [C].</exception>
    public static Tensor GroupNorm(Tensor x, int numGroups, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        const string op = nameof(GroupNorm);
        ArgumentNullException.ThrowIfNull(x);
        if (x.Dim < 2) throw new ArgumentException($"{op}: input must be [N, C, *], got {x.Shape}.");
        long n = x.Shape[0], c = x.Shape[1];
        if (numGroups <= 0 || c % numGroups != 0)
            throw new ArgumentException($"{op}: {c} channels of input {x.Shape} cannot be split into {numGroups} groups of equal size.");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"{op}: eps must be non-negative, got {eps}.");
        CheckPerChannel(weight, c, "weight", x, op);
        CheckPerChannel(bias, c, "bias", x, op);
        var y = GroupNormalized(x, numGroups, eps);
        if (weight is null && bias is null) return y;
        var perChannel = new long[x.Dim];
        Array.Fill(perChannel, 1L);
        perChannel[1] = c;
        if (weight is not null) y = y * weight.Reshape(perChannel);
        if (bias is not null) y = y + bias.Reshape(perChannel);
        return y;
    }

    // The normalised input before the affine step (x̂), shaped as the input.
    static Tensor GroupNormalized(Tensor x, int numGroups, double eps)
    {
        var grouped = x.Reshape(x.Shape[0], numGroups, -1);
        var centered = grouped - grouped.Mean(2, keepDim: true);
        return (centered * (centered.Square().Mean(2, keepDim: true) + eps).Rsqrt()).Reshape(x.Shape.ToArray());
    }

    static void CheckPerChannel(Tensor? t, long channels, string name, Tensor x, string op = "BatchNorm")
    {
        if (t is not null && (t.Dim != 1 || t.Shape[0] != channels))
            throw new ArgumentException($"{op}: {name} must have shape [{channels}] (one entry per channel of input {x.Shape}), got {t.Shape}.");
    }

    // The checks LayerNorm and RmsNorm share: a floating-point input whose trailing dimensions are normalizedShape, and a
    // weight of that shape. Returns normalizedShape as a Shape.
    internal static Shape CheckNormalizedShape(string op, Tensor x, long[] normalizedShape, Tensor? weight)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(normalizedShape);
        var expected = new Shape(normalizedShape);
        int k = normalizedShape.Length;
        if (k == 0) throw new ArgumentException($"{op}: normalizedShape must have at least one dimension.");
        if (!x.DType.IsFloatingPoint()) throw new ArgumentException($"{op}: input must be floating point, got {x.DType}.");
        if (x.Dim < k || new Shape(x.Shape.Skip(x.Dim - k).ToArray()) != expected)
            throw new ArgumentException($"{op}: input shape {x.Shape} does not end with normalizedShape {expected}.");
        if (weight is not null && weight.Shape != expected)
            throw new ArgumentException($"{op}: weight shape {weight.Shape} must equal normalizedShape {expected}.");
        return expected;
    }
}
