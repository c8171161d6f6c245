using System.Runtime.CompilerServices;
using ILGPU;

namespace NeuralCore.Gpu.Kernels;

/// <summary>
/// GEMM kernels. Out-of-range rows, columns and K-slices load zeros, so any M, N, K works; tile loads are coalesced
/// whichever way an operand is laid out (threads adjacent in the group walk the operand's unit-stride dimension:
/// K for a row-major A, M for a transposed one), so transposed operands need no copy.
/// <list type="bullet">
/// <item><see cref="Tiled{T, N}"/>: a group of T×T threads computes a T×T tile of C, one output per thread, staging
/// T×T tiles of A and B in padded shared memory. Runs with any group size (T ≤ 16); used for small products and on
/// accelerators whose groups cannot hold 256 threads.</item>
/// <item><see cref="Blocked8x8{T, N}"/> and <see cref="Blocked4x4{T, N}"/>: register-blocked kernels. A group of
/// 16×16 threads computes a 128×128 (64×64) tile of C, each thread an 8×8 (4×4) micro-tile held in registers; per
/// step a BK = 8 (16) slice of A and of B is staged in shared memory, both stored K-major (A transposed on the way
/// in) so each thread reads its micro-column of A and micro-row of B with 8 + 8 (4 + 4) scalar loads and then
/// issues 64 (16) multiply-adds. A thread's rows are ty + 16·i and its columns tx + 16·j: the 16 threads of a
/// half-warp read 16 consecutive shared words (no bank conflicts) and write 16 consecutive columns of C. The
/// next slice is fetched from global memory into registers while the current one is multiplied, then stored into the
/// second of two shared buffers: one barrier per slice.</item>
/// </list>
/// </summary>
internal static class GemmKernels
{
    /// <summary>Largest tile side (static shared memory is sized for it); the launch chooses T ≤ this.</summary>
    public const int MaxTile = 16;

    const int Pitch = MaxTile + 1;

    /// <summary>Threads per group of the register-blocked kernels (16 × 16).</summary>
    public const int BlockThreads = 256;

    /// <summary>Side of the register-blocked kernels' thread grid (<see cref="BlockThreads"/> = side²).</summary>
    public const int BlockSide = 16;

    /// <summary>C tile side of <see cref="Blocked8x8{T, N}"/>.</summary>
    public const int Tile8x8 = 128;

    /// <summary>C tile side of <see cref="Blocked4x4{T, N}"/>.</summary>
    public const int Tile4x4 = 64;

    /// <summary>K depth of one shared-memory slice of <see cref="Blocked8x8{T, N}"/>.</summary>
    public const int Bk8x8 = 8;

    /// <summary>K depth of one shared-memory slice of <see cref="Blocked4x4{T, N}"/>.</summary>
    public const int Bk4x4 = 16;

    // Shared rows of the register-blocked kernels are padded by four elements: the K-major stores of an operand
    // whose K dimension is contiguous then hit distinct banks.
    public const int Pad = 4;

    public static void Tiled<T, N>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, GemmArgs g)
        where T : unmanaged where N : struct, INumeric<T>
    {
        var n = default(N);
        var tileA = SharedMemory.Allocate<T>(MaxTile * Pitch);
        var tileB = SharedMemory.Allocate<T>(MaxTile * Pitch);
        int ts = Group.DimX, tx = Group.IdxX, ty = Group.IdxY;
        int rowBase = Grid.IdxY * ts, colBase = Grid.IdxX * ts;
        var z = SliceOf(g, ts);
        bool aAlongK = g.AInner == 1;
        bool bAlongN = g.BCol == 1;
        int am = aAlongK ? ty : tx, ak = aAlongK ? tx : ty;
        int bk = bAlongN ? ty : tx, bn = bAlongN ? tx : ty;
        T acc = n.Zero;
        for (int tile = z.First; tile < z.End; tile++)
        {
            int r = tile / z.KTiles, k0 = (tile - r * z.KTiles) * ts;
            int aBase = g.AOffset + z.Batch * g.ABatch + r * g.AReduce;
            int bBase = g.BOffset + z.Batch * g.BBatch + r * g.BReduce;
            int gm = rowBase + am, gka = k0 + ak;
            tileA[am * Pitch + ak] = gm < g.M && gka < g.K ? a[aBase + gm * g.ARow + gka * g.AInner] : n.Zero;
            int gkb = k0 + bk, gn = colBase + bn;
            tileB[bk * Pitch + bn] = gkb < g.K && gn < g.N ? b[bBase + gkb * g.BInner + gn * g.BCol] : n.Zero;
            Group.Barrier();
            for (int k = 0; k < ts; k++)
                acc = n.Add(acc, n.Mul(tileA[ty * Pitch + k], tileB[k * Pitch + tx]));
            Group.Barrier();
        }
        int row = rowBase + ty, col = colBase + tx;
        if (row < g.M && col < g.N)
        {
            int at = z.CBase + row * g.CRow + col * g.CCol;
            c[at] = g.Accumulate != 0 ? n.Add(c[at], acc) : acc;
        }
    }

    /// <summary>Register-blocked GEMM: 128×128 tile of C per group of 16×16 threads, 8×8 outputs per thread, BK = 8.</summary>
    public static void Blocked8x8<T, N>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, GemmArgs g)
        where T : unmanaged where N : struct, INumeric<T>
    {
        const int Tile = Tile8x8, Bk = Bk8x8, P = Tile + Pad;
        const int Buffer = Bk * P;
        var sa = SharedMemory.Allocate<T>(2 * Buffer);
        var sb = SharedMemory.Allocate<T>(2 * Buffer);
        int tx = Group.IdxX, ty = Group.IdxY;
        int rowBase = Grid.IdxY * Tile, colBase = Grid.IdxX * Tile;
        var la = TileLane.Of(ty * BlockSide + tx, Tile, Bk, g.AInner);
        var lb = TileLane.Of(ty * BlockSide + tx, Tile, Bk, g.BInner);
        var z = SliceOf(g, Bk);
        int kTiles = z.KTiles;
        int aBatch = g.AOffset + z.Batch * g.ABatch, bBatch = g.BOffset + z.Batch * g.BBatch;
        Row4<T> ra = default, rb = default;
        if (z.First < z.End)
        {
            ra = LoadA(a, g, aBatch, z.First, kTiles, Bk, rowBase, la);
            rb = LoadB(b, g, bBatch, z.First, kTiles, Bk, colBase, lb);
            StoreTile(sa, P, la, ra);
            StoreTile(sb, P, lb, rb);
        }
        Group.Barrier();
        int cur = 0;
        Row8<T> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        for (int tile = z.First; tile < z.End; tile++)
        {
            // Double buffer: the next slice goes from registers into the other buffer while this one is read, so
            // one barrier per slice suffices (the other buffer was last read before the previous barrier).
            bool more = tile + 1 < z.End;
            if (more)
            {
                ra = LoadA(a, g, aBatch, tile + 1, kTiles, Bk, rowBase, la);
                rb = LoadB(b, g, bBatch, tile + 1, kTiles, Bk, colBase, lb);
            }
            for (int k = 0; k < Bk; k++)
            {
                // Views at this thread's first element: the loads below then use constant offsets from one address.
                var ak = sa.SubView(cur + k * P + ty, Tile - ty);
                var bk = sb.SubView(cur + k * P + tx, Tile - tx);
                Row8<T> bf;
                bf.C0 = bk[0];
                bf.C1 = bk[16];
                bf.C2 = bk[32];
                bf.C3 = bk[48];
                bf.C4 = bk[64];
                bf.C5 = bk[80];
                bf.C6 = bk[96];
                bf.C7 = bk[112];
                Fma<T, N>(ref c0, ak[0], bf);
                Fma<T, N>(ref c1, ak[16], bf);
                Fma<T, N>(ref c2, ak[32], bf);
                Fma<T, N>(ref c3, ak[48], bf);
                Fma<T, N>(ref c4, ak[64], bf);
                Fma<T, N>(ref c5, ak[80], bf);
                Fma<T, N>(ref c6, ak[96], bf);
                Fma<T, N>(ref c7, ak[112], bf);
            }
            if (more)
            {
                StoreTile(sa.SubView(Buffer - cur, Buffer), P, la, ra);
                StoreTile(sb.SubView(Buffer - cur, Buffer), P, lb, rb);
            }
            Group.Barrier();
            cur = Buffer - cur;
        }
        int cBase = z.CBase, row = rowBase + ty, col = colBase + tx;
        StoreRow<T, N>(c, g, cBase, row, col, c0);
        StoreRow<T, N>(c, g, cBase, row + 16, col, c1);
        StoreRow<T, N>(c, g, cBase, row + 32, col, c2);
        StoreRow<T, N>(c, g, cBase, row + 48, col, c3);
        StoreRow<T, N>(c, g, cBase, row + 64, col, c4);
        StoreRow<T, N>(c, g, cBase, row + 80, col, c5);
        StoreRow<T, N>(c, g, cBase, row + 96, col, c6);
        StoreRow<T, N>(c, g, cBase, row + 112, col, c7);
    }

    /// <summary>Register-blocked GEMM: 64×64 tile of C per group of 16×16 threads, 4×4 outputs per thread, BK = 16.</summary>
    public static void Blocked4x4<T, N>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, GemmArgs g)
        where T : unmanaged where N : struct, INumeric<T>
    {
        const int Tile = Tile4x4, Bk = Bk4x4, P = Tile + Pad;
        const int Buffer = Bk * P;
        var sa = SharedMemory.Allocate<T>(2 * Buffer);
        var sb = SharedMemory.Allocate<T>(2 * Buffer);
        int tx = Group.IdxX, ty = Group.IdxY;
        int rowBase = Grid.IdxY * Tile, colBase = Grid.IdxX * Tile;
        var la = TileLane.Of(ty * BlockSide + tx, Tile, Bk, g.AInner);
        var lb = TileLane.Of(ty * BlockSide + tx, Tile, Bk, g.BInner);
        var z = SliceOf(g, Bk);
        int kTiles = z.KTiles;
        int aBatch = g.AOffset + z.Batch * g.ABatch, bBatch = g.BOffset + z.Batch * g.BBatch;
        Row4<T> ra = default, rb = default;
        if (z.First < z.End)
        {
            ra = LoadA(a, g, aBatch, z.First, kTiles, Bk, rowBase, la);
            rb = LoadB(b, g, bBatch, z.First, kTiles, Bk, colBase, lb);
            StoreTile(sa, P, la, ra);
            StoreTile(sb, P, lb, rb);
        }
        Group.Barrier();
        int cur = 0;
        Row4<T> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int tile = z.First; tile < z.End; tile++)
        {
            // Double buffer: the next slice goes from registers into the other buffer while this one is read, so
            // one barrier per slice suffices (the other buffer was last read before the previous barrier).
            bool more = tile + 1 < z.End;
            if (more)
            {
                ra = LoadA(a, g, aBatch, tile + 1, kTiles, Bk, rowBase, la);
                rb = LoadB(b, g, bBatch, tile + 1, kTiles, Bk, colBase, lb);
            }
            for (int k = 0; k < Bk; k++)
            {
                // Views at this thread's first element: the loads below then use constant offsets from one address.
                var ak = sa.SubView(cur + k * P + ty, Tile - ty);
                var bk = sb.SubView(cur + k * P + tx, Tile - tx);
                Row4<T> bf;
                bf.C0 = bk[0];
                bf.C1 = bk[16];
                bf.C2 = bk[32];
                bf.C3 = bk[48];
                Fma<T, N>(ref c0, ak[0], bf);
                Fma<T, N>(ref c1, ak[16], bf);
                Fma<T, N>(ref c2, ak[32], bf);
                Fma<T, N>(ref c3, ak[48], bf);
            }
            if (more)
            {
                StoreTile(sa.SubView(Buffer - cur, Buffer), P, la, ra);
                StoreTile(sb.SubView(Buffer - cur, Buffer), P, lb, rb);
            }
            Group.Barrier();
            cur = Buffer - cur;
        }
        int cBase = z.CBase, row = rowBase + ty, col = colBase + tx;
        StoreRow<T, N>(c, g, cBase, row, col, c0);
        StoreRow<T, N>(c, g, cBase, row + 16, col, c1);
        StoreRow<T, N>(c, g, cBase, row + 32, col, c2);
        StoreRow<T, N>(c, g, cBase, row + 48, col, c3);
    }

    // This group's batch, its K slice [First, End) of the tile sequence (kTiles per reduction index) and where its C
    // (or, split, its partial C) starts.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static KSlice SliceOf(in GemmArgs g, int bk)
    {
        KSlice z;
        int slice = Grid.IdxZ % g.Slices;
        z.Batch = Grid.IdxZ / g.Slices;
        z.KTiles = (g.K + bk - 1) / bk;
        z.First = slice * g.SliceTiles;
        z.End = Math.Min(z.KTiles * g.Reduce, z.First + g.SliceTiles);
        z.CBase = g.COffset + z.Batch * g.CBatch + slice * g.CSlice;
        return z;
    }

    // The slice `tile` of A (reduction index tile / kTiles, K offset (tile % kTiles)·bk) this thread copies.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Row4<T> LoadA<T>(ArrayView<T> a, in GemmArgs g, int aBatch, int tile, int kTiles, int bk, int rowBase, in TileLane l)
        where T : unmanaged
    {
        int r = tile / kTiles, k0 = (tile - r * kTiles) * bk;
        return LoadTile(a, aBatch + r * g.AReduce, g.ARow, g.AInner, g.M, g.K, rowBase, k0, l);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Row4<T> LoadB<T>(ArrayView<T> b, in GemmArgs g, int bBatch, int tile, int kTiles, int bk, int colBase, in TileLane l)
        where T : unmanaged
    {
        int r = tile / kTiles, k0 = (tile - r * kTiles) * bk;
        return LoadTile(b, bBatch + r * g.BReduce, g.BCol, g.BInner, g.N, g.K, colBase, k0, l);
    }

    // Four elements of an operand seen as [MN, K] (strides strideMn, strideK; zero outside extentMn × extentK).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Row4<T> LoadTile<T>(ArrayView<T> src, int offset, int strideMn, int strideK, int extentMn, int extentK, int mn0, int k0, in TileLane l)
        where T : unmanaged
    {
        int mn = mn0 + l.Mn, k = k0 + l.K;
        Row4<T> v;
        v.C0 = Fetch(src, offset, strideMn, strideK, extentMn, extentK, mn, k);
        v.C1 = Fetch(src, offset, strideMn, strideK, extentMn, extentK, mn + l.StepMn, k + l.StepK);
        v.C2 = Fetch(src, offset, strideMn, strideK, extentMn, extentK, mn + 2 * l.StepMn, k + 2 * l.StepK);
        v.C3 = Fetch(src, offset, strideMn, strideK, extentMn, extentK, mn + 3 * l.StepMn, k + 3 * l.StepK);
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T Fetch<T>(ArrayView<T> src, int offset, int strideMn, int strideK, int extentMn, int extentK, int mn, int k)
        where T : unmanaged =>
        mn < extentMn && k < extentK ? src[offset + mn * strideMn + k * strideK] : default;

    // Shared tiles are K-major: element (mn, k) at k·pitch + mn.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreTile<T>(ArrayView<T> s, int pitch, in TileLane l, in Row4<T> v) where T : unmanaged
    {
        s[l.K * pitch + l.Mn] = v.C0;
        s[(l.K + l.StepK) * pitch + l.Mn + l.StepMn] = v.C1;
        s[(l.K + 2 * l.StepK) * pitch + l.Mn + 2 * l.StepMn] = v.C2;
        s[(l.K + 3 * l.StepK) * pitch + l.Mn + 3 * l.StepMn] = v.C3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Fma<T, N>(ref Row8<T> acc, T a, in Row8<T> b) where T : unmanaged where N : struct, INumeric<T>
    {
        var n = default(N);
        acc.C0 = n.Add(acc.C0, n.Mul(a, b.C0));
        acc.C1 = n.Add(acc.C1, n.Mul(a, b.C1));
        acc.C2 = n.Add(acc.C2, n.Mul(a, b.C2));
        acc.C3 = n.Add(acc.C3, n.Mul(a, b.C3));
        acc.C4 = n.Add(acc.C4, n.Mul(a, b.C4));
        acc.C5 = n.Add(acc.C5, n.Mul(a, b.C5));
        acc.C6 = n.Add(acc.C6, n.Mul(a, b.C6));
        acc.C7 = n.Add(acc.C7, n.Mul(a, b.C7));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Fma<T, N>(ref Row4<T> acc, T a, in Row4<T> b) where T : unmanaged where N : struct, INumeric<T>
    {
        var n = default(N);
        acc.C0 = n.Add(acc.C0, n.Mul(a, b.C0));
        acc.C1 = n.Add(acc.C1, n.Mul(a, b.C1));
        acc.C2 = n.Add(acc.C2, n.Mul(a, b.C2));
        acc.C3 = n.Add(acc.C3, n.Mul(a, b.C3));
    }

    // One micro-tile row: columns col + 16·j of C's row `row` (each written only when inside C).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreRow<T, N>(ArrayView<T> c, in GemmArgs g, int cBase, int row, int col, in Row8<T> v)
        where T : unmanaged where N : struct, INumeric<T>
    {
        if (row >= g.M) return;
        int at = cBase + row * g.CRow;
        Put<T, N>(c, g, at, col, v.C0);
        Put<T, N>(c, g, at, col + 16, v.C1);
        Put<T, N>(c, g, at, col + 32, v.C2);
        Put<T, N>(c, g, at, col + 48, v.C3);
        Put<T, N>(c, g, at, col + 64, v.C4);
        Put<T, N>(c, g, at, col + 80, v.C5);
        Put<T, N>(c, g, at, col + 96, v.C6);
        Put<T, N>(c, g, at, col + 112, v.C7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreRow<T, N>(ArrayView<T> c, in GemmArgs g, int cBase, int row, int col, in Row4<T> v)
        where T : unmanaged where N : struct, INumeric<T>
    {
        if (row >= g.M) return;
        int at = cBase + row * g.CRow;
        Put<T, N>(c, g, at, col, v.C0);
        Put<T, N>(c, g, at, col + 16, v.C1);
        Put<T, N>(c, g, at, col + 32, v.C2);
        Put<T, N>(c, g, at, col + 48, v.C3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Put<T, N>(ArrayView<T> c, in GemmArgs g, int rowAt, int col, T v) where T : unmanaged where N : struct, INumeric<T>
    {
        if (col >= g.N) return;
        int at = rowAt + col * g.CCol;
        c[at] = g.Accumulate != 0 ? default(N).Add(c[at], v) : v;
    }
}
