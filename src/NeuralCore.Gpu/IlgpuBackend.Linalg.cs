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
    /// Launches <see cref="GemmKernels.Tiled{T, N}"/> over <paramref name="batch"/> batches (operands given by their
    /// storages); <paramref name="bias"/> is read only when <see cref="GemmArgs.RowBias"/> is set.
    /// </summary>
    void Gemm<T, N>(BufferView a, BufferView b, BufferView c, GemmArgs g, int batch, BufferView bias = default) where T : unmanaged where N : struct, INumeric<T>
    {
        var kernel = Explicit<Action<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs>,
            Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs>>(
            GemmKernels.Tiled<T, N>, k => Accelerator.LoadStreamKernel(k));
        if (batch == 0 || g.M == 0 || g.N == 0) return;
        var av = View<T>(a);
        var bv = View<T>(b);
        var cv = View<T>(c);
        var biasView = g.RowBias != 0 ? View<T>(bias) : cv;
        int ts = TileSize;
        var group = new Index3D(ts, ts, 1);
        for (int b0 = 0; b0 < batch; b0 += MaxGridZ)
        {
            int slice = Math.Min(MaxGridZ, batch - b0);
            var s = g;
            s.AOffset += b0 * g.ABatch;
            s.BOffset += b0 * g.BBatch;
            s.COffset += b0 * g.CBatch;
            kernel(new KernelConfig(new Index3D((g.N + ts - 1) / ts, (g.M + ts - 1) / ts, slice), group), av, bv, cv, biasView, s);
            AfterLaunch();
        }
    }
}
