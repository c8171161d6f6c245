namespace NeuralCore.Nn;

/// <summary>
/// Batch normalisation over a 4-d input, as <c>nn.BatchNorm2d</c>: per-channel statistics over the batch and
/// spatial dimensions. Shape: [N, C, H, W] → the same shape.
/// </summary>
public sealed class BatchNorm2d : BatchNormBase
{
    /// <summary>Creates the layer; see <see cref="BatchNormBase"/> for the options.</summary>
    /// <param name="numFeatures">Number of channels C.</param>
    /// <param name="eps">Added to the variance for numerical stability.</param>
    /// <param name="momentum">Weight of the new batch in the running statistics; null for a cumulative average.</param>
    /// <param name="affine">Whether the layer has a learnable per-channel scale and shift.</param>
    /// <param name="trackRunningStats">Whether running statistics are kept (and used in evaluation mode).</param>
    public BatchNorm2d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true)
        : base(numFeatures, eps, momentum, affine, trackRunningStats) { }

    /// <inheritdoc />
    protected override void CheckInputDim(Tensor x)
    {
        if (x.Dim != 4) throw new ArgumentException($"BatchNorm2d: expected a 4-d [N, C, H, W] input, got shape {x.Shape}.");
    }
}
