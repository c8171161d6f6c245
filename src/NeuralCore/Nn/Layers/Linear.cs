using System.Globalization;

namespace NeuralCore.Nn;

/// <summary>
/// Fully connected layer y = x·Wᵀ + b. Shape: input [*, inFeatures] → output [*, outFeatures].
/// Initialised as PyTorch does (Kaiming-uniform weight, uniform bias with bound 1/√inFeatures).
/// </summary>
public sealed class Linear : Module
{
    /// <summary>Creates the layer.</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(inFeatures);
        ArgumentOutOfRangeException.ThrowIfNegative(outFeatures);
        ShapeMath.RequireTensor("Linear", [outFeatures, inFeatures], DType.Float32, Device.Cpu, "the weight");
        if (bias) ShapeMath.RequireTensor("Linear", [outFeatures], DType.Float32, Device.Cpu, "the bias");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        RegisterParameter("weight", Tensor.Zeros(outFeatures, inFeatures));
        if (bias) RegisterParameter("bias", Tensor.Zeros(outFeatures));
        ResetParameters();
    }

    /// <summary>Input size.</summary>
    public int InFeatures { get; }

    /// <summary>Output size.</summary>
    public int OutFeatures { get; }

    /// <summary>Weight [outFeatures, inFeatures].</summary>
    public Tensor Weight => GetParameter("weight")!;

    /// <summary>Bias [outFeatures], or null.</summary>
    public Tensor? Bias => GetParameter("bias");

    /// <summary>Re-draws the parameters with the default initialisation.</summary>
    public void ResetParameters() => Init.DefaultLayer(Weight, Bias);

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Functional.Linear(x, Weight, Bias);

    /// <inheritdoc />
    protected override string ExtraRepr() =>
        string.Create(CultureInfo.InvariantCulture, $"inFeatures: {InFeatures}, outFeatures: {OutFeatures}, bias: {Bias is not null}");
}
