using System.Numerics;
using System.Runtime.CompilerServices;

namespace NeuralCore.Backends.Cpu;

/// <summary>
/// Register-blocked GEMM micro-kernel: computes one MR x NR tile of C (MR = <c>TOps.Rows</c>,
/// NR = 2 * <c>TOps.Lanes</c>) from a packed A micro-panel and a packed B micro-panel.
/// </summary>
/// <remarks>
/// <para>
/// Vector layout: each row of the C tile is held in two vector accumulators (columns [0, L) and [L, 2L)),
/// so the tile lives entirely in registers (2*MR accumulators). Per step p of the k loop the kernel loads
/// the two B vectors once (B packed as kc rows of NR contiguous elements) and, for every row r, broadcasts
/// the scalar A[r, p] (A packed as kc columns of MR contiguous elements) and issues two FMAs. That gives
/// 2*MR independent FMA chains (16 with AVX-512), enough to cover the FMA latency (4 cycles) times the two
/// FMA pipes, and 2 + MR loads (the broadcasts are plain memory-operand loads) per 2*MR FMAs, well within
/// the load bandwidth. The generated AVX-512 loop is 2 vmovups + 8 vbroadcastss + 16 vfmadd231ps with no
/// spills.
/// </para>
/// <para>
/// MR = 8 for AVX-512 was picked by measurement over 8/12/14 (12 and 14 still fit the 32 zmm registers):
/// per-tile throughput is the same, but 8 divides the common power-of-two sizes, so no padded rows are
/// wasted and the row blocks split evenly between threads.
/// </para>
/// <para>
/// The source is written for the maximum MR (8); rows beyond <c>TOps.Rows</c> are guarded by
/// <c>if (TOps.Rows &gt; r)</c>, which the JIT folds to a constant per instantiation, so the unused
/// accumulators and their FMAs disappear entirely.
/// </para>
/// <para>
/// Numerics: every C element is accumulated as acc = fma(a[r,p], b[p,j], acc) for p ascending within the
/// k-block, starting from +0. The write-back is C = alpha*acc (beta == 0, C not read) or
/// C = fma(beta, C, alpha*acc). <see cref="GemmDriver{T, TVec, TOps}"/> uses exactly the same scalar formula for
/// partial edge tiles, so an element's value never depends on whether it fell into a full or an edge tile,
/// nor on which thread computed it.
/// </para>
/// </remarks>
internal static unsafe class GemmMicroKernel
{
    /// <summary>Largest MR the kernel source supports.</summary>
    public const int MaxRows = 8;

    /// <summary>
    /// C[r*ldc + j] = alpha * sum_p a[p*MR + r] * b[p*NR + j] (+ beta * C[r*ldc + j] unless
    /// <paramref name="betaIsZero"/>), for r &lt; MR, j &lt; NR.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Compute<T, TVec, TOps>(int kc, T* a, T* b, T* c, nint ldc, T alpha, T beta, bool betaIsZero)
        where T : unmanaged
        where TVec : unmanaged
        where TOps : struct, IGemmSimd<T, TVec>
    {
        TVec c00 = TOps.Zero, c01 = TOps.Zero;
        TVec c10 = TOps.Zero, c11 = TOps.Zero;
        TVec c20 = TOps.Zero, c21 = TOps.Zero;
        TVec c30 = TOps.Zero, c31 = TOps.Zero;
        TVec c40 = TOps.Zero, c41 = TOps.Zero;
        TVec c50 = TOps.Zero, c51 = TOps.Zero;
        TVec c60 = TOps.Zero, c61 = TOps.Zero;
        TVec c70 = TOps.Zero, c71 = TOps.Zero;

        for (int p = 0; p < kc; p++)
        {
            TVec b0 = TOps.Load(b);
            TVec b1 = TOps.Load(b + TOps.Lanes);
            TVec x;
            x = TOps.Broadcast(a[0]);
            c00 = TOps.FusedMultiplyAdd(x, b0, c00);
            c01 = TOps.FusedMultiplyAdd(x, b1, c01);
            x = TOps.Broadcast(a[1]);
            c10 = TOps.FusedMultiplyAdd(x, b0, c10);
            c11 = TOps.FusedMultiplyAdd(x, b1, c11);
            x = TOps.Broadcast(a[2]);
            c20 = TOps.FusedMultiplyAdd(x, b0, c20);
            c21 = TOps.FusedMultiplyAdd(x, b1, c21);
            x = TOps.Broadcast(a[3]);
            c30 = TOps.FusedMultiplyAdd(x, b0, c30);
            c31 = TOps.FusedMultiplyAdd(x, b1, c31);
            x = TOps.Broadcast(a[4]);
            c40 = TOps.FusedMultiplyAdd(x, b0, c40);
            c41 = TOps.FusedMultiplyAdd(x, b1, c41);
            x = TOps.Broadcast(a[5]);
            c50 = TOps.FusedMultiplyAdd(x, b0, c50);
            c51 = TOps.FusedMultiplyAdd(x, b1, c51);

            if (TOps.Rows > 6)
            {
                x = TOps.Broadcast(a[6]);
                c60 = TOps.FusedMultiplyAdd(x, b0, c60);
                c61 = TOps.FusedMultiplyAdd(x, b1, c61);
            }

            if (TOps.Rows > 7)
            {
                x = TOps.Broadcast(a[7]);
                c70 = TOps.FusedMultiplyAdd(x, b0, c70);
                c71 = TOps.FusedMultiplyAdd(x, b1, c71);
            }

            a += TOps.Rows;
            b += 2 * TOps.Lanes;
        }

        TVec va = TOps.Broadcast(alpha);
        TVec vb = TOps.Broadcast(beta);
        StoreRow<T, TVec, TOps>(c + (0 * ldc), c00, c01, va, vb, betaIsZero);
        StoreRow<T, TVec, TOps>(c + (1 * ldc), c10, c11, va, vb, betaIsZero);
        StoreRow<T, TVec, TOps>(c + (2 * ldc), c20, c21, va, vb, betaIsZero);
        StoreRow<T, TVec, TOps>(c + (3 * ldc), c30, c31, va, vb, betaIsZero);
        StoreRow<T, TVec, TOps>(c + (4 * ldc), c40, c41, va, vb, betaIsZero);
        StoreRow<T, TVec, TOps>(c + (5 * ldc), c50, c51, va, vb, betaIsZero);

        if (TOps.Rows > 6)
        {
            StoreRow<T, TVec, TOps>(c + (6 * ldc), c60, c61, va, vb, betaIsZero);
        }

        if (TOps.Rows > 7)
        {
            StoreRow<T, TVec, TOps>(c + (7 * ldc), c70, c71, va, vb, betaIsZero);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<T, TVec, TOps>(T* c, TVec acc0, TVec acc1, TVec alpha, TVec beta, bool betaIsZero)
        where T : unmanaged
        where TVec : unmanaged
        where TOps : struct, IGemmSimd<T, TVec>
    {
        T* c1 = c + TOps.Lanes;
        if (betaIsZero)
        {
            // beta == 0: C is write-only, so NaN/Inf already in C cannot leak into the result.
            TOps.Store(c, TOps.Multiply(alpha, acc0));
            TOps.Store(c1, TOps.Multiply(alpha, acc1));
        }
        else
        {
            TOps.Store(c, TOps.FusedMultiplyAdd(beta, TOps.Load(c), TOps.Multiply(alpha, acc0)));
            TOps.Store(c1, TOps.FusedMultiplyAdd(beta, TOps.Load(c1), TOps.Multiply(alpha, acc1)));
        }
    }
}
