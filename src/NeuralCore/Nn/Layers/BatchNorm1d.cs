namespace NeuralCore.Nn;

/// <summary>
/// Batch normalisation over a 2-d or 3-d input, as <c>nn.BatchNorm1d</c>: per-channel statistics over the
/// batch (and length) dimensions. Shape: [N, C] or [N, C, L] → the same shape.
/// </summary>
public sealed class BatchNorm1d : BatchNormBase
{
    /// <summary>Creates the layer; see <see cref="BatchNormBase"/> for the options.</summary>
    /// <param name="numFeatures">Number of channels C.</param>
    /// <param name="eps">Added to the variance for numerical stability.</param>
    /// <param name="momentum">Weight of the new batch in the running statistics; null for a cumulative average.</param>
    /// <param name="affine">Whether the layer has a learnable per-channel scale and shift.</param>
    /// <param name="trackRunningStats">Whether running statistics are kept (and used in evaluation mode).</param>
    public BatchNorm1d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true)
        : base(numFeatures, eps, momentum, affine, trackRunningStats) { }

    /// <inheritdoc />
    protected override void CheckInputDim(Tensor x)
    {
        if (x.Dim is not (2 or 3)) throw new ArgumentException($"BatchNorm1d: expected a 2-d [N, C] or 3-d [N, C, L] input, got shape {x.Shape}.");
    }
}
