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
    /// The kernel for a product of <paramref name="batch"/> M×N outputs: the simple tiled kernel when a side is
    /// under 32 (a 64-wide tile would mostly idle) or groups cannot hold 256 threads; otherwise the 128×128
    /// register-blocked kernel when it still yields two groups per multiprocessor, else the 64×64 one.
    /// </summary>
    internal GemmKernel ChooseGemm(int m, int n, int batch)
    {
        if (!CanRunBlockedGemm) return GemmKernel.Tiled;
        if (GemmOverride is { } forced) return forced;
        if (m < 32 || n < 32) return GemmKernel.Tiled;
        long big = (long)((m + GemmKernels.Tile8x8 - 1) / GemmKernels.Tile8x8) * ((n + GemmKernels.Tile8x8 - 1) / GemmKernels.Tile8x8) * batch;
        return big >= 2L * Math.Max(1, Accelerator.NumMultiprocessors) ? GemmKernel.Blocked8x8 : GemmKernel.Blocked4x4;
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
    /// their storages); <paramref name="bias"/> is read only when <see cref="GemmArgs.RowBias"/> is set.
    /// </summary>
    void Gemm<T, N>(BufferView a, BufferView b, BufferView c, GemmArgs g, int batch, BufferView bias = default) where T : unmanaged where N : struct, INumeric<T>
    {
        // All three are compiled on every accelerator (the offline PTX check and warm-up see them all); the
        // register-blocked ones are launched only where groups hold 256 threads.
        var tiled = GemmLauncher<T, N>(GemmKernel.Tiled);
        GemmLauncher<T, N>(GemmKernel.Blocked4x4);
        GemmLauncher<T, N>(GemmKernel.Blocked8x8);
        if (batch == 0 || g.M == 0 || g.N == 0) return;
        var choice = ChooseGemm(g.M, g.N, batch);
        var kernel = choice == GemmKernel.Tiled ? tiled : GemmLauncher<T, N>(choice);
        int tile = choice switch
        {
            GemmKernel.Blocked8x8 => GemmKernels.Tile8x8,
            GemmKernel.Blocked4x4 => GemmKernels.Tile4x4,
            _ => TileSize,
        };
        var group = choice == GemmKernel.Tiled ? new Index3D(TileSize, TileSize, 1) : new Index3D(GemmKernels.BlockSide, GemmKernels.BlockSide, 1);
        var av = View<T>(a);
        var bv = View<T>(b);
        var cv = View<T>(c);
        var biasView = g.RowBias != 0 ? View<T>(bias) : cv;
        for (int b0 = 0; b0 < batch; b0 += MaxGridZ)
        {
            int slice = Math.Min(MaxGridZ, batch - b0);
            var s = g;
            s.AOffset += b0 * g.ABatch;
            s.BOffset += b0 * g.BBatch;
            s.COffset += b0 * g.CBatch;
            kernel(new KernelConfig(new Index3D((g.N + tile - 1) / tile, (g.M + tile - 1) / tile, slice), group), av, bv, cv, biasView, s);
            AfterLaunch();
        }
    }

    Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs> GemmLauncher<T, N>(GemmKernel kind)
        where T : unmanaged where N : struct, INumeric<T>
    {
        Action<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs> method = kind switch
        {
            GemmKernel.Blocked8x8 => GemmKernels.Blocked8x8<T, N>,
            GemmKernel.Blocked4x4 => GemmKernels.Blocked4x4<T, N>,
            _ => GemmKernels.Tiled<T, N>,
        };
        return Explicit<Action<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs>, Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs>>(
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
