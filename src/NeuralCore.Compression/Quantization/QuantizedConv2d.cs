using System.Buffers;
using System.Globalization;
using NeuralCore.Nn;

namespace NeuralCore.Compression;

/// <summary>
/// An int8 <see cref="Conv2d"/> (groups = 1): the batch is quantized to uint8 in one pass, blocks of images are
/// unfolded (im2col, padding with the zero point, which stands for 0) into one patch matrix with N·OH·OW rows, and
/// multiplied with the int8 weights by one int8 GEMM, whose epilogue adds the bias and applies a fused ReLU; each
/// image's [OH·OW, Cout] rows are then transposed to NCHW. Input [N, C, H, W] (or [C, H, W]) Float32.
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
        int imageSize = InChannels * h * w, positions = checked(oh * ow), kp = matmul.Packed.PaddedK, cout = OutChannels;
        var y = new float[checked((long)n * cout * positions)];
        var path = Int8Gemm.ResolvePath();
        bool scalar = path == Int8KernelPath.Scalar;
        // Blocks of whole images: one patch matrix of blockImages · OH·OW rows per GEMM, so the packed weights are
        // reused over a long M; the block's patches stay within about PatchBlockBytes.
        int blockImages = (int)Math.Clamp(PatchBlockBytes / ((long)positions * kp), 1, n);
        var input = ArrayPool<byte>.Shared.Rent(checked(n * imageSize));
        var patches = ArrayPool<byte>.Shared.Rent(checked(blockImages * positions * kp));
        var product = ArrayPool<float>.Shared.Rent(checked(blockImages * positions * cout));
        try
        {
            // The whole batch quantized in one pass.
            Int8Requantize.QuantizeRows(data, 1, n * imageSize, 1f / p.Scale, p.ZeroPoint, input, n * imageSize, scalar);
            bool parallel = (long)blockImages * positions * Math.Max(kp, cout) >= 1L << 18 && Environment.ProcessorCount > 1;
            for (int b0 = 0; b0 < n; b0 += blockImages)
            {
                int count = Math.Min(blockImages, n - b0), first = b0;
                void UnfoldImage(int b)
                {
                    unsafe
                    {
                        fixed (byte* image = input, rows = patches)
                            Unfold(image + (long)(first + b) * imageSize, h, w, oh, ow, (byte)p.ZeroPoint, rows + (long)b * positions * kp, kp);
                    }
                }
                if (parallel && count > 1) Parallel.For(0, count, UnfoldImage);
                else for (int b = 0; b < count; b++) UnfoldImage(b);
                unsafe
                {
                    // [count·OH·OW, Cout] row-major, with the vector epilogue writing contiguous rows.
                    fixed (byte* a = patches)
                        matmul.Multiply(a, kp, count * positions, p, product.AsSpan(0, count * positions * cout), cout, 1, path);
                }
                void StoreImage(int b)
                {
                    unsafe
                    {
                        fixed (float* source = product, destination = y)
                            Transpose(source + (long)b * positions * cout, positions, cout, destination + (long)(first + b) * cout * positions);
                    }
                }
                if (parallel && count > 1) Parallel.For(0, count, StoreImage);
                else for (int b = 0; b < count; b++) StoreImage(b);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
            ArrayPool<byte>.Shared.Return(patches);
            ArrayPool<float>.Shared.Return(product);
        }
        return Tensor.FromArray(y, unbatched ? [OutChannels, oh, ow] : [n, OutChannels, oh, ow]);
    }

    /// <summary>Bytes of uint8 patches unfolded per GEMM (whole images; one image when an image alone is larger).</summary>
    const long PatchBlockBytes = 8L << 20;

    // One image's GEMM rows [positions, channels] to its NCHW planes [channels, positions], in tiles of eight
    // channels so each pass reads a short contiguous run per position and writes eight sequential streams.
    static unsafe void Transpose(float* source, int positions, int channels, float* destination)
    {
        for (int c0 = 0; c0 < channels; c0 += 8)
        {
            int c1 = Math.Min(channels, c0 + 8);
            for (int q = 0; q < positions; q++)
            {
                float* row = source + (long)q * channels;
                for (int c = c0; c < c1; c++) destination[(long)c * positions + q] = row[c];
            }
        }
    }

    // Row p of the patch matrix holds, for output position p, the inputs under the kernel in weight order (c, i, j);
    // positions outside the image hold the zero point; the row's padding to a multiple of four too. For each output
    // row and kernel row (c, i), the input row is first copied once into a line padded with the zero point (one
    // contiguous copy), from which every output position takes its kw bytes without bounds checks.
    unsafe void Unfold(byte* image, int h, int w, int oh, int ow, byte zero, byte* patches, int kp)
    {
        int kh = KernelSize.H, kw = KernelSize.W, sh = Stride.H, sw = Stride.W, dh = Dilation.H, dw = Dilation.W, pw = Padding.W;
        int k = InChannels * kh * kw;
        int length = (ow - 1) * sw + (kw - 1) * dw + 1;
        int start = Math.Min(pw, length), end = Math.Min(length, pw + w);
        var lineBuffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            fixed (byte* line = lineBuffer)
            {
                new Span<byte>(line, length).Fill(zero);
                for (int oy = 0; oy < oh; oy++)
                {
                    byte* rows = patches + (long)oy * ow * kp;
                    for (int c = 0; c < InChannels; c++)
                        for (int i = 0; i < kh; i++)
                        {
                            int t = (c * kh + i) * kw, iy = oy * sh - Padding.H + i * dh;
                            if ((uint)iy >= (uint)h)
                            {
                                for (int ox = 0; ox < ow; ox++) new Span<byte>(rows + (long)ox * kp + t, kw).Fill(zero);
                                continue;
                            }
                            // The padding bytes of the line stay the zero point; only the image part changes.
                            if (end > start) Buffer.MemoryCopy(image + ((long)c * h + iy) * w + (start - pw), line + start, end - start, end - start);
                            if (kw == 3 && dw == 1)
                            {
                                for (int ox = 0; ox < ow; ox++)
                                {
                                    byte* src = line + ox * sw, dst = rows + (long)ox * kp + t;
                                    dst[0] = src[0];
                                    dst[1] = src[1];
                                    dst[2] = src[2];
                                }
                            }
                            else
                            {
                                for (int ox = 0; ox < ow; ox++)
                                {
                                    byte* src = line + ox * sw, dst = rows + (long)ox * kp + t;
                                    for (int j = 0; j < kw; j++) dst[j] = src[j * dw];
                                }
                            }
                        }
                    if (kp > k)
                        for (int ox = 0; ox < ow; ox++) new Span<byte>(rows + (long)ox * kp + k, kp - k).Fill(zero);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(lineBuffer);
        }
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture,
        $"inChannels: {InChannels}, outChannels: {OutChannels}, kernelSize: {KernelSize}, stride: {Stride}, padding: {Padding}, dilation: {Dilation}, bias: {HasBias}, relu: {FusedRelu}, dynamic: {IsDynamic}");
}
