using System.Globalization;
using System.Text;

namespace NeuralCore.Nn;

/// <summary>
/// 1-d convolution layer over [N, C, L] sequences, as <c>torch.nn.Conv1d</c> (weight [outChannels, inChannels/groups,
/// kernelSize], PyTorch's layout). Shape: input [N, inChannels, L] (or [inChannels, L]) → output [N, outChannels, OL]
/// with OL = (L + 2·padding − dilation·(kernelSize − 1) − 1) / stride + 1. Initialised as PyTorch does
/// (<see cref="Init.DefaultLayer"/>: bound 1/√fanIn, fanIn = inChannels / groups · kernelSize).
/// </summary>
public sealed class Conv1d : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="inChannels">Channels of the input.</param>
    /// <param name="outChannels">Channels of the output (number of filters).</param>
    /// <param name="kernelSize">Kernel length.</param>
    /// <param name="stride">Step between output positions.</param>
    /// <param name="padding">Zero padding at both ends.</param>
    /// <param name="dilation">Spacing between kernel taps.</param>
    /// <param name="groups">Channel groups; both channel counts must be multiples of it (groups = inChannels is depthwise).</param>
    /// <param name="bias">Whether to learn an additive bias per output channel.</param>
    /// <exception cref="ArgumentException">A size is out of range or groups does not divide the channel counts.</exception>
    public Conv1d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true)
    {
        if (inChannels < 1 || outChannels < 1) throw new ArgumentException($"Conv1d: channel counts must be positive, got {inChannels} and {outChannels}.");
        if (groups < 1 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"Conv1d: groups {groups} must be positive and divide both inChannels {inChannels} and outChannels {outChannels}.");
        if (kernelSize < 1 || stride < 1 || dilation < 1 || padding < 0)
            throw new ArgumentException($"Conv1d: kernel size {kernelSize}, stride {stride} and dilation {dilation} must be positive and padding {padding} non-negative.");
        ShapeMath.RequireTensor("Conv1d", [outChannels, inChannels / groups, kernelSize], DType.Float32, Device.Cpu, "the weight");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        Groups = groups;
        RegisterParameter("weight", Tensor.Zeros(outChannels, inChannels / groups, kernelSize));
        if (bias) RegisterParameter("bias", Tensor.Zeros(outChannels));
        ResetParameters();
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Kernel length.</summary>
    public int KernelSize { get; }

    /// <summary>Step between output positions.</summary>
    public int Stride { get; }

    /// <summary>Zero padding at both ends.</summary>
    public int Padding { get; }

    /// <summary>Spacing between kernel taps.</summary>
    public int Dilation { get; }

    /// <summary>Channel groups.</summary>
    public int Groups { get; }

    /// <summary>Weight [outChannels, inChannels / groups, kernelSize].</summary>
    public Tensor Weight => GetParameter("weight")!;

    /// <summary>Bias [outChannels], or null.</summary>
    public Tensor? Bias => GetParameter("bias");

    /// <summary>Re-draws the parameters with the default initialisation (<see cref="Init.DefaultLayer"/>).</summary>
    public void ResetParameters() => Init.DefaultLayer(Weight, Bias);

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Functional.Conv1d(x, Weight, Bias, Stride, Padding, Dilation, Groups);

    /// <inheritdoc />
    protected override string ExtraRepr()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{InChannels}, {OutChannels}, kernelSize: {KernelSize}, stride: {Stride}");
        if (Padding != 0) sb.Append(CultureInfo.InvariantCulture, $", padding: {Padding}");
        if (Dilation != 1) sb.Append(CultureInfo.InvariantCulture, $", dilation: {Dilation}");
        if (Groups != 1) sb.Append(CultureInfo.InvariantCulture, $", groups: {Groups}");
        if (Bias is null) sb.Append(", bias: False");
        return sb.ToString();
    }
}
