using ILGPU;

namespace NeuralCore.Gpu.Kernels;

/// <summary>
/// Operands of a batched, strided GEMM: C[b] (+)= Σ_r A[b, r] · B[b, r] with A [M, K], B [K, N], C [M, N].
/// Every matrix is addressed by explicit strides, so transposed or broadcast (batch stride 0) operands need no
/// copy; the optional reduction index r sums several products into one output (the batch of a convolution's
/// weight gradient). With <c>RowBias</c> set, bias[BiasOffset + row·BiasStride] is added to each result as it is
/// stored (a convolution's bias per output channel).
/// </summary>
internal struct GemmArgs
{
    public int M, N, K, Reduce, Accumulate;
    public int RowBias, BiasOffset, BiasStride;
    public int AOffset, ABatch, AReduce, ARow, AInner;
    public int BOffset, BBatch, BReduce, BInner, BCol;
    public int COffset, CBatch, CRow, CCol;
}

/// <summary>
/// Shared-memory tiled GEMM. A group of T×T threads computes a T×T tile of C; for each K-step it stages a
/// T×T tile of A and of B in shared memory (rows padded by one element so column accesses avoid bank
/// conflicts), then every thread accumulates its dot product from shared memory. Tile loads are coalesced
/// whichever way an operand is laid out: threads adjacent in X walk the operand's unit-stride dimension
/// (K for a row-major A, M for a transposed one). Out-of-range rows and columns load zeros, so any M, N, K works.
/// </summary>
internal static class GemmKernels
{
    /// <summary>Largest tile side (static shared memory is sized for it); the launch chooses T ≤ this.</summary>
    public const int MaxTile = 16;

    const int Pitch = MaxTile + 1;

    public static void Tiled<T, N>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, ArrayView<T> bias, GemmArgs g)
        where T : unmanaged where N : struct, INumeric<T>
    {
        var n = default(N);
        var tileA = SharedMemory.Allocate<T>(MaxTile * Pitch);
        var tileB = SharedMemory.Allocate<T>(MaxTile * Pitch);
        int ts = Group.DimX, tx = Group.IdxX, ty = Group.IdxY;
        int rowBase = Grid.IdxY * ts, colBase = Grid.IdxX * ts, batch = Grid.IdxZ;
        bool aAlongK = g.AInner == 1;
        bool bAlongN = g.BCol == 1;
        int am = aAlongK ? ty : tx, ak = aAlongK ? tx : ty;
        int bk = bAlongN ? ty : tx, bn = bAlongN ? tx : ty;
        T acc = n.Zero;
        for (int r = 0; r < g.Reduce; r++)
        {
            int aBase = g.AOffset + batch * g.ABatch + r * g.AReduce;
            int bBase = g.BOffset + batch * g.BBatch + r * g.BReduce;
            for (int k0 = 0; k0 < g.K; k0 += ts)
            {
                int gm = rowBase + am, gka = k0 + ak;
                tileA[am * Pitch + ak] = gm < g.M && gka < g.K ? a[aBase + gm * g.ARow + gka * g.AInner] : n.Zero;
                int gkb = k0 + bk, gn = colBase + bn;
                tileB[bk * Pitch + bn] = gkb < g.K && gn < g.N ? b[bBase + gkb * g.BInner + gn * g.BCol] : n.Zero;
                Group.Barrier();
                for (int k = 0; k < ts; k++)
                    acc = n.Add(acc, n.Mul(tileA[ty * Pitch + k], tileB[k * Pitch + tx]));
                Group.Barrier();
            }
        }
        int row = rowBase + ty, col = colBase + tx;
        if (row < g.M && col < g.N)
        {
            int at = g.COffset + batch * g.CBatch + row * g.CRow + col * g.CCol;
            T result = g.Accumulate != 0 ? n.Add(c[at], acc) : acc;
            c[at] = g.RowBias != 0 ? n.Add(result, bias[g.BiasOffset + row * g.BiasStride]) : result;
        }
    }
}
