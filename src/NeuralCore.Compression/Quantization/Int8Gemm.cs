using System.Runtime.CompilerServices;
using NeuralCore.Backends.Cpu;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuralCore.Compression;

/// <summary>Which int8 GEMM kernel runs; tests force the portable ones on VNNI hardware.</summary>
internal enum Int8KernelPath
{
    /// <summary>The fastest the hardware has: AVX-VNNI when present, else the Vector128 kernel.</summary>
    Auto,
    /// <summary>The portable Vector128 kernel (any SIMD ISA, or software).</summary>
    Vector128,
    /// <summary>Plain scalar loops.</summary>
    Scalar,
}

/// <summary>
/// Weights of an int8 GEMM, packed for the micro-kernels: per-channel symmetric int8 values of an [N, K] matrix laid
/// out in panels of <see cref="Int8Gemm.PanelWidth"/> output columns, each panel holding, for every group of four
/// consecutive k, the four bytes of each column side by side (the operand order of <c>VPDPBUSD</c>). K is padded to a
/// multiple of four and N to a whole panel with zeros, which add nothing to a dot product.
/// </summary>
internal sealed class PackedInt8Weights
{
    PackedInt8Weights(int n, int k, sbyte[] data, int[] columnSums)
    {
        N = n;
        K = k;
        Data = data;
        ColumnSums = columnSums;
    }

    /// <summary>Output columns.</summary>
    public int N { get; }

    /// <summary>Reduction length.</summary>
    public int K { get; }

    /// <summary>K rounded up to a multiple of four: the row stride activations must be laid out with.</summary>
    public int PaddedK => Int8Gemm.PadK(K);

    /// <summary>Panels of <see cref="Int8Gemm.PanelWidth"/> columns.</summary>
    public int Panels => (N + Int8Gemm.PanelWidth - 1) / Int8Gemm.PanelWidth;

    /// <summary>The packed bytes: <see cref="Panels"/> panels of PaddedK * PanelWidth bytes.</summary>
    public sbyte[] Data { get; }

    /// <summary>Sum over k of each column's weights, for the activation zero-point correction.</summary>
    public int[] ColumnSums { get; }

    /// <summary>Packs a row-major [n, k] int8 matrix (row j holds output column j's weights).</summary>
    /// <exception cref="ArgumentException">The sizes are not positive or the span is not n * k long.</exception>
    public static PackedInt8Weights Pack(ReadOnlySpan<sbyte> weights, int n, int k)
    {
        if (n <= 0 || k <= 0)
            throw new ArgumentException($"Int8 GEMM: the weight matrix must have positive sizes, got [{n}, {k}].");
        if (weights.Length != (long)n * k)
            throw new ArgumentException($"Int8 GEMM: the weight matrix [{n}, {k}] needs {(long)n * k} values, got {weights.Length}.");
        int kp = Int8Gemm.PadK(k), w = Int8Gemm.PanelWidth, panels = (n + w - 1) / w;
        var data = new sbyte[checked((long)panels * kp * w)];
        var sums = new int[n];
        for (int j = 0; j < n; j++)
        {
            int panel = j / w, col = j % w, sum = 0;
            long baseIndex = (long)panel * kp * w;
            var row = weights.Slice(j * k, k);
            for (int p = 0; p < k; p++)
            {
                data[baseIndex + (p >> 2) * (4 * w) + col * 4 + (p & 3)] = row[p];
                sum += row[p];
            }
            sums[j] = sum;
        }
        return new PackedInt8Weights(n, k, data, sums);
    }
}

/// <summary>How the int32 accumulators of an int8 GEMM become the output.</summary>
/// <remarks>
/// With activations a quantized as <c>a ≈ sa·(qa − za)</c> (uint8, zero point za) and weights as
/// <c>w ≈ sw[j]·qw</c> (int8, symmetric per output column), the accumulator
/// <c>acc = Σ qa·qw − za·Σ qw</c> gives <c>y[i, j] = acc·Scale[j] + Bias[j]</c> with <c>Scale[j] = sa·sw[j]</c>,
/// then ReLU when asked. A uint8 output is then <c>clamp(round(y / so) + zo, 0, 255)</c> (round half to even).
/// </remarks>
internal readonly struct Int8Epilogue
{
    /// <summary>Per-column multiplier sa·sw[j] (float outputs and uint8 outputs).</summary>
    public float[]? Scale { get; init; }

    /// <summary>Per-column bias added after scaling, or null.</summary>
    public float[]? Bias { get; init; }

    /// <summary>Whether negative results become zero.</summary>
    public bool Relu { get; init; }

    /// <summary>1 / so for uint8 outputs.</summary>
    public float OutputInverseScale { get; init; }

    /// <summary>zo for uint8 outputs.</summary>
    public int OutputZeroPoint { get; init; }
}

/// <summary>What an int8 GEMM writes.</summary>
internal enum Int8OutputKind
{
    /// <summary>The zero-point-corrected int32 accumulators.</summary>
    Int32,
    /// <summary>Dequantized float values (scale, bias, ReLU).</summary>
    Float,
    /// <summary>Requantized uint8 values.</summary>
    UInt8,
}

/// <summary>
/// The int8 GEMM: <c>C[M, N] = A[M, K] · Wᵀ</c> with A uint8 activations (row stride a multiple of four, zero point
/// za) and W the packed int8 weights, accumulated in int32 and finished by an <see cref="Int8Epilogue"/>.
/// </summary>
/// <remarks>
/// Kernels: with AVX-VNNI, a 6 × 16 micro-kernel of 256-bit <c>VPDPBUSD</c> (four uint8 × int8 products summed into
/// each int32 lane per instruction; .NET 10 exposes VNNI for 128- and 256-bit vectors only on AVX512-VNNI
/// hardware without AVX10.2); otherwise a portable Vector128 kernel that widens to int32, and a scalar one. All give
/// the same int32 sums, so results are bit-identical across paths. Work is split into blocks of 96 rows × 64 columns
/// run in parallel by <see cref="CpuParallel"/>; the packed panel of 16 columns (16·K bytes) stays in L1 while a block's rows stream past it.
/// </remarks>
internal static unsafe class Int8Gemm
{
    /// <summary>Output columns per packed panel (two 256-bit vectors of int32).</summary>
    public const int PanelWidth = 16;

    /// <summary>Rows per micro-tile.</summary>
    public const int TileRows = 6;

    const int BlockRows = 96, BlockColumns = 64;

    [ThreadStatic]
    static Int8KernelPath t_forcedPath;

    /// <summary>Caps the kernel used by GEMMs started on the calling thread (tests); <see cref="Int8KernelPath.Auto"/> by default.</summary>
    public static Int8KernelPath ForcedPath
    {
        get => t_forcedPath;
        set => t_forcedPath = value;
    }

    /// <summary>The kernel a GEMM started now on this thread uses.</summary>
    public static Int8KernelPath ResolvePath() =>
        t_forcedPath != Int8KernelPath.Auto ? t_forcedPath : AvxVnni.IsSupported ? Int8KernelPath.Auto : Int8KernelPath.Vector128;

    /// <summary>True when the hardware path (AVX-VNNI) is available.</summary>
    public static bool HasVnni => AvxVnni.IsSupported;

    /// <summary>K rounded up to a multiple of four.</summary>
    public static int PadK(int k) => checked((k + 3) & ~3);

    /// <summary>
    /// Runs the GEMM. <paramref name="a"/> holds M rows of <see cref="PackedInt8Weights.PaddedK"/> bytes at stride
    /// <paramref name="lda"/>; element (i, j) of the output goes to <c>c + i·rowStride + j·columnStride</c> (in
    /// elements of the output kind).
    /// </summary>
    /// <remarks><paramref name="path"/> is the kernel to use; null resolves it on the calling thread (<see cref="ResolvePath"/>).</remarks>
    public static void Run(byte* a, int lda, int m, PackedInt8Weights w, int aZeroPoint, in Int8Epilogue epilogue,
        Int8OutputKind kind, void* c, long rowStride, long columnStride, Int8KernelPath? path = null)
    {
        if (m <= 0) return;
        if (lda < w.PaddedK) throw new ArgumentException($"Int8 GEMM: the activation row stride {lda} is below the padded K {w.PaddedK}.");
        if (kind != Int8OutputKind.Int32 && (epilogue.Scale is null || epilogue.Scale.Length < w.N))
            throw new ArgumentException($"Int8 GEMM: the epilogue needs {w.N} per-column scales.");
        if (epilogue.Bias is not null && epilogue.Bias.Length < w.N)
            throw new ArgumentException($"Int8 GEMM: the epilogue needs {w.N} bias values, got {epilogue.Bias.Length}.");
        var job = new Job
        {
            A = a, Lda = lda, M = m, Weights = w, ZeroPoint = aZeroPoint, Epilogue = epilogue, Kind = kind,
            C = c, RowStride = rowStride, ColumnStride = columnStride, Path = path ?? ResolvePath(),
            RowBlocks = (m + BlockRows - 1) / BlockRows, ColumnBlocks = (w.N + BlockColumns - 1) / BlockColumns,
        };
        int items = job.RowBlocks * job.ColumnBlocks;
        long work = (long)m * w.N * w.PaddedK;
        if (items == 1 || work < (1L << 21) || CpuParallel.MaxDegreeOfParallelism == 1)
        {
            for (int i = 0; i < items; i++) job.RunBlock(i);
        }
        else
        {
            // The backend's loop: a worker that starts late (a busy machine) leaves its share to the caller
            // instead of making it wait.
            CpuParallel.For(items, work / items, job.RunBlock);
        }
    }

    sealed class Job
    {
        public byte* A;
        public int Lda, M, ZeroPoint, RowBlocks, ColumnBlocks;
        public PackedInt8Weights Weights = null!;
        public Int8Epilogue Epilogue;
        public Int8OutputKind Kind;
        public void* C;
        public long RowStride, ColumnStride;
        public Int8KernelPath Path;

        public void RunBlock(int index)
        {
            int rb = index / ColumnBlocks, cb = index % ColumnBlocks;
            int row0 = rb * BlockRows, rows = Math.Min(BlockRows, M - row0);
            int col0 = cb * BlockColumns, cols = Math.Min(BlockColumns, Weights.N - col0);
            int kp = Weights.PaddedK, groups = kp / 4;
            int* tile = stackalloc int[TileRows * PanelWidth];
            fixed (sbyte* packed = Weights.Data)
            {
                for (int pc = 0; pc < cols; pc += PanelWidth)
                {
                    int panelIndex = (col0 + pc) / PanelWidth;
                    sbyte* panel = packed + (long)panelIndex * kp * PanelWidth;
                    int panelCols = Math.Min(PanelWidth, Weights.N - (col0 + pc));
                    for (int r = 0; r < rows; r += TileRows)
                    {
                        int tileRows = Math.Min(TileRows, rows - r);
                        byte* aTile = A + (long)(row0 + r) * Lda;
                        switch (Path)
                        {
                            case Int8KernelPath.Auto:
                                TileVnni(aTile, Lda, tileRows, panel, groups, tile);
                                break;
                            case Int8KernelPath.Vector128:
                                for (int t = 0; t < tileRows; t++) RowVector128(aTile + (long)t * Lda, panel, groups, tile + t * PanelWidth);
                                break;
                            default:
                                for (int t = 0; t < tileRows; t++) RowScalar(aTile + (long)t * Lda, panel, groups, tile + t * PanelWidth);
                                break;
                        }
                        for (int t = 0; t < tileRows; t++)
                            Int8Requantize.Row(new ReadOnlySpan<int>(tile + t * PanelWidth, panelCols), col0 + pc, Weights.ColumnSums, ZeroPoint,
                                Epilogue, Kind, C, (long)(row0 + r + t) * RowStride + (long)(col0 + pc) * ColumnStride, ColumnStride,
                                Path == Int8KernelPath.Scalar);
                    }
                }
            }
        }
    }

    // 6 rows × 16 columns: twelve 256-bit accumulators. Missing rows of a short tile read row 0 again; their sums are
    // computed and dropped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void TileVnni(byte* a, int lda, int rows, sbyte* panel, int groups, int* tile)
    {
        byte* a0 = a, a1 = rows > 1 ? a + lda : a, a2 = rows > 2 ? a + 2L * lda : a;
        byte* a3 = rows > 3 ? a + 3L * lda : a, a4 = rows > 4 ? a + 4L * lda : a, a5 = rows > 5 ? a + 5L * lda : a;
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<int> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        sbyte* p = panel;
        for (int g = 0; g < groups; g++, p += 4 * PanelWidth)
        {
            var w0 = Vector256.Load(p);
            var w1 = Vector256.Load(p + 32);
            int off = g * 4;
            var b = Vector256.Create(*(int*)(a0 + off)).AsByte();
            c00 = AvxVnni.MultiplyWideningAndAdd(c00, b, w0);
            c01 = AvxVnni.MultiplyWideningAndAdd(c01, b, w1);
            b = Vector256.Create(*(int*)(a1 + off)).AsByte();
            c10 = AvxVnni.MultiplyWideningAndAdd(c10, b, w0);
            c11 = AvxVnni.MultiplyWideningAndAdd(c11, b, w1);
            b = Vector256.Create(*(int*)(a2 + off)).AsByte();
            c20 = AvxVnni.MultiplyWideningAndAdd(c20, b, w0);
            c21 = AvxVnni.MultiplyWideningAndAdd(c21, b, w1);
            b = Vector256.Create(*(int*)(a3 + off)).AsByte();
            c30 = AvxVnni.MultiplyWideningAndAdd(c30, b, w0);
            c31 = AvxVnni.MultiplyWideningAndAdd(c31, b, w1);
            b = Vector256.Create(*(int*)(a4 + off)).AsByte();
            c40 = AvxVnni.MultiplyWideningAndAdd(c40, b, w0);
            c41 = AvxVnni.MultiplyWideningAndAdd(c41, b, w1);
            b = Vector256.Create(*(int*)(a5 + off)).AsByte();
            c50 = AvxVnni.MultiplyWideningAndAdd(c50, b, w0);
            c51 = AvxVnni.MultiplyWideningAndAdd(c51, b, w1);
        }
        c00.Store(tile); c01.Store(tile + 8);
        c10.Store(tile + 16); c11.Store(tile + 24);
        c20.Store(tile + 32); c21.Store(tile + 40);
        c30.Store(tile + 48); c31.Store(tile + 56);
        c40.Store(tile + 64); c41.Store(tile + 72);
        c50.Store(tile + 80); c51.Store(tile + 88);
    }

    // One row × 16 columns with portable Vector128 arithmetic: each column keeps four partial sums (one per k mod 4),
    // added up at the end.
    static void RowVector128(byte* a, sbyte* panel, int groups, int* output)
    {
        var acc = stackalloc Vector128<int>[PanelWidth];
        for (int j = 0; j < PanelWidth; j++) acc[j] = default;
        sbyte* p = panel;
        for (int g = 0; g < groups; g++, p += 4 * PanelWidth)
        {
            var av = Vector128.Create((int)a[4 * g], a[4 * g + 1], a[4 * g + 2], a[4 * g + 3]);
            for (int q = 0; q < 4; q++)
            {
                var wb = Vector128.Load(p + 16 * q);
                var (lo, hi) = Vector128.Widen(wb);
                var (l0, l1) = Vector128.Widen(lo);
                var (h0, h1) = Vector128.Widen(hi);
                acc[4 * q] += l0 * av;
                acc[4 * q + 1] += l1 * av;
                acc[4 * q + 2] += h0 * av;
                acc[4 * q + 3] += h1 * av;
            }
        }
        for (int j = 0; j < PanelWidth; j++) output[j] = Vector128.Sum(acc[j]);
    }

    static void RowScalar(byte* a, sbyte* panel, int groups, int* output)
    {
        for (int j = 0; j < PanelWidth; j++)
        {
            int sum = 0;
            for (int g = 0; g < groups; g++)
            {
                sbyte* p = panel + g * 4 * PanelWidth + j * 4;
                byte* x = a + 4 * g;
                sum += x[0] * p[0] + x[1] * p[1] + x[2] * p[2] + x[3] * p[3];
            }
            output[j] = sum;
        }
    }
}
