using System.Numerics;

namespace NeuralCore.Backends.Cpu;

/// <summary>
/// BLIS-style blocked GEMM driver, generic over element type and vector width (one implementation serves
/// SGEMM and DGEMM on AVX-512, AVX2 and 128-bit SIMD).
/// </summary>
/// <remarks>
/// <para>
/// C is cut into a fixed grid of items: row blocks (whole MR micro-panels, packed A block within
/// <see cref="ABlockBytes"/> so it lives in L2) times column chunks (whole NR micro-panels, packed B chunk
/// within <see cref="BChunkBytes"/>). Items are numbered chunk-major and handed to threads as contiguous
/// ranges by <see cref="CpuParallel.ForRange{TState}"/>. Each thread then runs, for its own range:
/// </para>
/// <list type="number">
/// <item>pc: the k dimension in blocks of at most <see cref="KC"/>;</item>
/// <item>items of the range: pack the item's B chunk (skipped when the previous item had the same chunk)
/// and its A row block, both into this thread's own buffers;</item>
/// <item>jr: NR-wide micro-panels of the packed B chunk (one micro-panel, KC*NR = 32 KiB, stays in L1);</item>
/// <item>ir: MR-tall micro-panels of the packed A block, streamed from L2 into the micro-kernel.</item>
/// </list>
/// <para>
/// Every thread packs its own operands from the (read-shared) inputs rather than sharing one packed B:
/// measured on the 2-core Zen 5 target, reading a panel another core has just written costs cross-core
/// transfers that halved throughput, whereas re-packing is cheap. The static contiguous ranges also keep
/// each thread on the same rows of C from call to call, so C stays in that core's cache.
/// </para>
/// <para>
/// Determinism: every element of C gets its k-sum from the micro-kernel one k block at a time, blocks in
/// ascending order, and the k blocking and the item grid depend only on (m, n, k) (see <see cref="Plan"/>).
/// Threads only decide who computes which items, so results are bit-identical for any
/// <see cref="CpuParallel.MaxDegreeOfParallelism"/>.
/// </para>
/// </remarks>
internal static unsafe partial class GemmDriver<T, TVec, TOps>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TVec : unmanaged
    where TOps : struct, IGemmSimd<T, TVec>
{
    /// <summary>
    /// Depth of a k block: 256. A packed B micro-panel is KC * NR elements = 256 * 32 * 4 B = 32 KiB for
    /// float (and 256 * 16 * 8 B for double), which fits Zen 5's 48 KiB L1d next to the streaming A panel.
    /// </summary>
    private const int KC = 256;

    /// <summary>
    /// Budget for one packed A block (row block x KC): 256 KiB, a quarter of the 1 MiB L2, leaving room for
    /// the packed B chunk and the C lines flowing through. Gives at most 256 rows (float) / 128 (double).
    /// </summary>
    private const int ABlockBytes = 256 * 1024;

    /// <summary>
    /// Budget for one packed B chunk (KC x column chunk): 512 KiB, so the chunk a thread re-reads for every
    /// row block stays in its own L2. Gives at most 512 columns (float) / 256 (double).
    /// </summary>
    private const int BChunkBytes = 512 * 1024;

    /// <summary>
    /// Number of parallel items the planner aims for when the problem allows it: enough to give 2-8 threads
    /// balanced contiguous ranges, few enough that per-item packing stays amortised.
    /// </summary>
    private const int TargetItems = 8;

    /// <summary>Smallest row block (in MR micro-panels) worth an item of its own.</summary>
    private const int MinPanelsPerRowBlock = 4;

    /// <summary>Smallest column chunk (in NR micro-panels) worth an item of its own.</summary>
    private const int MinPanelsPerColumnChunk = 2;

    private static int MR => TOps.Rows;

    private static int NR => 2 * TOps.Lanes;

    public static void Run(bool transA, bool transB, int m, int n, int k, T alpha, T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc)
    {
        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0 || alpha == T.Zero)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }

        if (m <= SmallRows && TrySmallM(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
        {
            return;
        }

        var job = new Job
        {
            A = a,
            Lda = lda,
            TransA = transA,
            B = b,
            Ldb = ldb,
            TransB = transB,
            C = c,
            Ldc = ldc,
            M = m,
            N = n,
            K = k,
            Alpha = alpha,
            Beta = beta,
            BetaIsZero = beta == T.Zero,
        };
        Plan(ref job);

        int items = job.RowBlocks * job.ColumnChunks;
        long flopsPerItem = ShapeMath.MulSaturating(2L * m * n, k) / items;
        CpuParallel.ForRange(items, flopsPerItem, job, static (start, end, j) => RunRange(start, end, in j));
    }

    /// <summary>
    /// Fixes the k blocking and the item grid (row blocks x column chunks). Everything here depends only on
    /// (m, n, k) and the instantiation's MR/NR, never on the thread count: this is what makes the result
    /// independent of <see cref="CpuParallel.MaxDegreeOfParallelism"/>.
    /// </summary>
    private static void Plan(ref Job job)
    {
        job.KcStep = KStep(job.K);

        int aPanels = (int)(((long)job.M + MR - 1) / MR);
        int bPanels = (int)(((long)job.N + NR - 1) / NR);
        int maxAPanels = Math.Max(1, ABlockBytes / (KC * MR * sizeof(T)));
        int maxBPanels = Math.Max(1, BChunkBytes / (KC * NR * sizeof(T)));

        int chunks = (bPanels + maxBPanels - 1) / maxBPanels;
        int rows = (aPanels + maxAPanels - 1) / maxAPanels;

        // Too few items to balance threads: split rows first (only A packing is per item), then columns.
        if (rows * chunks < TargetItems)
        {
            int wanted = (TargetItems + chunks - 1) / chunks;
            rows = Math.Max(rows, Math.Min(wanted, aPanels / MinPanelsPerRowBlock));
        }

        if (rows * chunks < TargetItems)
        {
            int wanted = (TargetItems + rows - 1) / rows;
            chunks = Math.Max(chunks, Math.Min(wanted, bPanels / MinPanelsPerColumnChunk));
        }

        job.APanels = aPanels;
        job.BPanels = bPanels;
        job.RowBlocks = Math.Max(rows, 1);
        job.ColumnChunks = Math.Max(chunks, 1);
    }

    /// <summary>Depth of the k blocks for a given k (k &gt; 0): balanced blocks of at most <see cref="KC"/>, e.g. k = 300 -> 150 + 150 rather than 256 + 44.</summary>
    private static int KStep(int k)
    {
        int kBlocks = (int)(((long)k + KC - 1) / KC);
        return (k + kBlocks - 1) / kBlocks;
    }

    /// <summary>Start of part <paramref name="part"/> when <paramref name="total"/> panels are split into <paramref name="parts"/> near-equal parts.</summary>
    private static int SplitPoint(int total, int parts, int part) => (int)((long)total * part / parts);

    /// <summary>
    /// Computes items [start, end) (chunk-major order) for every k block. Consecutive items of the same
    /// column chunk reuse the B chunk this thread packed; each item packs its A row block.
    /// </summary>
    private static void RunRange(int start, int end, in Job job)
    {
        int mr = MR;
        int nr = NR;
        // Scratch tile for partial edge tiles: the kernel always computes a full MR x NR tile (the packed
        // panels are zero padded), we then keep only the valid part.
        T* tile = stackalloc T[GemmMicroKernel.MaxRows * 2 * TOps.Lanes];

        for (int pc = 0; pc < job.K; pc += job.KcStep)
        {
            int kc = Math.Min(job.KcStep, job.K - pc);
            // After the first k block C already holds alpha * (partial sum) [+ beta * C]: accumulate.
            T beta = pc == 0 ? job.Beta : T.One;
            bool betaIsZero = pc == 0 && job.BetaIsZero;
            int packedChunk = -1;
            T* packedB = null;

            for (int item = start; item < end; item++)
            {
                int chunk = item / job.RowBlocks;
                int rowBlock = item - (chunk * job.RowBlocks);
                int firstBPanel = SplitPoint(job.BPanels, job.ColumnChunks, chunk);
                int lastBPanel = SplitPoint(job.BPanels, job.ColumnChunks, chunk + 1);
                int firstAPanel = SplitPoint(job.APanels, job.RowBlocks, rowBlock);
                int lastAPanel = SplitPoint(job.APanels, job.RowBlocks, rowBlock + 1);
                if (firstBPanel == lastBPanel || firstAPanel == lastAPanel)
                {
                    continue;
                }

                if (chunk != packedChunk)
                {
                    packedB = GemmScratch<T>.PackB((lastBPanel - firstBPanel) * kc * nr);
                    PackB(in job, pc, kc, firstBPanel, lastBPanel, packedB);
                    packedChunk = chunk;
                }

                T* packedA = GemmScratch<T>.PackA((lastAPanel - firstAPanel) * kc * mr);
                PackA(in job, pc, kc, firstAPanel, lastAPanel, packedA);

                for (int jp = firstBPanel; jp < lastBPanel; jp++)
                {
                    int j = jp * nr;
                    int nValid = Math.Min(nr, job.N - j);
                    T* bPanel = packedB + ((nint)(jp - firstBPanel) * kc * nr);
                    for (int ip = firstAPanel; ip < lastAPanel; ip++)
                    {
                        int i = ip * mr;
                        int mValid = Math.Min(mr, job.M - i);
                        T* aPanel = packedA + ((nint)(ip - firstAPanel) * kc * mr);
                        T* cTile = job.C + (i * job.Ldc) + j;
                        if (mValid == mr && nValid == nr)
                        {
                            GemmMicroKernel.Compute<T, TVec, TOps>(kc, aPanel, bPanel, cTile, job.Ldc, job.Alpha, beta, betaIsZero);
                        }
                        else
                        {
                            // alpha = 1, beta = 0 stores the raw accumulators (1 * acc is exact); UpdateEdge then
                            // applies the kernel's own write-back formula, so edge elements are bit-identical
                            // to what a full tile would have produced.
                            GemmMicroKernel.Compute<T, TVec, TOps>(kc, aPanel, bPanel, tile, nr, T.One, T.Zero, betaIsZero: true);
                            UpdateEdge(tile, nr, mValid, nValid, cTile, job.Ldc, job.Alpha, beta, betaIsZero);
                        }
                    }
                }
            }
        }
    }

    /// <summary>Packs opA[rows of A panels first..last, pc..pc+kc] into MR-row micro-panels.</summary>
    private static void PackA(in Job job, int pc, int kc, int firstPanel, int lastPanel, T* dst)
    {
        int mr = MR;
        for (int ip = firstPanel; ip < lastPanel; ip++, dst += kc * mr)
        {
            int i = ip * mr;
            int valid = Math.Min(mr, job.M - i);
            if (job.TransA)
            {
                // opA[i, p] = a[p*lda + i]: the MR elements of a packed column are contiguous in memory.
                GemmPacking.PackContiguous(job.A + (pc * job.Lda) + i, job.Lda, valid, kc, mr, dst);
            }
            else
            {
                // opA[i, p] = a[i*lda + p]: each row of the panel is a contiguous line in memory.
                GemmPacking.PackStrided(job.A + (i * job.Lda) + pc, job.Lda, valid, kc, mr, dst);
            }
        }
    }

    /// <summary>Packs opB[pc..pc+kc, columns of B panels first..last] into NR-column micro-panels.</summary>
    private static void PackB(in Job job, int pc, int kc, int firstPanel, int lastPanel, T* dst)
    {
        int nr = NR;
        for (int jp = firstPanel; jp < lastPanel; jp++, dst += kc * nr)
        {
            int j = jp * nr;
            int valid = Math.Min(nr, job.N - j);
            if (job.TransB)
            {
                // opB[p, j] = b[j*ldb + p]: each column of opB is a contiguous line in memory.
                GemmPacking.PackStrided(job.B + (j * job.Ldb) + pc, job.Ldb, valid, kc, nr, dst);
            }
            else
            {
                // opB[p, j] = b[p*ldb + j]: a packed row of NR elements is contiguous in memory.
                GemmPacking.PackContiguous(job.B + (pc * job.Ldb) + j, job.Ldb, valid, kc, nr, dst);
            }
        }
    }

    private static void UpdateEdge(T* tile, int tileStride, int rows, int columns, T* c, nint ldc, T alpha, T beta, bool betaIsZero)
    {
        for (int r = 0; r < rows; r++)
        {
            T* src = tile + (r * tileStride);
            T* dst = c + (r * ldc);
            for (int j = 0; j < columns; j++)
            {
                dst[j] = betaIsZero ? alpha * src[j] : T.FusedMultiplyAdd(beta, dst[j], alpha * src[j]);
            }
        }
    }

    /// <summary>C = beta * C for the degenerate cases k == 0 or alpha == 0 (beta == 0 writes zeros without reading C).</summary>
    private static void ScaleC(int m, int n, T beta, T* c, nint ldc)
    {
        for (int i = 0; i < m; i++)
        {
            var row = new Span<T>(c + (i * ldc), n);
            if (beta == T.Zero)
            {
                row.Clear();
            }
            else if (beta != T.One)
            {
                for (int j = 0; j < row.Length; j++)
                {
                    row[j] *= beta;
                }
            }
        }
    }

    /// <summary>Everything a thread needs; passed by value to <see cref="CpuParallel"/> (no closure).</summary>
    private struct Job
    {
        public T* A;
        public nint Lda;
        public bool TransA;
        public T* B;
        public nint Ldb;
        public bool TransB;
        public T* C;
        public nint Ldc;
        public int M;
        public int N;
        public int K;
        public int KcStep;
        public int APanels;
        public int BPanels;
        public int RowBlocks;
        public int ColumnChunks;
        public T Alpha;
        public T Beta;
        public bool BetaIsZero;
    }
}
