using ILGPU;
using ILGPU.Runtime;
using NeuralCore.Backends;
using NeuralCore.Gpu.Kernels;

namespace NeuralCore.Gpu;

public sealed partial class IlgpuBackend
{
    const int GemmMaxTile = GemmKernels.MaxTile;

    /// <summary>Most batches one launch covers (CUDA's grid Z limit); larger batches launch in slices.</summary>
    const int MaxGridZ = 65535;

    /// <summary>
    /// Most row tiles one GEMM launch covers (grid Y; CUDA allows 65,535): a product with more rows (over 1M rows for
    /// 16-row tiles, e.g. 2M samples through a Linear layer) launches once per chunk of rows, with A's and C's offsets
    /// moved to the chunk. Settable so that tests cross the limit with small products.
    /// </summary>
    internal int MaxGridY { get; set; } = 65535;

    /// <summary>GEMM kernel launches so far (tests count the row chunks).</summary>
    internal long GemmLaunches { get; private set; }

    /// <inheritdoc />
    public void MatMul(BufferView x, BufferView y, BufferView destination)
    {
        switch (x.DType)
        {
            case DType.Float32: MatMulTyped<float, F32>(x, y, destination); break;
            case DType.Float64: MatMulTyped<double, F64>(x, y, destination); break;
            case DType.Int32: MatMulTyped<int, I32>(x, y, destination); break;
            case DType.Int64: MatMulTyped<long, I64>(x, y, destination); break;
            case DType.UInt8: MatMulTyped<byte, U8>(x, y, destination); break;
            default: throw new ArgumentException("MatMul: not defined for Bool tensors.");
        }
    }

    void MatMulTyped<T, N>(BufferView x, BufferView y, BufferView d) where T : unmanaged where N : struct, INumeric<T>
    {
        int batch = d.Shape[0], m = d.Shape[1], n = d.Shape[2], k = x.Shape[2];
        var g = new GemmArgs
        {
            M = m, N = n, K = k, Reduce = 1,
            AOffset = x.Offset, ABatch = x.Strides[0], ARow = x.Strides[1], AInner = x.Strides[2],
            BOffset = y.Offset, BBatch = y.Strides[0], BInner = y.Strides[1], BCol = y.Strides[2],
            COffset = d.Offset, CBatch = d.Strides[0], CRow = d.Strides[1], CCol = d.Strides[2],
        };
        Gemm<T, N>(x, y, d, g, batch);
    }

    /// <summary>
    /// Forces one GEMM kernel for every product (tests run the same cases through each); null lets
    /// <see cref="ChooseGemm"/> decide per launch. A register-blocked kernel is used only where groups hold 256 threads.
    /// </summary>
    internal GemmKernel? GemmOverride { get; set; }

    /// <summary>Whether the accelerator runs groups of 256 threads (needed by the register-blocked kernels).</summary>
    internal bool CanRunBlockedGemm => Accelerator.MaxNumThreadsPerGroup >= GemmKernels.BlockThreads;

    /// <summary>
    /// Forces the number of K slices (split-K) of every product (tests run the same cases split and unsplit); null
    /// lets <see cref="ChooseSplits"/> decide per launch. The count is still capped so that no slice is empty.
    /// </summary>
    internal int? SplitOverride { get; set; }

    /// <summary>
    /// The kernel for a product of <paramref name="batch"/> M×N outputs of <paramref name="elementSize"/>-byte elements
    /// (<see cref="GemmPlanner.ChooseKernel"/>), unless <see cref="GemmOverride"/> forces one. A register-blocked kernel
    /// whose shared memory exceeds the device's per-group limit (<see cref="GemmPlanner.SharedBytes"/>: 8-byte types
    /// need 33–34 KB, some devices have 32 KB) gives way to the 64×64 one, then to the tiled kernel.
    /// </summary>
    internal GemmKernel ChooseGemm(int m, int n, int batch, int elementSize = 4)
    {
        if (!CanRunBlockedGemm) return GemmKernel.Tiled;
        var choice = GemmOverride ?? GemmPlanner.ChooseKernel(Accelerator.NumMultiprocessors, true, m, n, batch);
        if (choice == GemmKernel.Blocked8x8 && !FitsShared(choice, elementSize)) choice = GemmKernel.Blocked4x4;
        if (choice == GemmKernel.Blocked4x4 && !FitsShared(choice, elementSize)) choice = GemmKernel.Tiled;
        return choice;
    }

    /// <summary>
    /// Shared memory per group the device offers (ILGPU's figure; the CUDA default of 48 KB where it reports none).
    /// Settable so that tests can pose as a device with less.
    /// </summary>
    internal long SharedMemoryPerGroup
    {
        get => sharedMemoryPerGroup ?? (Accelerator.MaxSharedMemoryPerGroup > 0 ? Accelerator.MaxSharedMemoryPerGroup : 48 * 1024);
        set => sharedMemoryPerGroup = value;
    }

    long? sharedMemoryPerGroup;

    bool FitsShared(GemmKernel kernel, int elementSize) => GemmPlanner.SharedBytes(kernel, elementSize) <= SharedMemoryPerGroup;

    /// <summary>
    /// The number of K slices for a product run by <paramref name="kernel"/> on this device
    /// (<see cref="GemmPlanner.ChooseSplits"/>), or <see cref="SplitOverride"/>'s, made usable for the product.
    /// </summary>
    internal int ChooseSplits(GemmKernel kernel, int m, int n, int k, int reduce, int batch)
    {
        if (SplitOverride is { } forced)
            return GemmPlanner.Normalize(forced, GemmPlanner.KTiles(kernel, TileSize, k, reduce));
        return GemmPlanner.ChooseSplits(Accelerator.NumMultiprocessors, kernel, TileSize, m, n, k, reduce, batch);
    }

    /// <summary>Runs one strided, batched GEMM as described by <paramref name="g"/> on operands of any numeric dtype.</summary>
    internal void Gemm(BufferView a, BufferView b, BufferView c, GemmArgs g, int batch)
    {
        switch (c.DType)
        {
            case DType.Float32: Gemm<float, F32>(a, b, c, g, batch); break;
            case DType.Float64: Gemm<double, F64>(a, b, c, g, batch); break;
            case DType.Int32: Gemm<int, I32>(a, b, c, g, batch); break;
            case DType.Int64: Gemm<long, I64>(a, b, c, g, batch); break;
            case DType.UInt8: Gemm<byte, U8>(a, b, c, g, batch); break;
            default: throw new ArgumentException($"Gemm: not defined for {c.DType} operands.");
        }
    }

    /// <summary>
    /// Launches the GEMM kernel <see cref="ChooseGemm"/> picks over <paramref name="batch"/> batches (operands given by
    /// their storages). When <see cref="ChooseSplits"/> splits the reduction, each slice's groups write a partial C
    /// into a pooled workspace and <see cref="SplitKKernels.SumSlices{T, N}"/> sums them into C in slice order.
    /// </summary>
    void Gemm<T, N>(BufferView a, BufferView b, BufferView c, GemmArgs g, int batch) where T : unmanaged where N : struct, INumeric<T>
    {
        // Every kernel is compiled on every accelerator (the offline PTX check and warm-up see them all); the
        // register-blocked ones are launched only where groups hold 256 threads.
        var tiled = GemmLauncher<T, N>(GemmKernel.Tiled);
        GemmLauncher<T, N>(GemmKernel.Blocked4x4);
        GemmLauncher<T, N>(GemmKernel.Blocked8x8);
        var sum = Implicit<Action<Index1D, ArrayView<T>, ArrayView<T>, SliceSum>, Action<Index1D, ArrayView<T>, ArrayView<T>, SliceSum>>(
            SplitKKernels.SumSlices<T, N>, k => Accelerator.LoadAutoGroupedStreamKernel(k));
        if (batch == 0 || g.M == 0 || g.N == 0) return;
        var choice = ChooseGemm(g.M, g.N, batch, System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        var kernel = choice == GemmKernel.Tiled ? tiled : GemmLauncher<T, N>(choice);
        long tiles = GemmPlanner.KTiles(choice, TileSize, g.K, g.Reduce);
        int splits = ChooseSplits(choice, g.M, g.N, g.K, g.Reduce, batch);
        g.Slices = splits;
        g.SliceTiles = checked((int)GemmPlanner.SliceTiles(tiles, splits));
        if (splits == 1)
        {
            LaunchGemm(kernel, choice, View<T>(a), View<T>(b), View<T>(c), g, batch);
            return;
        }

        int outputs = checked(batch * g.M * g.N);
        // The split-K partials are a workspace of splits × outputs elements: split only when it fits one allocation.
        if (!ShapeMath.FitsElements([(long)splits, outputs]) || (long)splits * outputs * c.DType.SizeOf() > MaxAllocationBytes)
        {
            g.Slices = 1;
            g.SliceTiles = checked((int)GemmPlanner.SliceTiles(tiles, 1));
            LaunchGemm(kernel, choice, View<T>(a), View<T>(b), View<T>(c), g, batch);
            return;
        }
        var parts = Allocate(c.DType, splits * outputs);
        try
        {
            var partial = g;
            partial.Accumulate = 0;
            partial.COffset = 0;
            partial.CBatch = g.M * g.N;
            partial.CRow = g.N;
            partial.CCol = 1;
            partial.CSlice = outputs;
            var pv = Own(parts, nameof(Gemm)).View<T>();
            LaunchGemm(kernel, choice, View<T>(a), View<T>(b), pv, partial, batch);
            sum(outputs, pv, View<T>(c), new SliceSum
            {
                M = g.M, N = g.N, Slices = splits, SliceStride = outputs, Accumulate = g.Accumulate,
                COffset = g.COffset, CBatch = g.CBatch, CRow = g.CRow, CCol = g.CCol,
            });
            AfterLaunch();
        }
        finally
        {
            parts.Release();
        }
    }

    // One product over its batches, at most MaxGridZ groups deep per launch (grid Z holds batch × slices) and at most
    // MaxGridY row tiles high (grid Y): rows beyond launch again with A and C moved down by the rows done.
    void LaunchGemm<T>(Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs> kernel, GemmKernel choice,
        ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, GemmArgs g, int batch) where T : unmanaged
    {
        int tile = GemmPlanner.OutputTile(choice, TileSize);
        var group = choice == GemmKernel.Tiled ? new Index3D(TileSize, TileSize, 1) : new Index3D(GemmKernels.BlockSide, GemmKernels.BlockSide, 1);
        int perLaunch = MaxGridZ / g.Slices;
        long rowsPerLaunch = (long)Math.Max(1, MaxGridY) * tile;
        int columnTiles = (int)(((long)g.N + tile - 1) / tile);
        for (long r0 = 0; r0 < g.M; r0 += rowsPerLaunch)
        {
            int rows = (int)Math.Min(rowsPerLaunch, g.M - r0);
            for (int b0 = 0; b0 < batch; b0 += perLaunch)
            {
                int slice = Math.Min(perLaunch, batch - b0);
                var s = g;
                s.M = rows;
                s.AOffset = checked((int)(g.AOffset + r0 * g.ARow + (long)b0 * g.ABatch));
                s.BOffset = checked((int)(g.BOffset + (long)b0 * g.BBatch));
                s.COffset = checked((int)(g.COffset + r0 * g.CRow + (long)b0 * g.CBatch));
                kernel(new KernelConfig(new Index3D(columnTiles, (rows + tile - 1) / tile, slice * g.Slices), group), a, b, c, s);
                GemmLaunches++;
                AfterLaunch();
            }
        }
    }

    Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs> GemmLauncher<T, N>(GemmKernel kind)
        where T : unmanaged where N : struct, INumeric<T>
    {
        Action<ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs> method = kind switch
        {
            GemmKernel.Blocked8x8 => GemmKernels.Blocked8x8<T, N>,
            GemmKernel.Blocked4x4 => GemmKernels.Blocked4x4<T, N>,
            _ => GemmKernels.Tiled<T, N>,
        };
        return Explicit<Action<ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs>, Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs>>(
            method, k => Accelerator.LoadStreamKernel(k));
    }
}

/// <summary>The GEMM kernels of <see cref="GemmKernels"/>.</summary>
internal enum GemmKernel
{
    /// <summary><see cref="GemmKernels.Tiled{T, N}"/>: one output per thread, any group size.</summary>
    Tiled,

    /// <summary><see cref="GemmKernels.Blocked4x4{T, N}"/>: 64×64 tiles, 4×4 outputs per thread.</summary>
    Blocked4x4,

    /// <summary><see cref="GemmKernels.Blocked8x8{T, N}"/>: 128×128 tiles, 8×8 outputs per thread.</summary>
    Blocked8x8,
}
