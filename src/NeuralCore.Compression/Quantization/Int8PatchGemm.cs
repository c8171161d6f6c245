using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuralCore.Compression;

/// <summary>
/// Weights of an int8 convolution for <see cref="Int8PatchGemm"/>: one row of <see cref="PaddedK"/> int8 values per
/// output channel, the reduction in (kernel row, kernel column, input channel) order — the order in which an image
/// stored channels-last lays out the values under the kernel — zero-padded to a multiple of four, with each row's sum
/// for the activation zero-point correction.
/// </summary>
internal sealed class Int8ConvWeights
{
    /// <summary>Reorders <paramref name="weights"/> ([cout, cin, kh, kw] row-major) into the kernel's layout.</summary>
    public Int8ConvWeights(ReadOnlySpan<sbyte> weights, int outChannels, int inChannels, int kh, int kw, float[] weightScales, float[]? bias, bool relu)
    {
        int k = checked(inChannels * kh * kw);
        if (outChannels <= 0 || k <= 0 || weights.Length != (long)outChannels * k)
            throw new ArgumentException($"Int8 convolution: the weight [{outChannels}, {inChannels}, {kh}, {kw}] needs {(long)outChannels * k} values, got {weights.Length}.");
        OutChannels = outChannels;
        K = k;
        PaddedK = Int8Gemm.PadK(k);
        Data = new sbyte[checked((long)outChannels * PaddedK)];
        RowSums = new int[outChannels];
        for (int o = 0; o < outChannels; o++)
        {
            int sum = 0;
            for (int c = 0; c < inChannels; c++)
                for (int i = 0; i < kh; i++)
                    for (int j = 0; j < kw; j++)
                    {
                        sbyte v = weights[((o * inChannels + c) * kh + i) * kw + j];
                        Data[o * PaddedK + (i * kw + j) * inChannels + c] = v;
                        sum += v;
                    }
            RowSums[o] = sum;
        }
        WeightScales = weightScales;
        Bias = bias;
        Relu = relu;
    }

    /// <summary>Output channels (rows).</summary>
    public int OutChannels { get; }

    /// <summary>Reduction length cin·kh·kw.</summary>
    public int K { get; }

    /// <summary>K rounded up to a multiple of four.</summary>
    public int PaddedK { get; }

    /// <summary>[OutChannels, PaddedK] int8 weights.</summary>
    public sbyte[] Data { get; }

    /// <summary>Sum of each row's weights.</summary>
    public int[] RowSums { get; }

    /// <summary>Per-output-channel weight scales.</summary>
    public float[] WeightScales { get; }

    /// <summary>Float bias or null.</summary>
    public float[]? Bias { get; }

    /// <summary>Whether a ReLU is fused into the output.</summary>
    public bool Relu { get; }
}

/// <summary>
/// The int8 GEMM of a convolution, computed per image with output channels as rows:
/// <c>Y[co, p] = Σₖ W[co, k]·(P[p, k] − za)</c>, scaled per channel, plus bias, optional ReLU, written as float
/// straight into the image's NCHW planes (no transpose pass). The patch matrix P (uint8) is packed in panels of
/// <see cref="PanelPositions"/> output positions: for every group of four k, the four bytes of each of the 16 positions
/// side by side (<see cref="PanelOffset"/>), so one 256-bit load gives <c>VPDPBUSD</c> eight positions' operands
/// while the weights of a channel are broadcast.
/// </summary>
/// <remarks>
/// Kernels as in <see cref="Int8Gemm"/>: AVX-VNNI (a 4-channel × 16-position tile of 256-bit accumulators), a portable
/// Vector128 one and a scalar one, all with identical int32 sums; the float epilogue does the same IEEE operations in
/// the same order on every path (<see cref="Int8Requantize.Finish"/>), so outputs are bit-identical.
/// </remarks>
internal static unsafe class Int8PatchGemm
{
    /// <summary>Output positions per packed panel.</summary>
    public const int PanelPositions = 16;

    /// <summary>Output channels per micro-tile.</summary>
    public const int TileChannels = 4;

    /// <summary>Bytes of one panel with <paramref name="paddedK"/> reduction values per position.</summary>
    public static int PanelBytes(int paddedK) => paddedK * PanelPositions;

    /// <summary>Where the four bytes k = 4g … 4g+3 of position <paramref name="position"/> go in the packed patches.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long PanelOffset(int position, int group, int paddedK) =>
        (long)(position / PanelPositions) * PanelBytes(paddedK) + group * (4 * PanelPositions) + (position % PanelPositions) * 4;

    /// <summary>
    /// Multiplies the packed patches of one image (<paramref name="positions"/> positions) by the weights and writes
    /// channel co's outputs to <c>output + co·positions</c>. <paramref name="scale"/> holds sa·sw[co] per channel.
    /// </summary>
    public static void Run(byte* patches, int positions, Int8ConvWeights w, int zeroPoint, float* scale, float* output, Int8KernelPath path)
    {
        int kp = w.PaddedK, groups = kp / 4, cout = w.OutChannels, panelBytes = PanelBytes(kp);
        int* tile = stackalloc int[TileChannels * PanelPositions];
        fixed (sbyte* weights = w.Data)
        fixed (int* sums = w.RowSums)
        fixed (float* bias = w.Bias)
        {
            for (int p0 = 0; p0 < positions; p0 += PanelPositions)
            {
                byte* panel = patches + (long)(p0 / PanelPositions) * panelBytes;
                int count = Math.Min(PanelPositions, positions - p0);
                for (int c0 = 0; c0 < cout; c0 += TileChannels)
                {
                    int rows = Math.Min(TileChannels, cout - c0);
                    sbyte* wt = weights + (long)c0 * kp;
                    switch (path)
                    {
                        case Int8KernelPath.Auto:
                            TileVnni(panel, groups, wt, kp, rows, tile);
                            break;
                        case Int8KernelPath.Vector128:
                            for (int r = 0; r < rows; r++) RowVector128(panel, groups, wt + (long)r * kp, tile + r * PanelPositions);
                            break;
                        default:
                            for (int r = 0; r < rows; r++) RowScalar(panel, groups, wt + (long)r * kp, tile + r * PanelPositions);
                            break;
                    }
                    Finish(tile, rows, count, c0, sums, zeroPoint, scale, bias, w.Relu, output + (long)c0 * positions + p0, positions,
                        path == Int8KernelPath.Scalar);
                }
            }
        }
    }

    // The epilogue of one tile: rows channels × count positions, channel r written at out + r·stride.
    static void Finish(int* tile, int rows, int count, int c0, int* sums, int zeroPoint, float* scale, float* bias, bool relu,
        float* output, int stride, bool scalar)
    {
        for (int r = 0; r < rows; r++)
        {
            int co = c0 + r, correction = zeroPoint * sums[co];
            int* acc = tile + r * PanelPositions;
            float* o = output + (long)r * stride;
            int j = 0;
            if (!scalar)
            {
                var zc = Vector256.Create(correction);
                var s = Vector256.Create(scale[co]);
                var b = bias != null ? Vector256.Create(bias[co]) : default;
                for (; j + 8 <= count; j += 8)
                {
                    var y = Vector256.ConvertToSingle(Vector256.Load(acc + j) - zc) * s;
                    if (bias != null) y += b;
                    if (relu) y = Vector256.Max(y, Vector256<float>.Zero);
                    y.Store(o + j);
                }
            }
            for (; j < count; j++)
            {
                float y = (float)(acc[j] - correction) * scale[co];
                if (bias != null) y += bias[co];
                if (relu) y = MathF.Max(y, 0f);
                o[j] = y;
            }
        }
    }

    // 4 channels × 16 positions: eight 256-bit accumulators. Missing channels of a short tile repeat channel 0; their
    // sums are computed and dropped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void TileVnni(byte* panel, int groups, sbyte* w, int kp, int rows, int* tile)
    {
        sbyte* w0 = w, w1 = rows > 1 ? w + kp : w, w2 = rows > 2 ? w + 2L * kp : w, w3 = rows > 3 ? w + 3L * kp : w;
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<int> c20 = default, c21 = default, c30 = default, c31 = default;
        byte* p = panel;
        for (int g = 0; g < groups; g++, p += 4 * PanelPositions)
        {
            var a0 = Vector256.Load(p);
            var a1 = Vector256.Load(p + 32);
            int off = 4 * g;
            var b = Vector256.Create(*(int*)(w0 + off)).AsSByte();
            c00 = AvxVnni.MultiplyWideningAndAdd(c00, a0, b);
            c01 = AvxVnni.MultiplyWideningAndAdd(c01, a1, b);
            b = Vector256.Create(*(int*)(w1 + off)).AsSByte();
            c10 = AvxVnni.MultiplyWideningAndAdd(c10, a0, b);
            c11 = AvxVnni.MultiplyWideningAndAdd(c11, a1, b);
            b = Vector256.Create(*(int*)(w2 + off)).AsSByte();
            c20 = AvxVnni.MultiplyWideningAndAdd(c20, a0, b);
            c21 = AvxVnni.MultiplyWideningAndAdd(c21, a1, b);
            b = Vector256.Create(*(int*)(w3 + off)).AsSByte();
            c30 = AvxVnni.MultiplyWideningAndAdd(c30, a0, b);
            c31 = AvxVnni.MultiplyWideningAndAdd(c31, a1, b);
        }
        c00.Store(tile); c01.Store(tile + 8);
        c10.Store(tile + 16); c11.Store(tile + 24);
        c20.Store(tile + 32); c21.Store(tile + 40);
        c30.Store(tile + 48); c31.Store(tile + 56);
    }

    // One channel × 16 positions, portable: each position's four bytes widened to int32 and multiplied with the
    // channel's four weights, four partial sums per position added up at the end.
    static void RowVector128(byte* panel, int groups, sbyte* w, int* output)
    {
        for (int q = 0; q < PanelPositions / 4; q++)
        {
            Vector128<int> s0 = default, s1 = default, s2 = default, s3 = default;
            byte* p = panel + 16 * q;
            for (int g = 0; g < groups; g++, p += 4 * PanelPositions)
            {
                var wv = Vector128.Create((int)w[4 * g], w[4 * g + 1], w[4 * g + 2], w[4 * g + 3]);
                var (lo, hi) = Vector128.Widen(Vector128.Load(p));
                var (x0, x1) = Vector128.Widen(lo);
                var (x2, x3) = Vector128.Widen(hi);
                s0 += x0.AsInt32() * wv;
                s1 += x1.AsInt32() * wv;
                s2 += x2.AsInt32() * wv;
                s3 += x3.AsInt32() * wv;
            }
            output[4 * q] = Vector128.Sum(s0);
            output[4 * q + 1] = Vector128.Sum(s1);
            output[4 * q + 2] = Vector128.Sum(s2);
            output[4 * q + 3] = Vector128.Sum(s3);
        }
    }

    static void RowScalar(byte* panel, int groups, sbyte* w, int* output)
    {
        for (int t = 0; t < PanelPositions; t++)
        {
            int sum = 0;
            for (int g = 0; g < groups; g++)
            {
                byte* x = panel + g * 4 * PanelPositions + t * 4;
                sbyte* v = w + 4 * g;
                sum += x[0] * v[0] + x[1] * v[1] + x[2] * v[2] + x[3] * v[3];
            }
            output[t] = sum;
        }
    }
}
