using System.Buffers;
using System.Globalization;
using NeuralCore.Nn;

namespace NeuralCore.Compression;

/// <summary>
/// An int8 <see cref="Conv2d"/> (groups = 1): each image is quantized to uint8, unfolded (im2col, padding with the
/// zero point, which stands for 0), and multiplied with the int8 weights by the int8 GEMM, whose epilogue adds the bias,
/// applies a fused ReLU and writes NCHW. Input [N, C, H, W] (or [C, H, W]) Float32.
/// </summary>
public sealed class QuantizedConv2d : QuantizedLayer
{
    /// <summary>Creates a layer with zero weights (to be filled by loading a state dict).</summary>
    /// <exception cref="ArgumentException">A size is not positive, or a stride or dilation is below 1, or a padding negative.</exception>
    public QuantizedConv2d(int inChannels, int outChannels, (int H, int W) kernelSize, (int H, int W) stride, (int H, int W) padding,
        (int H, int W) dilation, bool bias = true, bool relu = false, bool dynamic = false)
        : base([outChannels, inChannels, kernelSize.H, kernelSize.W], bias, relu, dynamic)
    {
        if (stride.H < 1 || stride.W < 1 || dilation.H < 1 || dilation.W < 1 || padding.H < 0 || padding.W < 0)
            throw new ArgumentException($"QuantizedConv2d: stride {stride} and dilation {dilation} must be at least 1 and padding {padding} not negative.");
        InChannels = inChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
    }

    /// <summary>Quantizes <paramref name="conv"/>; <paramref name="input"/> null makes a dynamic layer.</summary>
    /// <exception cref="NotSupportedException">The convolution is grouped.</exception>
    public static QuantizedConv2d FromFloat(Conv2d conv, QuantParams? input, bool relu = false)
    {
        ArgumentNullException.ThrowIfNull(conv);
        if (conv.Groups != 1)
            throw new NotSupportedException($"QuantizedConv2d: grouped convolutions (groups = {conv.Groups}) are not quantized; only groups = 1.");
        var q = new QuantizedConv2d(conv.InChannels, conv.OutChannels, conv.KernelSize, conv.Stride, conv.Padding, conv.Dilation,
            conv.Bias is not null, relu, input is null);
        q.Initialize(conv.Weight, conv.Bias, input);
        return q;
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Kernel (height, width).</summary>
    public (int H, int W) KernelSize { get; }

    /// <summary>Stride (height, width).</summary>
    public (int H, int W) Stride { get; }

    /// <summary>Zero padding (height, width).</summary>
    public (int H, int W) Padding { get; }

    /// <summary>Dilation (height, width).</summary>
    public (int H, int W) Dilation { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The input is not Float32 [N, C, H, W] / [C, H, W] on the CPU with C = inChannels, or is smaller than the dilated kernel.</exception>
    public override Tensor Forward(Tensor x)
    {
        CheckInput(x);
        bool unbatched = x.Dim == 3;
        if ((x.Dim != 4 && !unbatched) || x.Shape[-3] != InChannels)
            throw new ArgumentException($"QuantizedConv2d: expected input [N, {InChannels}, H, W] or [{InChannels}, H, W], got shape {x.Shape}.", nameof(x));
        int n = unbatched ? 1 : checked((int)x.Shape[0]), h = checked((int)x.Shape[-2]), w = checked((int)x.Shape[-1]);
        int oh = (h + 2 * Padding.H - Dilation.H * (KernelSize.H - 1) - 1) / Stride.H + 1;
        int ow = (w + 2 * Padding.W - Dilation.W * (KernelSize.W - 1) - 1) / Stride.W + 1;
        if (oh <= 0 || ow <= 0 || h + 2 * Padding.H < Dilation.H * (KernelSize.H - 1) + 1 || w + 2 * Padding.W < Dilation.W * (KernelSize.W - 1) + 1)
            throw new ArgumentException($"QuantizedConv2d: the input {h}x{w} (padding {Padding}) is smaller than the dilated kernel {KernelSize}.", nameof(x));
        var data = x.Contiguous().ToArray<float>();
        var matmul = Matmul();
        var p = ParamsFor(data);
        int imageSize = InChannels * h * w, positions = checked(oh * ow), kp = matmul.Packed.PaddedK;
        var y = new float[checked((long)n * OutChannels * positions)];
        // Images run in parallel, each with its own buffers; the kernel is chosen once, on the calling thread.
        var path = Int8Gemm.ResolvePath();
        bool scalar = path == Int8KernelPath.Scalar;
        void Image(int b)
        {
            var image = ArrayPool<byte>.Shared.Rent(imageSize);
            var patches = ArrayPool<byte>.Shared.Rent(checked(positions * kp));
            try
            {
                Int8Requantize.QuantizeRows(data.AsSpan(b * imageSize, imageSize), 1, imageSize, 1f / p.Scale, p.ZeroPoint, image, imageSize, scalar);
                Unfold(image, h, w, oh, ow, (byte)p.ZeroPoint, patches, kp);
                unsafe
                {
                    fixed (byte* a = patches)
                        matmul.Multiply(a, kp, positions, p, y.AsSpan(b * OutChannels * positions, OutChannels * positions), 1, positions, path);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(image);
                ArrayPool<byte>.Shared.Return(patches);
            }
        }
        if (n > 1 && (long)positions * kp * OutChannels * n >= 1L << 21) Parallel.For(0, n, Image);
        else for (int b = 0; b < n; b++) Image(b);
        return Tensor.FromArray(y, unbatched ? [OutChannels, oh, ow] : [n, OutChannels, oh, ow]);
    }

    // Row p of the patch matrix holds, for output position p, the inputs under the kernel in weight order (c, i, j);
    // positions outside the image hold the zero point; the row's padding to a multiple of four too.
    void Unfold(byte[] image, int h, int w, int oh, int ow, byte zero, byte[] patches, int kp)
    {
        int kh = KernelSize.H, kw = KernelSize.W;
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
            {
                var row = patches.AsSpan((oy * ow + ox) * kp, kp);
                int t = 0;
                for (int c = 0; c < InChannels; c++)
                    for (int i = 0; i < kh; i++)
                    {
                        int iy = oy * Stride.H - Padding.H + i * Dilation.H;
                        bool rowInside = (uint)iy < (uint)h;
                        int rowBase = (c * h + iy) * w;
                        for (int j = 0; j < kw; j++, t++)
                        {
                            int ix = ox * Stride.W - Padding.W + j * Dilation.W;
                            row[t] = rowInside && (uint)ix < (uint)w ? image[rowBase + ix] : zero;
                        }
                    }
                row[t..].Fill(zero);
            }
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture,
        $"inChannels: {InChannels}, outChannels: {OutChannels}, kernelSize: {KernelSize}, stride: {Stride}, padding: {Padding}, dilation: {Dilation}, bias: {HasBias}, relu: {FusedRelu}, dynamic: {IsDynamic}");
}
