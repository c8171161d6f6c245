using NeuralCore.Nn;

namespace NeuralCore.Compression.Bf16;

/// <summary>
/// Inference-only Linear layer with bfloat16 weights: y = x·Wᵀ + b, the weight held as bfloat16 bits (half the
/// memory of float32), the input, bias, accumulation and output in float32 (see <see cref="BFloat16"/> for the
/// rounding). It runs on the CPU without recording gradients. Shape: input [*, inFeatures] (Float32 or Float64, on
/// any device; it is copied to the CPU), output [*, outFeatures] Float32 on the CPU.
/// </summary>
public sealed class Bf16Linear : Module
{
    readonly ushort[] weight;
    readonly float[]? bias;

    /// <summary>Rounds the weight of <paramref name="weight"/> [out, in] to bfloat16 and keeps the bias [out] in float32.</summary>
    /// <param name="weight">A floating-point [outFeatures, inFeatures] tensor.</param>
    /// <param name="bias">A floating-point [outFeatures] tensor, or null.</param>
    /// <exception cref="ArgumentException">The weight is not 2-d floating point, or the bias does not match it.</exception>
    public Bf16Linear(Tensor weight, Tensor? bias)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Dim != 2)
            throw new ArgumentException($"Bf16Linear: the weight must be [outFeatures, inFeatures], got {weight.Shape}.", nameof(weight));
        OutFeatures = (int)weight.Shape[0];
        InFeatures = (int)weight.Shape[1];
        if (bias is not null && (bias.Dim != 1 || bias.Shape[0] != OutFeatures))
            throw new ArgumentException($"Bf16Linear: the bias must be [{OutFeatures}], got {bias.Shape}.", nameof(bias));
        this.weight = BFloat16.FromTensor(weight);
        this.bias = bias is null ? null : Floats(bias);
    }

    /// <summary>Converts a float <see cref="Linear"/>.</summary>
    public Bf16Linear(Linear linear) : this(linear.Weight, linear.Bias) { }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>The weight's bfloat16 bits, row-major [outFeatures, inFeatures].</summary>
    public ReadOnlySpan<ushort> WeightBits => weight;

    /// <summary>The weight as a Float32 tensor (exactly the bfloat16 values).</summary>
    public Tensor Weight => BFloat16.ToTensor(weight, OutFeatures, InFeatures);

    /// <summary>The bias as a Float32 tensor, or null.</summary>
    public Tensor? Bias => bias is null ? null : Tensor.FromArray((float[])bias.Clone(), OutFeatures);

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The input's last dimension is not <see cref="InFeatures"/>.</exception>
    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Dim == 0 || x.Shape[-1] != InFeatures)
            throw new ArgumentException($"Bf16Linear: expected input [*, {InFeatures}], got {x.Shape}.", nameof(x));
        var shape = x.Shape.ToArray();
        int n = checked((int)shape[..^1].Aggregate(1L, (a, d) => a * d));
        var output = new float[(long)n * OutFeatures];
        Bf16Gemm.Multiply(Floats(x), weight, bias, output, n, InFeatures, OutFeatures);
        shape[^1] = OutFeatures;
        return Tensor.FromArray(output, shape);
    }

    /// <summary>A tensor's values as a float32 array on the CPU, without recording gradients.</summary>
    internal static float[] Floats(Tensor t)
    {
        using (Tensor.NoGrad())
        {
            if (!t.DType.IsFloatingPoint())
                throw new ArgumentException($"bfloat16 layers take floating-point inputs, got {t.DType} of shape {t.Shape}.");
            var cpu = t.Device.Equals(Device.Cpu) ? t : t.To(Device.Cpu);
            return (cpu.DType == DType.Float32 ? cpu : cpu.To(DType.Float32)).ToArray<float>();
        }
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => $"inFeatures: {InFeatures}, outFeatures: {OutFeatures}, bias: {bias is not null}, weights: bfloat16";
}
