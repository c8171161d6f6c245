using System.Globalization;

namespace NeuralCore.Nn;

/// <summary>
/// Group normalisation, as <c>nn.GroupNorm</c>: the channels of each sample are split into <see cref="NumGroups"/>
/// groups, each normalised over its channels and spatial positions, then scaled by <see cref="Weight"/> (ones) and
/// shifted by <see cref="Bias"/> (zeros), one value per channel. Unlike batch normalisation it never mixes samples,
/// so it suits small batches and differentially private training. Shape: [N, C, *] → the same shape.
/// </summary>
public sealed class GroupNorm : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="numGroups">Groups the channels are split into (divides <paramref name="numChannels"/>).</param>
    /// <param name="numChannels">C, the channels of the input.</param>
    /// <param name="eps">Added to the variance for numerical stability.</param>
    /// <param name="affine">Whether the layer has a learnable per-channel weight and bias.</param>
    /// <exception cref="ArgumentException">A count is not positive or the groups do not divide the channels.</exception>
    public GroupNorm(int numGroups, int numChannels, double eps = 1e-5, bool affine = true)
    {
        if (numGroups <= 0 || numChannels <= 0 || numChannels % numGroups != 0)
            throw new ArgumentException($"GroupNorm: numChannels ({numChannels}) must be a positive multiple of numGroups ({numGroups}).");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"GroupNorm: eps must be non-negative, got {eps}.");
        NumGroups = numGroups;
        NumChannels = numChannels;
        Eps = eps;
        if (!affine) return;
        RegisterParameter("weight", Tensor.Ones(numChannels));
        RegisterParameter("bias", Tensor.Zeros(numChannels));
    }

    /// <summary>Groups the channels are split into.</summary>
    public int NumGroups { get; }

    /// <summary>Channels of the input.</summary>
    public int NumChannels { get; }

    /// <summary>Added to the variance.</summary>
    public double Eps { get; }

    /// <summary>Per-channel scale [C], or null without affine parameters.</summary>
    public Tensor? Weight => GetParameter("weight");

    /// <summary>Per-channel shift [C], or null without affine parameters.</summary>
    public Tensor? Bias => GetParameter("bias");

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The input is not [N, NumChannels, *].</exception>
    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Dim < 2 || x.Shape[1] != NumChannels)
            throw new ArgumentException($"GroupNorm: expected input [N, {NumChannels}, *], got {x.Shape}.");
        return Functional.GroupNorm(x, NumGroups, Weight, Bias, Eps);
    }

    /// <inheritdoc />
    protected override string ExtraRepr() =>
        string.Create(CultureInfo.InvariantCulture, $"numGroups: {NumGroups}, numChannels: {NumChannels}, eps: {Eps}, affine: {Weight is not null}");
}
