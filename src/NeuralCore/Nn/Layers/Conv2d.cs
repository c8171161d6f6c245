using System.Globalization;
using System.Text;

namespace NeuralCore.Nn;

/// <summary>
/// 2-d convolution layer over [N, C, H, W] images, as <c>torch.nn.Conv2d</c>. Shape: input [N, inChannels, H, W]
/// (or [inChannels, H, W]) → output [N, outChannels, OH, OW] with
/// OH = (H + 2·padding − dilation·(kernelH − 1) − 1) / stride + 1 (likewise OW).
/// Initialised as PyTorch does: Kaiming-uniform weight and uniform bias, both with bound 1/√fanIn,
/// fanIn = inChannels / groups · kernelH · kernelW.
/// </summary>
public sealed class Conv2d : Module
{
    /// <summary>Creates a layer with a square kernel and the same stride, padding and dilation in both dimensions.</summary>
    /// <param name="inChannels">Channels of the input.</param>
    /// <param name="outChannels">Channels of the output (number of filters).</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="stride">Step between output positions.</param>
    /// <param name="padding">Zero padding on every side.</param>
    /// <param name="dilation">Spacing between kernel taps.</param>
    /// <param name="groups">Channel groups; both channel counts must be multiples of it (groups = inChannels is depthwise).</param>
    /// <param name="bias">Whether to learn an additive bias per output channel.</param>
    /// <exception cref="ArgumentException">A size is out of range or groups does not divide the channel counts.</exception>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, int groups = 1, bool bias = true)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), (padding, padding), (dilation, dilation), groups, bias)
    {
    }

    /// <summary>Creates a layer with (height, width) kernel size, stride, padding and dilation.</summary>
    /// <param name="inChannels">Channels of the input.</param>
    /// <param name="outChannels">Channels of the output (number of filters).</param>
    /// <param name="kernelSize">(height, width) of the kernel.</param>
    /// <param name="stride">(height, width) step; default (1, 1).</param>
    /// <param name="padding">(height, width) zero padding; default none.</param>
    /// <param name="dilation">(height, width) tap spacing; default (1, 1).</param>
    /// <param name="groups">Channel groups.</param>
    /// <param name="bias">Whether to learn an additive bias per output channel.</param>
    /// <exception cref="ArgumentException">A size is out of range or groups does not divide the channel counts.</exception>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernelSize, (int H, int W)? stride = null, (int H, int W) padding = default,
        (int H, int W)? dilation = null, int groups = 1, bool bias = true)
    {
        var s = stride ?? (1, 1);
        var d = dilation ?? (1, 1);
        if (inChannels < 1 || outChannels < 1) throw new ArgumentException($"Conv2d: channel counts must be positive, got {inChannels} and {outChannels}.");
        if (groups < 1 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"Conv2d: groups {groups} must be positive and divide both inChannels {inChannels} and outChannels {outChannels}.");
        if (kernelSize.H < 1 || kernelSize.W < 1 || s.H < 1 || s.W < 1 || d.H < 1 || d.W < 1 || padding.H < 0 || padding.W < 0)
            throw new ArgumentException($"Conv2d: kernel size {Pair(kernelSize)}, stride {Pair(s)} and dilation {Pair(d)} must be positive and padding {Pair(padding)} non-negative.");
        ShapeMath.RequireTensor("Conv2d", [outChannels, inChannels / groups, kernelSize.H, kernelSize.W], DType.Float32, Device.Cpu, "the weight");
        if (bias) ShapeMath.RequireTensor("Conv2d", [outChannels], DType.Float32, Device.Cpu, "the bias");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = s;
        Padding = padding;
        Dilation = d;
        Groups = groups;
        RegisterParameter("weight", Tensor.Zeros(outChannels, inChannels / groups, kernelSize.H, kernelSize.W));
        if (bias) RegisterParameter("bias", Tensor.Zeros(outChannels));
        ResetParameters();
    }

    /// <summary>Penalty on <see cref="Weight"/> added to the training loss (Keras' <c>kernel_regularizer</c>), or null.</summary>
    public Regularizer? KernelRegularizer { get; set; }

    /// <summary>Penalty on <see cref="Bias"/> added to the training loss, or null.</summary>
    public Regularizer? BiasRegularizer { get; set; }

    /// <summary>Penalty on the layer's output (divided by the batch size) added to the training loss, or null.</summary>
    public Regularizer? ActivityRegularizer { get; set; }

    /// <inheritdoc />
    protected override IEnumerable<Tensor> OwnRegularizationLosses()
    {
        if (KernelRegularizer is not null) yield return KernelRegularizer.Penalty(Weight);
        if (BiasRegularizer is not null && Bias is not null) yield return BiasRegularizer.Penalty(Bias);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>(height, width) of the kernel.</summary>
    public (int H, int W) KernelSize { get; }

    /// <summary>(height, width) step between output positions.</summary>
    public (int H, int W) Stride { get; }

    /// <summary>(height, width) zero padding.</summary>
    public (int H, int W) Padding { get; }

    /// <summary>(height, width) spacing between kernel taps.</summary>
    public (int H, int W) Dilation { get; }

    /// <summary>Channel groups.</summary>
    public int Groups { get; }

    /// <summary>Weight [outChannels, inChannels / groups, kernelH, kernelW].</summary>
    public Tensor Weight => GetParameter("weight")!;

    /// <summary>Bias [outChannels], or null.</summary>
    public Tensor? Bias => GetParameter("bias");

    /// <summary>Re-draws the parameters with the default initialisation (<see cref="Init.DefaultLayer"/>).</summary>
    public void ResetParameters() => Init.DefaultLayer(Weight, Bias);

    /// <inheritdoc />
    public override Tensor Forward(Tensor x)
    {
        var y = Functional.Conv2d(x, Weight, Bias, Stride, Padding, Dilation, Groups);
        ActivityRegularization.Record(ActivityRegularizer, y);
        return y;
    }

    /// <inheritdoc />
    protected override string ExtraRepr()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{InChannels}, {OutChannels}, kernelSize: {Pair(KernelSize)}, stride: {Pair(Stride)}");
        if (Padding != (0, 0)) sb.Append(", padding: ").Append(Pair(Padding));
        if (Dilation != (1, 1)) sb.Append(", dilation: ").Append(Pair(Dilation));
        if (Groups != 1) sb.Append(CultureInfo.InvariantCulture, $", groups: {Groups}");
        if (Bias is null) sb.Append(", bias: False");
        return sb.ToString();
    }

    static string Pair((int H, int W) v) => string.Create(CultureInfo.InvariantCulture, $"({v.H}, {v.W})");
}
