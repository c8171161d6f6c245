using System.Globalization;

namespace NeuralCore.Nn;

/// <summary>
/// Zeroes elements with probability p during training and scales the rest by 1/(1−p); the identity in
/// evaluation mode. Masks come from <see cref="Rng.Default"/>, so seeded runs repeat exactly.
/// </summary>
public sealed class Dropout : Module
{
    /// <summary>Creates the layer.</summary>
    public Dropout(double p = 0.5)
    {
        if (p < 0 || p > 1 || double.IsNaN(p)) throw new ArgumentOutOfRangeException(nameof(p), $"Dropout: p must be in [0, 1], got {p}.");
        P = p;
    }

    /// <summary>Drop probability.</summary>
    public double P { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Functional.Dropout(x, P, IsTraining);

    /// <inheritdoc />
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture, $"p: {P}");
}

/// <summary>
/// Zeroes whole channels of an [N, C, H, W] or [C, H, W] input with probability p during training and scales the
/// kept ones by 1/(1−p) (PyTorch's <c>nn.Dropout2d</c>); the identity in evaluation mode.
/// </summary>
public sealed class Dropout2d : Module
{
    /// <summary>Creates the layer.</summary>
    public Dropout2d(double p = 0.5)
    {
        if (p < 0 || p > 1 || double.IsNaN(p)) throw new ArgumentOutOfRangeException(nameof(p), $"Dropout2d: p must be in [0, 1], got {p}.");
        P = p;
    }

    /// <summary>Drop probability of each channel.</summary>
    public double P { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Functional.Dropout2d(x, P, IsTraining);

    /// <inheritdoc />
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture, $"p: {P}");
}
