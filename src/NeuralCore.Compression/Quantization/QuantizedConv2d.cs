using System.Buffers;
using System.Globalization;
using NeuralCore.Backends.Cpu;
using NeuralCore.Nn;

namespace NeuralCore.Compression;

/// <summary>
/// An int8 <see cref="Conv2d"/> (groups = 1), image by image: the image is quantized to uint8 into a channels-last copy
/// bordered with the zero point (which stands for 0), its patches are unfolded straight into the packed panels of
/// <see cref="Int8PatchGemm"/>, and one int8 GEMM with output channels as rows writes the NCHW output, its epilogue
/// scaling per channel, adding the bias and applying a fused ReLU. Batches large enough run images in parallel.
/// Input [N, C, H, W] (or [C, H, W]) Float32.
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
        var weights = Packed((q, scales, bias) =>
            new Int8ConvWeights(q, OutChannels, InChannels, KernelSize.H, KernelSize.W, scales, bias, FusedRelu));
        var path = Int8Gemm.ResolvePath();
        unsafe
        {
            float* input = CpuTensorMemory.Read(x, out var owner);
            int imageSize = InChannels * h * w, positions = checked(oh * ow);
            var p = ParamsFor(new ReadOnlySpan<float>(input, checked(n * imageSize)));
            var result = CpuTensorMemory.Create(unbatched ? [OutChannels, oh, ow] : [n, OutChannels, oh, ow], nameof(QuantizedConv2d), out float* output);
            var scale = ArrayPool<float>.Shared.Rent(OutChannels);
            try
            {
                for (int co = 0; co < OutChannels; co++) scale[co] = p.Scale * weights.WeightScales[co];
                var job = new ConvJob(this, weights, p, path, scale, input, output, h, w, oh, ow);
                long work = (long)n * positions * OutChannels * weights.PaddedK;
                int chunks = Math.Min(n, 4 * CpuParallel.MaxDegreeOfParallelism);
                if (work < ParallelWork || chunks < 2 || CpuParallel.MaxDegreeOfParallelism == 1)
                {
                    job.Run(0, n);
                }
                else
                {
                    CpuParallel.For(chunks, work / chunks, c => job.Run((int)((long)c * n / chunks), (int)((long)(c + 1) * n / chunks)));
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(scale);
            }
            GC.KeepAlive(owner);
            return result;
        }
    }

    /// <summary>Multiply-accumulates (batch · positions · channels · padded K) below which a batch runs on the calling thread.</summary>
    const long ParallelWork = 1L << 22;

    // One forward pass over a range of images. Per image: quantize it into a zero-point-bordered channels-last uint8
    // copy (so the kernel window never leaves it), unfold its patches straight into the packed panels, and run the
    // int8 GEMM whose epilogue writes the image's NCHW output planes. The buffers are per range (no sharing between
    // threads) and small enough to stay in cache.
    sealed unsafe class ConvJob(QuantizedConv2d layer, Int8ConvWeights weights, QuantParams p, Int8KernelPath path, float[] scale,
        float* input, float* output, int h, int w, int oh, int ow)
    {
        public void Run(int first, int end)
        {
            if (first >= end) return;
            int c = layer.InChannels, ph = layer.Padding.H, pw = layer.Padding.W;
            int hp = h + 2 * ph, wp = w + 2 * pw, positions = oh * ow, kp = weights.PaddedK;
            int panels = (positions + Int8PatchGemm.PanelPositions - 1) / Int8PatchGemm.PanelPositions;
            // Eight spare bytes after the image and the row: patch runs are copied eight bytes at a time.
            int paddedBytes = checked(c * hp * wp + 8), patchBytes = checked(panels * Int8PatchGemm.PanelBytes(kp));
            var padded = ArrayPool<byte>.Shared.Rent(paddedBytes);
            var patches = ArrayPool<byte>.Shared.Rent(patchBytes);
            var row = ArrayPool<byte>.Shared.Rent(kp + 8);
            bool scalar = path == Int8KernelPath.Scalar;
            byte zero = (byte)p.ZeroPoint;
            float inverse = 1f / p.Scale;
            try
            {
                fixed (byte* image = padded, packed = patches, line = row)
                fixed (float* scales = scale)
                {
                    // The border and the last panel's unused positions keep the zero point for every image.
                    new Span<byte>(image, paddedBytes).Fill(zero);
                    new Span<byte>(packed, patchBytes).Fill(zero);
                    new Span<byte>(line, kp + 8).Fill(zero);
                    for (int b = first; b < end; b++)
                    {
                        float* source = input + (long)b * c * h * w;
                        for (int ch = 0; ch < c; ch++)
                            for (int y = 0; y < h; y++)
                                Int8Requantize.QuantizeStrided(source + ((long)ch * h + y) * w, w, image + ((long)(y + ph) * wp + pw) * c + ch, c,
                                    inverse, p.ZeroPoint, scalar);
                        layer.Unfold(image, wp, c, oh, ow, zero, line, packed, kp);
                        Int8PatchGemm.Run(packed, positions, weights, p.ZeroPoint, scales, output + (long)b * weights.OutChannels * positions, path);
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(padded);
                ArrayPool<byte>.Shared.Return(patches);
                ArrayPool<byte>.Shared.Return(row);
            }
        }
    }

    // Packs the patches of one bordered channels-last image: for output position (oy, ox), the values under the kernel
    // in (i, j, channel) order are gathered into line (contiguous runs of channels, or of kw·channels when the kernel
    // is not dilated, copied eight bytes at a time; the bytes past K keep the zero point), then stored four bytes at a
    // time into the position's slots of the packed panels.
    unsafe void Unfold(byte* image, int wp, int c, int oh, int ow, byte zero, byte* line, byte* packed, int kp)
    {
        int kh = KernelSize.H, kw = KernelSize.W, sh = Stride.H, sw = Stride.W, dh = Dilation.H, dw = Dilation.W;
        int k = c * kh * kw, groups = kp / 4;
        bool rows = dw == 1;
        int run = rows ? kw * c : c, runs = rows ? 1 : kw;
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
            {
                int position = oy * ow + ox, at = 0;
                for (int i = 0; i < kh; i++)
                {
                    byte* src = image + ((long)(oy * sh + i * dh) * wp + ox * sw) * c;
                    for (int j = 0; j < runs; j++, at += run)
                    {
                        byte* s = src + (long)j * dw * c;
                        for (int t = 0; t < run; t += 8) *(ulong*)(line + at + t) = *(ulong*)(s + t);
                    }
                }
                for (int t = k; t < kp; t++) line[t] = zero;
                byte* slot = packed + Int8PatchGemm.PanelOffset(position, 0, kp);
                for (int g = 0; g < groups; g++) *(int*)(slot + g * 4 * Int8PatchGemm.PanelPositions) = *(int*)(line + 4 * g);
            }
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture,
        $"inChannels: {InChannels}, outChannels: {OutChannels}, kernelSize: {KernelSize}, stride: {Stride}, padding: {Padding}, dilation: {Dilation}, bias: {HasBias}, relu: {FusedRelu}, dynamic: {IsDynamic}");
}
