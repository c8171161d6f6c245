using System.Globalization;
using NeuralCore.Nn;

namespace NeuralCore.Compression;

/// <summary>
/// An int8 <see cref="Linear"/>: y = x·Wᵀ + b (then ReLU when fused) computed by the int8 GEMM. Input [*, inFeatures]
/// Float32, output [*, outFeatures] Float32. Static layers quantize the input with calibrated parameters, dynamic ones
/// with each batch's own range. Built by <see cref="Quantization.QuantizeStatic"/>,
/// <see cref="Quantization.QuantizeDynamic"/> or <see cref="Qat.Convert"/>.
/// </summary>
public sealed class QuantizedLinear : QuantizedLayer
{
    /// <summary>Creates a layer with zero weights (to be filled by loading a state dict).</summary>
    /// <param name="inFeatures">Input size.</param>
    /// <param name="outFeatures">Output size.</param>
    /// <param name="bias">Whether there is a bias.</param>
    /// <param name="relu">Whether a ReLU is fused into the output.</param>
    /// <param name="dynamic">Quantize activations per batch (true) or with stored parameters (false).</param>
    /// <exception cref="ArgumentException">A size is not positive.</exception>
    public QuantizedLinear(int inFeatures, int outFeatures, bool bias = true, bool relu = false, bool dynamic = false)
        : base([outFeatures, inFeatures], bias, relu, dynamic)
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
    }

    /// <summary>Quantizes <paramref name="linear"/>; <paramref name="input"/> null makes a dynamic layer.</summary>
    public static QuantizedLinear FromFloat(Linear linear, QuantParams? input, bool relu = false)
    {
        ArgumentNullException.ThrowIfNull(linear);
        return FromWeights(linear.Weight, linear.Bias, input, relu);
    }

    /// <summary>Quantizes a float weight [outFeatures, inFeatures] and bias.</summary>
    internal static QuantizedLinear FromWeights(Tensor weight, Tensor? bias, QuantParams? input, bool relu)
    {
        var q = new QuantizedLinear(checked((int)weight.Shape[1]), checked((int)weight.Shape[0]), bias is not null, relu, input is null);
        q.Initialize(weight, bias, input);
        return q;
    }

    /// <summary>Fills the layer from a float weight [outFeatures, inFeatures] and bias.</summary>
    internal void InitializeFrom(Tensor weight, Tensor? bias) => Initialize(weight, bias, null);

    /// <summary>Input size.</summary>
    public int InFeatures { get; }

    /// <summary>Output size.</summary>
    public int OutFeatures { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The input is not Float32 on the CPU or its last dimension is not inFeatures.</exception>
    public override Tensor Forward(Tensor x)
    {
        CheckInput(x);
        if (x.Dim == 0 || x.Shape[-1] != InFeatures)
            throw new ArgumentException($"QuantizedLinear: the input's last dimension must be {InFeatures}, got shape {x.Shape}.", nameof(x));
        var matmul = Matmul();
        int rows = checked((int)(x.NumElements / InFeatures));
        var shape = x.Shape.ToArray().Select(d => checked((int)d)).ToArray();
        shape[^1] = OutFeatures;
        unsafe
        {
            float* input = CpuTensorMemory.Read(x, out var owner);
            var result = CpuTensorMemory.Create(shape, nameof(QuantizedLinear), out float* output);
            var data = new ReadOnlySpan<float>(input, checked(rows * InFeatures));
            matmul.Forward(data, rows, ParamsFor(data), new Span<float>(output, checked(rows * OutFeatures)));
            GC.KeepAlive(owner);
            return result;
        }
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture,
        $"inFeatures: {InFeatures}, outFeatures: {OutFeatures}, bias: {HasBias}, relu: {FusedRelu}, dynamic: {IsDynamic}");
}
