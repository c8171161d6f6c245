using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuralCore.Backends.Cpu;

/// <summary>
/// The small-M path of <see cref="GemmDriver{T, TVec, TOps}"/>: single precision GEMMs with at most
/// <see cref="SmallRows"/> rows of op(A) (a batch-1 to batch-4 <c>Linear</c>, a matrix-vector product) run without
/// packing, straight from the operands.
/// </summary>
/// <remarks>
/// <para>
/// The blocked path pads op(A) to a full MR-row micro-panel (8 rows with AVX-512), so a single row pays for packing
/// all of B and for eight rows of multiply-adds, and the pass costs several times its arithmetic. Here each group of
/// eight columns of C is computed in one 256-bit accumulator per row: with B transposed (the weight of a
/// <c>Linear</c>, [out, in] row-major) eight lines of B are loaded eight elements at a time and transposed in
/// registers (<see cref="GemmPacking.Transpose8x8(ref Vector256{float}, ref Vector256{float}, ref Vector256{float}, ref Vector256{float}, ref Vector256{float}, ref Vector256{float}, ref Vector256{float}, ref Vector256{float})"/>);
/// otherwise a row of B is one load. Columns past the last group of eight run the same chain in scalar code.
/// </para>
/// <para>
/// Numerics are the blocked path's, bit for bit: every element of C is accumulated as acc = fma(opA[i,p], opB[p,j], acc)
/// for p ascending within the same k blocks (<see cref="KStep"/>) from +0, and written back with the same formula
/// (alpha*acc, or fma(beta, C, alpha*acc); beta = 1 after the first block). So a row of C does not depend on how
/// many rows were computed with it: a batch of inputs gives each input's answer exactly.
/// </para>
/// <para>
/// Threads: the columns are cut into fixed blocks of <see cref="SmallBlockColumns"/> (depending only on n), spread
/// over threads only above <see cref="SmallParallelFlops"/>: below it, waking a worker costs more than it saves.
/// </para>
/// </remarks>
internal static unsafe partial class GemmDriver<T, TVec, TOps>
{
    /// <summary>Most rows of op(A) the small-M path takes.</summary>
    internal const int SmallRows = 4;

    /// <summary>Columns of C per parallel item of the small-M path.</summary>
    private const int SmallBlockColumns = 64;

    /// <summary>Work (2 * m * n * k) below which the small-M path runs on the calling thread only.</summary>
    private const long SmallParallelFlops = 1L << 21;

    /// <summary>
    /// Runs the GEMM on the small-M path when it applies (m &lt;= <see cref="SmallRows"/>, float, 256-bit AVX2 + FMA
    /// kernels in use; k &gt; 0 and alpha != 0 already checked by the caller) and returns true; false otherwise.
    /// </summary>
    private static bool TrySmallM(bool transA, bool transB, int m, int n, int k, T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc)
    {
        // The 128-bit instantiation is what a MaxVectorBits cap of 128 selects: leave it to the blocked path.
        if (typeof(T) != typeof(float) || TOps.Lanes * sizeof(T) < 32 || !Avx2.IsSupported || !Fma.IsSupported || m > SmallRows)
        {
            return false;
        }

        var job = new SmallJob
        {
            A = (float*)a,
            Lda = lda,
            TransA = transA,
            B = (float*)b,
            Ldb = ldb,
            TransB = transB,
            C = (float*)c,
            Ldc = ldc,
            M = m,
            N = n,
            K = k,
            KcStep = KStep(k),
            Alpha = Unsafe.BitCast<T, float>(alpha),
            Beta = Unsafe.BitCast<T, float>(beta),
            BetaIsZero = beta == T.Zero,
        };
        int blocks = (n + SmallBlockColumns - 1) / SmallBlockColumns;
        long flops = ShapeMath.MulSaturating(2L * m * n, k);
        if (blocks == 1 || flops < SmallParallelFlops)
        {
            SmallRange(0, blocks, in job);
        }
        else
        {
            CpuParallel.ForRange(blocks, flops / blocks, job, static (start, end, j) => SmallRange(start, end, in j));
        }

        return true;
    }

    /// <summary>Computes the column blocks [start, end) of C, every row.</summary>
    private static void SmallRange(int start, int end, in SmallJob job)
    {
        switch (job.M)
        {
            case 1: SmallRange<SmallRows1>(start, end, in job); break;
            case 2: SmallRange<SmallRows2>(start, end, in job); break;
            case 3: SmallRange<SmallRows3>(start, end, in job); break;
            default: SmallRange<SmallRows4>(start, end, in job); break;
        }
    }

    private static void SmallRange<TRows>(int start, int end, in SmallJob job)
        where TRows : struct, ISmallRows
    {
        int last = Math.Min(job.N, end * SmallBlockColumns);
        int j = start * SmallBlockColumns;
        for (; j + 8 <= last; j += 8)
        {
            Columns8<TRows>(in job, j);
        }

        for (; j < last; j++)
        {
            Column(in job, j);
        }
    }

    /// <summary>C[i, j0..j0+8) for every row i, one accumulator per row and k block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns8<TRows>(in SmallJob job, int j0)
        where TRows : struct, ISmallRows
    {
        int rows = TRows.Count;
        float* a = job.A;
        nint lda = job.Lda;
        // Step between consecutive p for one row of op(A), and between rows.
        nint aStep = job.TransA ? lda : 1, aRow = job.TransA ? 1 : lda;
        float* b = job.B;
        nint ldb = job.Ldb;
        for (int pc = 0; pc < job.K; pc += job.KcStep)
        {
            int pEnd = Math.Min(job.K, pc + job.KcStep);
            Vector256<float> c0 = Vector256<float>.Zero, c1 = Vector256<float>.Zero, c2 = Vector256<float>.Zero, c3 = Vector256<float>.Zero;
            int p = pc;
            if (job.TransB)
            {
                // opB[p, j] = b[j*ldb + p]: eight lines of B, eight p at a time, turned into eight columns.
                float* w = b + (j0 * ldb);
                for (; p + 8 <= pEnd; p += 8)
                {
                    Vector256<float> v0 = Avx.LoadVector256(w + p);
                    Vector256<float> v1 = Avx.LoadVector256(w + ldb + p);
                    Vector256<float> v2 = Avx.LoadVector256(w + (2 * ldb) + p);
                    Vector256<float> v3 = Avx.LoadVector256(w + (3 * ldb) + p);
                    Vector256<float> v4 = Avx.LoadVector256(w + (4 * ldb) + p);
                    Vector256<float> v5 = Avx.LoadVector256(w + (5 * ldb) + p);
                    Vector256<float> v6 = Avx.LoadVector256(w + (6 * ldb) + p);
                    Vector256<float> v7 = Avx.LoadVector256(w + (7 * ldb) + p);
                    GemmPacking.Transpose8x8(ref v0, ref v1, ref v2, ref v3, ref v4, ref v5, ref v6, ref v7);
                    float* ap = a + (p * aStep);
                    Step<TRows>(v0, ap, aRow, ref c0, ref c1, ref c2, ref c3);
                    Step<TRows>(v1, ap + aStep, aRow, ref c0, ref c1, ref c2, ref c3);
                    Step<TRows>(v2, ap + (2 * aStep), aRow, ref c0, ref c1, ref c2, ref c3);
                    Step<TRows>(v3, ap + (3 * aStep), aRow, ref c0, ref c1, ref c2, ref c3);
                    Step<TRows>(v4, ap + (4 * aStep), aRow, ref c0, ref c1, ref c2, ref c3);
                    Step<TRows>(v5, ap + (5 * aStep), aRow, ref c0, ref c1, ref c2, ref c3);
                    Step<TRows>(v6, ap + (6 * aStep), aRow, ref c0, ref c1, ref c2, ref c3);
                    Step<TRows>(v7, ap + (7 * aStep), aRow, ref c0, ref c1, ref c2, ref c3);
                }

                for (; p < pEnd; p++)
                {
                    var v = Vector256.Create(w[p], w[ldb + p], w[(2 * ldb) + p], w[(3 * ldb) + p],
                        w[(4 * ldb) + p], w[(5 * ldb) + p], w[(6 * ldb) + p], w[(7 * ldb) + p]);
                    Step<TRows>(v, a + (p * aStep), aRow, ref c0, ref c1, ref c2, ref c3);
                }
            }
            else
            {
                // opB[p, j] = b[p*ldb + j]: eight columns of a row of B are one load.
                for (; p < pEnd; p++)
                {
                    Step<TRows>(Avx.LoadVector256(b + (p * ldb) + j0), a + (p * aStep), aRow, ref c0, ref c1, ref c2, ref c3);
                }
            }

            // The first block applies beta; later ones add to what C holds (beta = 1), as the blocked path does.
            bool first = pc == 0;
            float beta = first ? job.Beta : 1f;
            bool betaIsZero = first && job.BetaIsZero;
            float* cRow = job.C + j0;
            Store(cRow, c0, job.Alpha, beta, betaIsZero);
            if (rows > 1)
            {
                Store(cRow + job.Ldc, c1, job.Alpha, beta, betaIsZero);
            }

            if (rows > 2)
            {
                Store(cRow + (2 * job.Ldc), c2, job.Alpha, beta, betaIsZero);
            }

            if (rows > 3)
            {
                Store(cRow + (3 * job.Ldc), c3, job.Alpha, beta, betaIsZero);
            }
        }
    }

    /// <summary>acc_i = fma(opA[i, p], opB[p, j..j+8), acc_i) for each row i; <paramref name="ap"/> points at opA[0, p].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step<TRows>(Vector256<float> v, float* ap, nint aRow,
        ref Vector256<float> c0, ref Vector256<float> c1, ref Vector256<float> c2, ref Vector256<float> c3)
        where TRows : struct, ISmallRows
    {
        c0 = Fma.MultiplyAdd(Vector256.Create(ap[0]), v, c0);
        if (TRows.Count > 1)
        {
            c1 = Fma.MultiplyAdd(Vector256.Create(ap[aRow]), v, c1);
        }

        if (TRows.Count > 2)
        {
            c2 = Fma.MultiplyAdd(Vector256.Create(ap[2 * aRow]), v, c2);
        }

        if (TRows.Count > 3)
        {
            c3 = Fma.MultiplyAdd(Vector256.Create(ap[3 * aRow]), v, c3);
        }
    }

    /// <summary>The micro-kernel's write-back: alpha*acc, or fma(beta, C, alpha*acc).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector256<float> acc, float alpha, float beta, bool betaIsZero)
    {
        var scaled = Avx.Multiply(Vector256.Create(alpha), acc);
        Avx.Store(c, betaIsZero ? scaled : Fma.MultiplyAdd(Vector256.Create(beta), Avx.LoadVector256(c), scaled));
    }

    /// <summary>Column j of C for every row: the same chains as <see cref="Columns8"/>, in scalar code.</summary>
    private static void Column(in SmallJob job, int j)
    {
        nint aStep = job.TransA ? job.Lda : 1, aRow = job.TransA ? 1 : job.Lda;
        nint bStep = job.TransB ? 1 : job.Ldb;
        float* bColumn = job.B + (job.TransB ? j * job.Ldb : j);
        for (int pc = 0; pc < job.K; pc += job.KcStep)
        {
            int pEnd = Math.Min(job.K, pc + job.KcStep);
            bool first = pc == 0;
            float beta = first ? job.Beta : 1f;
            bool betaIsZero = first && job.BetaIsZero;
            for (int i = 0; i < job.M; i++)
            {
                float acc = 0f;
                float* ai = job.A + (i * aRow);
                for (int p = pc; p < pEnd; p++)
                {
                    acc = MathF.FusedMultiplyAdd(ai[p * aStep], bColumn[p * bStep], acc);
                }

                float* cij = job.C + (i * job.Ldc) + j;
                *cij = betaIsZero ? job.Alpha * acc : MathF.FusedMultiplyAdd(beta, *cij, job.Alpha * acc);
            }
        }
    }

    /// <summary>The operands of a small-M GEMM; passed by value to <see cref="CpuParallel"/> (no closure).</summary>
    private struct SmallJob
    {
        public float* A;
        public nint Lda;
        public bool TransA;
        public float* B;
        public nint Ldb;
        public bool TransB;
        public float* C;
        public nint Ldc;
        public int M;
        public int N;
        public int K;
        public int KcStep;
        public float Alpha;
        public float Beta;
        public bool BetaIsZero;
    }
}

/// <summary>A row count known to the JIT, so that the small-M kernel keeps only the accumulators it uses.</summary>
internal interface ISmallRows
{
    /// <summary>Rows of op(A), 1 to 4.</summary>
    static abstract int Count { get; }
}

internal readonly struct SmallRows1 : ISmallRows
{
    public static int Count => 1;
}

internal readonly struct SmallRows2 : ISmallRows
{
    public static int Count => 2;
}

internal readonly struct SmallRows3 : ISmallRows
{
    public static int Count => 3;
}

internal readonly struct SmallRows4 : ISmallRows
{
    public static int Count => 4;
}
