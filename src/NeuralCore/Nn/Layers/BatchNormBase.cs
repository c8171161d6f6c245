using System.Globalization;

namespace NeuralCore.Nn;

/// <summary>
/// Shared state and forward pass of <see cref="BatchNorm1d"/> and <see cref="BatchNorm2d"/>, as PyTorch's
/// <c>_BatchNorm</c>: an affine <see cref="Weight"/> (ones) and <see cref="Bias"/> (zeros), and the buffers
/// <c>running_mean</c>, <c>running_var</c> and <c>num_batches_tracked</c> (their state-dict keys).
/// Training mode normalises with batch statistics and updates the running ones; evaluation mode uses the
/// running statistics (or batch statistics when they are not tracked).
/// </summary>
public abstract class BatchNormBase : Module
{
    /// <summary>Creates the layer for <paramref name="numFeatures"/> channels.</summary>
    /// <param name="numFeatures">Number of channels C (dimension 1 of the input).</param>
    /// <param name="eps">Added to the variance for numerical stability.</param>
    /// <param name="momentum">Weight of the new batch in the running statistics; null for a cumulative average.</param>
    /// <param name="affine">Whether the layer has a learnable per-channel scale and shift.</param>
    /// <param name="trackRunningStats">Whether running statistics are kept (and used in evaluation mode).</param>
    /// <exception cref="ArgumentOutOfRangeException">numFeatures is not positive, eps is negative or momentum is outside [0, 1].</exception>
    protected BatchNormBase(int numFeatures, double eps, double? momentum, bool affine, bool trackRunningStats)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numFeatures);
        ShapeMath.RequireTensor(GetType().Name, [numFeatures], DType.Float32, Device.Cpu, "the per-channel parameters");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"{GetType().Name}: eps must be non-negative, got {eps}.");
        if (momentum is double m && !(m >= 0 && m <= 1))
            throw new ArgumentOutOfRangeException(nameof(momentum), $"{GetType().Name}: momentum must be in [0, 1] or null, got {m}.");
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        Affine = affine;
        TrackRunningStats = trackRunningStats;
        if (affine)
        {
            RegisterParameter("weight", Tensor.Ones(numFeatures));
            RegisterParameter("bias", Tensor.Zeros(numFeatures));
        }
        if (trackRunningStats)
        {
            RegisterBuffer("running_mean", Tensor.Zeros(numFeatures));
            RegisterBuffer("running_var", Tensor.Ones(numFeatures));
            RegisterBuffer("num_batches_tracked", Tensor.Scalar(0, DType.Int64));
        }
    }

    /// <summary>Number of channels.</summary>
    public int NumFeatures { get; }

    /// <summary>Added to the variance for numerical stability.</summary>
    public double Eps { get; }

    /// <summary>Weight of the new batch in the running statistics; null for a cumulative moving average.</summary>
    public double? Momentum { get; }

    /// <summary>Whether the layer has <see cref="Weight"/> and <see cref="Bias"/>.</summary>
    public bool Affine { get; }

    /// <summary>Whether running statistics are kept.</summary>
    public bool TrackRunningStats { get; }

    /// <summary>Per-channel scale [C] (initially ones), or null without affine.</summary>
    public Tensor? Weight => GetParameter("weight");

    /// <summary>Per-channel shift [C] (initially zeros), or null without affine.</summary>
    public Tensor? Bias => GetParameter("bias");

    /// <summary>Running mean [C] (buffer <c>running_mean</c>), or null when statistics are not tracked.</summary>
    public Tensor? RunningMean => GetBuffer("running_mean");

    /// <summary>Running unbiased variance [C] (buffer <c>running_var</c>), or null when statistics are not tracked.</summary>
    public Tensor? RunningVar => GetBuffer("running_var");

    /// <summary>Number of training batches seen, 0-d Int64 (buffer <c>num_batches_tracked</c>), or null when statistics are not tracked.</summary>
    public Tensor? NumBatchesTracked => GetBuffer("num_batches_tracked");

    /// <summary>Sets the running mean to 0, the running variance to 1 and the batch count to 0.</summary>
    public void ResetRunningStats()
    {
        if (!TrackRunningStats) return;
        using (Tensor.NoGrad())
        {
            RunningMean!.Zero_();
            RunningVar!.Fill_(1);
            NumBatchesTracked!.Zero_();
        }
    }

    /// <summary>Resets the running statistics and sets the weight to ones and the bias to zeros.</summary>
    public void ResetParameters()
    {
        ResetRunningStats();
        if (!Affine) return;
        Init.Ones(Weight!);
        Init.Zeros(Bias!);
    }

    /// <summary>Throws when <paramref name="x"/> has a rank this layer does not accept.</summary>
    /// <exception cref="ArgumentException">The rank is wrong; the message names the expected layout and the shape.</exception>
    protected abstract void CheckInputDim(Tensor x);

    /// <inheritdoc />
    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        CheckInputDim(x);
        if (x.Shape[1] != NumFeatures)
            throw new ArgumentException($"{GetType().Name}: expected {NumFeatures} channels in dimension 1, got input shape {x.Shape}.");
        bool useBatchStats = IsTraining || !TrackRunningStats;
        if (IsTraining && TrackRunningStats)
        {
            using (Tensor.NoGrad()) NumBatchesTracked!.Add_(1);
            if (Momentum is null)
            {
                // The cumulative average's factor 1/num_batches_tracked stays on the device: reading the count
                // would make every training step wait for the device.
                Tensor factor;
                using (Tensor.NoGrad()) factor = 1.0 / NumBatchesTracked!.To(DType.Float64);
                return Functional.BatchNorm(x, RunningMean, RunningVar, Weight, Bias, useBatchStats, factor, Eps);
            }
        }
        return Functional.BatchNorm(x, RunningMean, RunningVar, Weight, Bias, useBatchStats, Momentum ?? 0.0, Eps);
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture,
        $"numFeatures: {NumFeatures}, eps: {Eps}, momentum: {(Momentum is double m ? m.ToString(CultureInfo.InvariantCulture) : "null")}, affine: {Affine}, trackRunningStats: {TrackRunningStats}");
}
