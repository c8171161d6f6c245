using System.Globalization;
using System.Text;

namespace NeuralCore.Nn;

/// <summary>
/// 2-d transposed convolution layer, as <c>torch.nn.ConvTranspose2d</c> (often used to upsample). Shape: input
/// [N, inChannels, H, W] (or [inChannels, H, W]) → output [N, outChannels, OH, OW] with
/// OH = (H − 1)·stride − 2·padding + dilation·(kernelH − 1) + outputPadding + 1 (likewise OW). The weight has
/// PyTorch's layout [inChannels, outChannels / groups, kernelH, kernelW], so state dicts interchange. Initialised
/// as PyTorch does (Kaiming-uniform, bound 1/√fanIn with fanIn = outChannels / groups · kernelH · kernelW).
/// </summary>
public sealed class ConvTranspose2d : Module
{
    /// <summary>Creates a layer with a square kernel and the same settings in both dimensions.</summary>
    /// <param name="inChannels">Channels of the input.</param>
    /// <param name="outChannels">Channels of the output.</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="stride">Step between input positions in the output.</param>
    /// <param name="padding">Padding removed from each side of the output.</param>
    /// <param name="outputPadding">Extra size added on one side of the output (smaller than the stride).</param>
    /// <param name="groups">Channel groups; both channel counts must be multiples of it.</param>
    /// <param name="bias">Whether to learn an additive bias per output channel.</param>
    /// <param name="dilation">Spacing between kernel taps.</param>
    /// <exception cref="ArgumentException">A size is out of range or groups does not divide the channel counts.</exception>
    public ConvTranspose2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int outputPadding = 0,
        int groups = 1, bool bias = true, int dilation = 1)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), (padding, padding), (outputPadding, outputPadding), groups, bias,
            (dilation, dilation))
    {
    }

    /// <summary>Creates a layer with (height, width) kernel size, stride, padding, output padding and dilation.</summary>
    /// <param name="inChannels">Channels of the input.</param>
    /// <param name="outChannels">Channels of the output.</param>
    /// <param name="kernelSize">(height, width) of the kernel.</param>
    /// <param name="stride">(height, width) step; default (1, 1).</param>
    /// <param name="padding">(height, width) padding removed from the output; default none.</param>
    /// <param name="outputPadding">(height, width) extra output size, each smaller than the stride; default none.</param>
    /// <param name="groups">Channel groups.</param>
    /// <param name="bias">Whether to learn an additive bias per output channel.</param>
    /// <param name="dilation">(height, width) tap spacing; default (1, 1).</param>
    /// <exception cref="ArgumentException">A size is out of range or groups does not divide the channel counts.</exception>
    public ConvTranspose2d(int inChannels, int outChannels, (int H, int W) kernelSize, (int H, int W)? stride = null, (int H, int W) padding = default,
        (int H, int W) outputPadding = default, int groups = 1, bool bias = true, (int H, int W)? dilation = null)
    {
        var s = stride ?? (1, 1);
        var d = dilation ?? (1, 1);
        if (inChannels < 1 || outChannels < 1) throw new ArgumentException($"ConvTranspose2d: channel counts must be positive, got {inChannels} and {outChannels}.");
        if (groups < 1 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"ConvTranspose2d: groups {groups} must be positive and divide both inChannels {inChannels} and outChannels {outChannels}.");
        if (kernelSize.H < 1 || kernelSize.W < 1 || s.H < 1 || s.W < 1 || d.H < 1 || d.W < 1 || padding.H < 0 || padding.W < 0)
            throw new ArgumentException($"ConvTranspose2d: kernel size {Pair(kernelSize)}, stride {Pair(s)} and dilation {Pair(d)} must be positive and padding {Pair(padding)} non-negative.");
        if (outputPadding.H < 0 || outputPadding.W < 0 || outputPadding.H >= s.H || outputPadding.W >= s.W)
            throw new ArgumentException($"ConvTranspose2d: output padding {Pair(outputPadding)} must be non-negative and smaller than the stride {Pair(s)}.");
        ShapeMath.RequireTensor("ConvTranspose2d", [inChannels, outChannels / groups, kernelSize.H, kernelSize.W], DType.Float32, Device.Cpu, "the weight");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = s;
        Padding = padding;
        OutputPadding = outputPadding;
        Dilation = d;
        Groups = groups;
        RegisterParameter("weight", Tensor.Zeros(inChannels, outChannels / groups, kernelSize.H, kernelSize.W));
        if (bias) RegisterParameter("bias", Tensor.Zeros(outChannels));
        ResetParameters();
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>(height, width) of the kernel.</summary>
    public (int H, int W) KernelSize { get; }

    /// <summary>(height, width) step.</summary>
    public (int H, int W) Stride { get; }

    /// <summary>(height, width) padding removed from the output.</summary>
    public (int H, int W) Padding { get; }

    /// <summary>(height, width) extra output size.</summary>
    public (int H, int W) OutputPadding { get; }

    /// <summary>(height, width) spacing between kernel taps.</summary>
    public (int H, int W) Dilation { get; }

    /// <summary>Channel groups.</summary>
    public int Groups { get; }

    /// <summary>Weight [inChannels, outChannels / groups, kernelH, kernelW].</summary>
    public Tensor Weight => GetParameter("weight")!;

    /// <summary>Bias [outChannels], or null.</summary>
    public Tensor? Bias => GetParameter("bias");

    /// <summary>Re-draws the parameters with the default initialisation (<see cref="Init.DefaultLayer"/>).</summary>
    public void ResetParameters() => Init.DefaultLayer(Weight, Bias);

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Functional.ConvTranspose2d(x, Weight, Bias, Stride, Padding, OutputPadding, Groups, Dilation);

    /// <inheritdoc />
    protected override string ExtraRepr()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{InChannels}, {OutChannels}, kernelSize: {Pair(KernelSize)}, stride: {Pair(Stride)}");
        if (Padding != (0, 0)) sb.Append(", padding: ").Append(Pair(Padding));
        if (OutputPadding != (0, 0)) sb.Append(", outputPadding: ").Append(Pair(OutputPadding));
        if (Dilation != (1, 1)) sb.Append(", dilation: ").Append(Pair(Dilation));
        if (Groups != 1) sb.Append(CultureInfo.InvariantCulture, $", groups: {Groups}");
        if (Bias is null) sb.Append(", bias: False");
        return sb.ToString();
    }

    static string Pair((int H, int W) v) => string.Create(CultureInfo.InvariantCulture, $"({v.H}, {v.W})");
}
