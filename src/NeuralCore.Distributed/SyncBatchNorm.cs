using NeuralCore.Nn;

namespace NeuralCore.Distributed;

/// <summary>
/// Batch normalisation whose training statistics span the batches of all ranks, as PyTorch's <c>SyncBatchNorm</c>:
/// the per-channel sum, sum of squares and count are allreduced, so every rank normalises with the mean and (biased)
/// variance of the global batch and updates the running statistics with them. The backward pass allreduces the
/// per-channel sums of the output gradient and of its product with the normalised input, so input gradients match
/// single-process batch normalisation over the global batch (for the sum of the ranks' losses; data-parallel
/// averaging of parameter gradients then gives the mean). Input [N, C] or [N, C, *]. In evaluation mode, or with
/// one rank, it is plain batch normalisation. Every rank must run the layer the same number of times.
/// </summary>
public sealed class SyncBatchNorm : BatchNormBase
{
    readonly ICommunicator communicator;

    /// <summary>Creates the layer for <paramref name="numFeatures"/> channels, synchronised over <paramref name="communicator"/>.</summary>
    /// <param name="numFeatures">Number of channels C (dimension 1 of the input).</param>
    /// <param name="communicator">The ranks sharing statistics.</param>
    /// <param name="eps">Added to the variance for numerical stability.</param>
    /// <param name="momentum">Weight of the new batch in the running statistics; null for a cumulative average.</param>
    /// <param name="affine">Whether the layer has a learnable per-channel scale and shift.</param>
    /// <param name="trackRunningStats">Whether running statistics are kept.</param>
    public SyncBatchNorm(int numFeatures, ICommunicator communicator, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true)
        : base(numFeatures, eps, momentum, affine, trackRunningStats)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        this.communicator = communicator;
    }

    /// <inheritdoc />
    protected override void CheckInputDim(Tensor x)
    {
        if (x.Dim < 2) throw new ArgumentException($"SyncBatchNorm: expected an input [N, C] or [N, C, *], got shape {x.Shape}.");
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (!IsTraining || communicator.WorldSize == 1) return base.Forward(x);
        CheckInputDim(x);
        if (x.Shape[1] != NumFeatures)
            throw new ArgumentException($"SyncBatchNorm: expected {NumFeatures} channels in dimension 1, got input shape {x.Shape}.");
        int c = NumFeatures;
        var dims = Enumerable.Range(0, x.Dim).Where(d => d != 1).ToArray();
        var statShape = Enumerable.Range(0, x.Dim).Select(d => d == 1 ? (long)c : 1L).ToArray();
        Tensor mean, invStd, xHat, y;
        double count;
        using (Tensor.NoGrad())
        {
            var xd = x.Detach().To(DType.Float64);
            var local = new double[2 * c + 1];
            xd.Sum(dims).ToArray<double>().CopyTo(local, 0);
            xd.Square().Sum(dims).ToArray<double>().CopyTo(local, c);
            local[2 * c] = x.NumElements / c;
            communicator.AllReduceAsync(local).GetAwaiter().GetResult();
            count = local[2 * c];
            if (count < 2) throw new ArgumentException($"SyncBatchNorm: training needs more than one value per channel over all ranks, got input shape {x.Shape} on {communicator.WorldSize} ranks.");
            var meanArr = new double[c];
            var varArr = new double[c];
            for (int i = 0; i < c; i++)
            {
                meanArr[i] = local[i] / count;
                varArr[i] = Math.Max(local[c + i] / count - meanArr[i] * meanArr[i], 0);
            }
            UpdateRunningStats(meanArr, varArr, count, x);
            mean = Tensor.FromArray(meanArr, statShape).To(x.DType).To(x.Device);
            invStd = Tensor.FromArray(varArr.Select(v => 1 / Math.Sqrt(v + Eps)).ToArray(), statShape).To(x.DType).To(x.Device);
            xHat = (x.Detach() - mean) * invStd;
            y = Affine ? xHat * Weight!.Detach().Reshape(statShape) + Bias!.Detach().Reshape(statShape) : xHat.Clone();
        }
        var inputs = Affine ? new[] { x, Weight!, Bias! } : new[] { x };
        return Tensor.RecordFunction("SyncBatchNorm", y, inputs, dy =>
        {
            var sums = new double[2 * c];
            var dyd = dy.To(DType.Float64);
            dyd.Sum(dims).ToArray<double>().CopyTo(sums, 0);
            (dyd * xHat.To(DType.Float64)).Sum(dims).ToArray<double>().CopyTo(sums, c);
            var local = (double[])sums.Clone();
            communicator.AllReduceAsync(sums).GetAwaiter().GetResult();
            var meanDy = Tensor.FromArray(sums.AsSpan(0, c).ToArray().Select(v => v / count).ToArray(), statShape).To(x.DType).To(x.Device);
            var meanDyXHat = Tensor.FromArray(sums.AsSpan(c, c).ToArray().Select(v => v / count).ToArray(), statShape).To(x.DType).To(x.Device);
            var scale = Affine ? invStd * Weight!.Detach().Reshape(statShape) : invStd;
            var dx = (dy - meanDy - xHat * meanDyXHat) * scale;
            if (!Affine) return [dx];
            var dWeight = Tensor.FromArray(local.AsSpan(c, c).ToArray(), c).To(Weight!.DType).To(Weight.Device);
            var dBias = Tensor.FromArray(local.AsSpan(0, c).ToArray(), c).To(Bias!.DType).To(Bias.Device);
            return [dx, dWeight, dBias];
        });
    }

    void UpdateRunningStats(double[] mean, double[] biasedVar, double count, Tensor x)
    {
        if (!TrackRunningStats) return;
        NumBatchesTracked!.Add_(1);
        double factor = Momentum ?? 1.0 / NumBatchesTracked.Item<long>();
        var unbiased = biasedVar.Select(v => v * count / (count - 1)).ToArray();
        var rm = RunningMean!;
        var rv = RunningVar!;
        rm.Mul_(1 - factor).Add_(Tensor.FromArray(mean, NumFeatures).To(rm.DType).To(rm.Device), factor);
        rv.Mul_(1 - factor).Add_(Tensor.FromArray(unbiased, NumFeatures).To(rv.DType).To(rv.Device), factor);
    }
}
