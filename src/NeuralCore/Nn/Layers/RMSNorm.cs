using System.Globalization;

namespace NeuralCore.Nn;

/// <summary>
/// Root-mean-square normalisation, as <c>nn.RMSNorm</c>: x / √(mean(x²) + eps) over the trailing
/// <see cref="NormalizedShape"/> dimensions, times <see cref="Weight"/> (ones). Shape: [*, normalizedShape] → the same.
/// </summary>
public sealed class RMSNorm : Module
{
    readonly long[] normalizedShape;

    /// <summary>Creates the layer.</summary>
    /// <param name="normalizedShape">The trailing dimensions normalised over.</param>
    /// <param name="eps">Added to the mean square; null uses the machine epsilon of the input's dtype, as PyTorch.</param>
    /// <param name="elementwiseAffine">Whether the layer has a learnable weight.</param>
    /// <exception cref="ArgumentException">normalizedShape is empty or has a non-positive size.</exception>
    public RMSNorm(int[] normalizedShape, double? eps = null, bool elementwiseAffine = true)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || normalizedShape.Any(s => s <= 0))
            throw new ArgumentException($"RMSNorm: normalizedShape must be non-empty with positive sizes, got [{string.Join(", ", normalizedShape)}].");
        if (eps is double e && !(e >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"RMSNorm: eps must be non-negative, got {e}.");
        this.normalizedShape = Array.ConvertAll(normalizedShape, s => (long)s);
        ShapeMath.RequireTensor("RMSNorm", this.normalizedShape, DType.Float32, Device.Cpu, "the weight");
        Eps = eps;
        if (elementwiseAffine) RegisterParameter("weight", Tensor.Ones(this.normalizedShape));
    }

    /// <summary>Creates the layer normalising over the last dimension of size <paramref name="normalizedShape"/>.</summary>
    /// <param name="normalizedShape">Size of the last dimension.</param>
    /// <param name="eps">Added to the mean square; null uses the machine epsilon of the input's dtype.</param>
    /// <param name="elementwiseAffine">Whether the layer has a learnable weight.</param>
    public RMSNorm(int normalizedShape, double? eps = null, bool elementwiseAffine = true)
        : this([normalizedShape], eps, elementwiseAffine) { }

    /// <summary>The trailing dimensions normalised over.</summary>
    public Shape NormalizedShape => new(normalizedShape);

    /// <summary>Added to the mean square, or null for the dtype's machine epsilon.</summary>
    public double? Eps { get; }

    /// <summary>Scale of shape normalizedShape, or null without elementwise affine.</summary>
    public Tensor? Weight => GetParameter("weight");

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Functional.RmsNorm(x, normalizedShape, Weight, Eps);

    /// <inheritdoc />
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture,
        $"normalizedShape: {NormalizedShape}, eps: {(Eps is double e ? e.ToString(CultureInfo.InvariantCulture) : "auto")}, elementwiseAffine: {Weight is not null}");
}
