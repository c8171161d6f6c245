using System.Globalization;

namespace NeuralCore.Nn;

/// <summary>
/// Layer normalisation, as <c>nn.LayerNorm</c>: each sample is normalised over its trailing
/// <see cref="NormalizedShape"/> dimensions, then scaled by <see cref="Weight"/> (ones) and shifted by
/// <see cref="Bias"/> (zeros). Shape: [*, normalizedShape] → the same shape.
/// </summary>
public sealed class LayerNorm : Module
{
    readonly long[] normalizedShape;

    /// <summary>Creates the layer.</summary>
    /// <param name="normalizedShape">The trailing dimensions normalised over.</param>
    /// <param name="eps">Added to the variance for numerical stability.</param>
    /// <param name="elementwiseAffine">Whether the layer has a learnable weight and bias of shape normalizedShape.</param>
    /// <exception cref="ArgumentException">normalizedShape is empty or has a non-positive size.</exception>
    public LayerNorm(int[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || normalizedShape.Any(s => s <= 0))
            throw new ArgumentException($"LayerNorm: normalizedShape must be non-empty with positive sizes, got [{string.Join(", ", normalizedShape)}].");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"LayerNorm: eps must be non-negative, got {eps}.");
        this.normalizedShape = Array.ConvertAll(normalizedShape, s => (long)s);
        if (elementwiseAffine) ShapeMath.RequireTensor("LayerNorm", this.normalizedShape, DType.Float32, Device.Cpu, "the weight");
        else ShapeMath.RequireElements("LayerNorm", this.normalizedShape, "the normalized shape");
        Eps = eps;
        if (!elementwiseAffine) return;
        RegisterParameter("weight", Tensor.Ones(this.normalizedShape));
        RegisterParameter("bias", Tensor.Zeros(this.normalizedShape));
    }

    /// <summary>Creates the layer normalising over the last dimension of size <paramref name="normalizedShape"/>.</summary>
    /// <param name="normalizedShape">Size of the last dimension.</param>
    /// <param name="eps">Added to the variance for numerical stability.</param>
    /// <param name="elementwiseAffine">Whether the layer has a learnable weight and bias.</param>
    public LayerNorm(int normalizedShape, double eps = 1e-5, bool elementwiseAffine = true)
        : this([normalizedShape], eps, elementwiseAffine) { }

    /// <summary>The trailing dimensions normalised over.</summary>
    public Shape NormalizedShape => new(normalizedShape);

    /// <summary>Added to the variance for numerical stability.</summary>
    public double Eps { get; }

    /// <summary>Scale of shape normalizedShape, or null without elementwise affine.</summary>
    public Tensor? Weight => GetParameter("weight");

    /// <summary>Shift of shape normalizedShape, or null without elementwise affine.</summary>
    public Tensor? Bias => GetParameter("bias");

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Functional.LayerNorm(x, normalizedShape, Weight, Bias, Eps);

    /// <inheritdoc />
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture,
        $"normalizedShape: {NormalizedShape}, eps: {Eps}, elementwiseAffine: {Weight is not null}");
}
