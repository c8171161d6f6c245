namespace NeuralCore.Nn;

/// <summary>
/// Adaptive average pooling to a fixed output size, as <c>torch.nn.AdaptiveAvgPool2d</c>. Shape: input
/// [N, C, H, W] (or [C, H, W]) → output [N, C, OH, OW]; cell (i, j) averages rows ⌊i·H/OH⌋ … ⌈(i+1)·H/OH⌉ − 1
/// and the matching columns. No parameters.
/// </summary>
public sealed class AdaptiveAvgPool2d : Module
{
    /// <summary>Creates the layer with a square output.</summary>
    /// <param name="outputSize">Output height and width.</param>
    public AdaptiveAvgPool2d(int outputSize) : this((outputSize, outputSize))
    {
    }

    /// <summary>Creates the layer with a (height, width) output.</summary>
    /// <param name="outputSize">(OH, OW), each at least 1.</param>
    /// <exception cref="ArgumentException">A size is not positive.</exception>
    public AdaptiveAvgPool2d((int H, int W) outputSize)
    {
        if (outputSize.H < 1 || outputSize.W < 1)
            throw new ArgumentException($"AdaptiveAvgPool2d: output size ({outputSize.H}, {outputSize.W}) must be positive.");
        OutputSize = outputSize;
    }

    /// <summary>(height, width) of the output.</summary>
    public (int H, int W) OutputSize { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Functional.AdaptiveAvgPool2d(x, OutputSize);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"outputSize: {PoolRepr.Size(OutputSize)}";
}
