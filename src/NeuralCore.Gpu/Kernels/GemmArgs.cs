namespace NeuralCore.Gpu.Kernels;

/// <summary>
/// Operands of a batched, strided GEMM: C[b] (+)= Σ_r A[b, r] · B[b, r] with A [M, K], B [K, N], C [M, N].
/// Every matrix is addressed by explicit strides, so transposed or broadcast (batch stride 0) operands need no
/// copy; the optional reduction index r sums several products into one output (the batch of a convolution's
/// weight gradient).
/// </summary>
/// <remarks>
/// Split-K: the kernels walk the reduction as one sequence of K tiles (⌈K / BK⌉ per reduction index). Grid Z holds
/// batch × <see cref="Slices"/> groups; slice s computes tiles [s·<see cref="SliceTiles"/>, (s + 1)·SliceTiles) and
/// writes its partial C at <see cref="CSlice"/>·s from C's offset. The launch sets these three fields (one slice of
/// every tile for an unsplit product); callers describe only the product.
/// </remarks>
internal struct GemmArgs
{
    public int M, N, K, Reduce, Accumulate;
    public int AOffset, ABatch, AReduce, ARow, AInner;
    public int BOffset, BBatch, BReduce, BInner, BCol;
    public int COffset, CBatch, CRow, CCol;
    public int Slices, SliceTiles, CSlice;
}

/// <summary>A group's share of a (possibly split) GEMM: see <see cref="GemmArgs"/>.</summary>
internal struct KSlice
{
    public int Batch, KTiles, First, End, CBase;
}

/// <summary>Eight values of one micro-tile row (or of one operand fragment), kept in registers by the kernels.</summary>
internal struct Row8<T> where T : unmanaged
{
    public T C0, C1, C2, C3, C4, C5, C6, C7;
}

/// <summary>Four values of one micro-tile row (or of one operand fragment), kept in registers by the kernels.</summary>
internal struct Row4<T> where T : unmanaged
{
    public T C0, C1, C2, C3;
}

/// <summary>
/// Which elements of an operand tile one thread copies to shared memory. An operand is seen as [MN, K] (A as M×K,
/// B as N×K); the 256 threads of a group walk its unit-stride dimension (K when <c>strideK == 1</c>, else MN), so
/// global loads coalesce whichever way the operand is laid out. Every thread copies four elements, at
/// (<see cref="Mn"/> + p·<see cref="StepMn"/>, <see cref="K"/> + p·<see cref="StepK"/>), p = 0..3.
/// </summary>
internal struct TileLane
{
    public int Mn, K, StepMn, StepK;

    /// <summary>The lane of thread <paramref name="t"/> (0..255) for a <paramref name="tileMn"/> × <paramref name="tileK"/> tile (tileMn · tileK = 1024).</summary>
    public static TileLane Of(int t, int tileMn, int tileK, int strideK)
    {
        TileLane l;
        if (strideK == 1)
        {
            l.K = t % tileK;
            l.Mn = t / tileK;
            l.StepMn = GemmKernels.BlockThreads / tileK;
            l.StepK = 0;
        }
        else
        {
            l.Mn = t % tileMn;
            l.K = t / tileMn;
            l.StepMn = 0;
            l.StepK = GemmKernels.BlockThreads / tileMn;
        }
        return l;
    }
}
