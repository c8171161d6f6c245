using NeuralCore.Gpu.Kernels;

namespace NeuralCore.Gpu;

/// <summary>
/// How a GEMM runs on a device with a given number of multiprocessors: which kernel (<see cref="ChooseKernel"/>)
/// and into how many K slices the reduction is split (<see cref="ChooseSplits"/>). Pure functions of the shape and
/// the device, so tests can ask what a large GPU would do.
/// </summary>
internal static class GemmPlanner
{
    /// <summary>Most slices one product is split into (the summing pass reads this many partials per output).</summary>
    public const int MaxSplits = 64;

    /// <summary>
    /// Fewest products (K × reduction count) a slice sums: below this the partials' extra memory traffic and the
    /// summing launch cost more than the idle multiprocessors.
    /// </summary>
    public const int MinSliceLength = 256;

    /// <summary>
    /// The kernel for <paramref name="batch"/> M×N outputs: the simple tiled kernel when a side is under 32 (a 64-wide
    /// tile would mostly idle) or groups cannot hold 256 threads; otherwise the 128×128 register-blocked kernel when it
    /// still yields two groups per multiprocessor, else the 64×64 one.
    /// </summary>
    public static GemmKernel ChooseKernel(int multiprocessors, bool canRunBlocked, int m, int n, int batch)
    {
        if (!canRunBlocked || m < 32 || n < 32) return GemmKernel.Tiled;
        long big = Tiles(m, GemmKernels.Tile8x8) * Tiles(n, GemmKernels.Tile8x8) * batch;
        return big >= Target(multiprocessors) ? GemmKernel.Blocked8x8 : GemmKernel.Blocked4x4;
    }

    /// <summary>
    /// The number of K slices (split-K) for a product run by <paramref name="kernel"/>: 1 when its output tiles already
    /// give two groups per multiprocessor; otherwise enough slices to reach that, as long as each slice still sums
    /// <see cref="MinSliceLength"/> products, at most <see cref="MaxSplits"/>, and no slice is empty.
    /// </summary>
    /// <param name="multiprocessors">The device's multiprocessors (streaming multiprocessors on CUDA).</param>
    /// <param name="kernel">The kernel chosen for the product.</param>
    /// <param name="tiledSide">Side of <see cref="GemmKernel.Tiled"/>'s thread tile on the device.</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">The inner dimension.</param>
    /// <param name="reduce">The reduction count (products summed per output, each over K).</param>
    /// <param name="batch">Independent products.</param>
    public static int ChooseSplits(int multiprocessors, GemmKernel kernel, int tiledSide, int m, int n, int k, int reduce, int batch)
    {
        if (m <= 0 || n <= 0 || batch <= 0) return 1;
        int tile = OutputTile(kernel, tiledSide);
        long groups = Tiles(m, tile) * Tiles(n, tile) * batch;
        long target = Target(multiprocessors);
        if (groups >= target) return 1;
        long wanted = (target + groups - 1) / groups;
        long byLength = (long)k * reduce / MinSliceLength;
        return Normalize(Math.Min(Math.Min(wanted, byLength), MaxSplits), KTiles(kernel, tiledSide, k, reduce));
    }

    /// <summary>
    /// <paramref name="splits"/> made usable for <paramref name="tiles"/> K tiles: at least 1, at most
    /// <see cref="MaxSplits"/>, and as many as equal slices of ⌈tiles / splits⌉ tiles need (none empty).
    /// </summary>
    public static int Normalize(long splits, long tiles)
    {
        if (splits < 2 || tiles < 2) return 1;
        long per = SliceTiles(tiles, Math.Min(splits, MaxSplits));
        return (int)((tiles + per - 1) / per);
    }

    /// <summary>K tiles per slice when <paramref name="tiles"/> are split <paramref name="splits"/> ways.</summary>
    public static long SliceTiles(long tiles, long splits) => (tiles + splits - 1) / splits;

    /// <summary>K tiles the kernel walks per output tile: ⌈K / BK⌉ per reduction index.</summary>
    public static long KTiles(GemmKernel kernel, int tiledSide, int k, int reduce) => Tiles(k, KTile(kernel, tiledSide)) * reduce;

    /// <summary>Side of the C tile one group of <paramref name="kernel"/> computes.</summary>
    public static int OutputTile(GemmKernel kernel, int tiledSide) => kernel switch
    {
        GemmKernel.Blocked8x8 => GemmKernels.Tile8x8,
        GemmKernel.Blocked4x4 => GemmKernels.Tile4x4,
        _ => tiledSide,
    };

    /// <summary>The K depth of one tile step of <paramref name="kernel"/> (its BK).</summary>
    public static int KTile(GemmKernel kernel, int tiledSide) => kernel switch
    {
        GemmKernel.Blocked8x8 => GemmKernels.Bk8x8,
        GemmKernel.Blocked4x4 => GemmKernels.Bk4x4,
        _ => tiledSide,
    };

    /// <summary>
    /// Static shared memory one group of <paramref name="kernel"/> uses for elements of <paramref name="elementSize"/>
    /// bytes: two double-buffered K slices of A and B for the register-blocked kernels (33,792 and 34,816 bytes for
    /// 8-byte types, more than the 32 KB some devices give a group), two padded tiles for the tiled one.
    /// </summary>
    public static int SharedBytes(GemmKernel kernel, int elementSize) => kernel switch
    {
        GemmKernel.Blocked8x8 => 2 * 2 * GemmKernels.Bk8x8 * (GemmKernels.Tile8x8 + GemmKernels.Pad) * elementSize,
        GemmKernel.Blocked4x4 => 2 * 2 * GemmKernels.Bk4x4 * (GemmKernels.Tile4x4 + GemmKernels.Pad) * elementSize,
        _ => 2 * GemmKernels.MaxTile * (GemmKernels.MaxTile + 1) * elementSize,
    };

    // Two groups per multiprocessor: enough to hide one group's barrier waits behind another's work.
    static long Target(int multiprocessors) => 2L * Math.Max(1, multiprocessors);

    static long Tiles(int extent, int tile) => (extent + tile - 1) / tile;
}
