using ILGPU;
using ILGPU.Runtime;
using NeuralCore.Backends;
using NeuralCore.Gpu.Kernels;

namespace NeuralCore.Gpu;

public sealed partial class IlgpuBackend
{
    /// <summary>Ops that report out-of-range indices from the device, by error code (index + 1).</summary>
    static readonly string[] IndexOps = ["IndexSelect", "IndexAdd", "Gather", "ScatterAdd", "MaxPool2dBackward", "CrossEntropy"];

    static int ErrorCode(string op) => Array.IndexOf(IndexOps, op) + 1;

    /// <inheritdoc />
    public void IndexSelect(BufferView x, int dim, BufferView index, BufferView destination) =>
        RunGather(x, dim, AlongDim(index, destination.Rank, dim), destination, "IndexSelect");

    /// <inheritdoc />
    public void Gather(BufferView x, int dim, BufferView index, BufferView destination) =>
        RunGather(x, dim, index, destination, "Gather");

    /// <inheritdoc />
    public void IndexAdd(BufferView destination, int dim, BufferView index, BufferView source)
    {
        switch (destination.DType)
        {
            case DType.Float32: RunScatterAdd<float, F32>(destination, dim, AlongDim(index, source.Rank, dim), source, "IndexAdd"); break;
            case DType.Float64: RunScatterAdd<double, F64>(destination, dim, AlongDim(index, source.Rank, dim), source, "IndexAdd"); break;
            case DType.Int32: RunScatterAdd<int, I32>(destination, dim, AlongDim(index, source.Rank, dim), source, "IndexAdd"); break;
            case DType.Int64: RunScatterAdd<long, I64>(destination, dim, AlongDim(index, source.Rank, dim), source, "IndexAdd"); break;
            default: RunScatterAdd<byte, U8>(destination, dim, AlongDim(index, source.Rank, dim), source, "IndexAdd"); break;
        }
    }

    /// <inheritdoc />
    public void ScatterAdd(BufferView destination, int dim, BufferView index, BufferView source)
    {
        switch (destination.DType)
        {
            case DType.Float32: RunScatterAdd<float, F32>(destination, dim, index, source, "ScatterAdd"); break;
            case DType.Float64: RunScatterAdd<double, F64>(destination, dim, index, source, "ScatterAdd"); break;
            case DType.Int32: RunScatterAdd<int, I32>(destination, dim, index, source, "ScatterAdd"); break;
            case DType.Int64: RunScatterAdd<long, I64>(destination, dim, index, source, "ScatterAdd"); break;
            case DType.UInt8: RunScatterAdd<byte, U8>(destination, dim, index, source, "ScatterAdd"); break;
            default: throw new ArgumentException("ScatterAdd: not defined for Bool tensors.");
        }
    }

    // A 1-d index vector seen as an operand of rank `rank` that varies only along `dim`.
    static BufferView AlongDim(BufferView index, int rank, int dim)
    {
        var shape = new int[rank];
        var strides = new int[rank];
        Array.Fill(shape, 1);
        shape[dim] = index.Shape.Length == 0 ? 1 : index.Shape[0];
        strides[dim] = index.Shape.Length == 0 ? 0 : index.Strides[0];
        return new BufferView(index.Storage, shape, strides, index.Offset);
    }

    void RunGather(BufferView x, int dim, BufferView index, BufferView d, string op)
    {
        switch (x.DType.SizeOf())
        {
            case 1: RunGather<byte>(x, dim, index, d, op); break;
            case 4: RunGather<int>(x, dim, index, d, op); break;
            default: RunGather<long>(x, dim, index, d, op); break;
        }
    }

    void RunGather<T>(BufferView x, int dim, BufferView index, BufferView d, string op) where T : unmanaged
    {
        var kernel = Implicit<Action<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, ArrayView<long>, Shape8, Strides8, Strides8, Strides8, IndexedDim>,
            Action<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, ArrayView<long>, Shape8, Strides8, Strides8, Strides8, IndexedDim>>(
            IndexKernels.Gather, k => Accelerator.LoadAutoGroupedStreamKernel(k));
        if (d.Count == 0) return;
        var (shape, s) = PinnedLayout(d.Shape, dim, op, x, index, d);
        var idx = new IndexedDim { Size = x.Shape[dim], Stride = x.Strides[dim], ErrorCode = ErrorCode(op) };
        Interlocked.Increment(ref checkedKernelsSinceRead);
        kernel(d.Count, View<T>(x), View<long>(index), View<T>(d), errors.View, shape, s[0], s[1], s[2], idx);
        AfterLaunch();
    }

    void RunScatterAdd<T, N>(BufferView d, int dim, BufferView index, BufferView src, string op) where T : unmanaged where N : struct, INumeric<T>
    {
        var kernel = Implicit<Action<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, ArrayView<long>, Shape8, Strides8, Strides8, Strides8, IndexedDim>,
            Action<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, ArrayView<long>, Shape8, Strides8, Strides8, Strides8, IndexedDim>>(
            IndexKernels.ScatterAdd<T, N>, k => Accelerator.LoadAutoGroupedStreamKernel(k));
        var iterShape = op == "IndexAdd" ? src.Shape : index.Shape;
        int count = (int)ShapeMath.Product(iterShape);
        if (count == 0) return;
        var (shape, s) = PinnedLayout(iterShape, dim, op, d, index, src);
        var idx = new IndexedDim { Size = d.Shape[dim], Stride = d.Strides[dim], ErrorCode = ErrorCode(op) };
        Interlocked.Increment(ref checkedKernelsSinceRead);
        kernel(count, View<T>(d), View<long>(index), View<T>(src), errors.View, shape, s[0], s[1], s[2], idx);
        AfterLaunch();
    }

    // The iteration over `shape` with dimension `dim` kept apart: the first operand (the indexed one) gets stride 0
    // there (the kernel adds index·stride itself); the dimensions before and after `dim` are coalesced separately.
    static (Shape8 Shape, Strides8[] Strides) PinnedLayout(int[] shape, int dim, string op, BufferView indexed, BufferView index, BufferView other)
    {
        var indexedStrides = (int[])indexed.Strides.Clone();
        indexedStrides[dim] = 0;
        int[][] all = [indexedStrides, index.Strides, other.Strides];
        var (before, sb) = LayoutBuilder.Coalesce(shape[..dim], [.. all.Select(s => s[..dim])]);
        var (after, sa) = LayoutBuilder.Coalesce(shape[(dim + 1)..], [.. all.Select(s => s[(dim + 1)..])]);
        int[] dims = [.. before, shape[dim], .. after];
        if (dims.Length > Shape8.MaxRank)
            throw new ArgumentException($"{op}: operands with more than {Shape8.MaxRank} non-mergeable dimensions are not supported on {indexed.Storage.Backend.Device}.");
        var strides = new Strides8[3];
        int[] offsets = [indexed.Offset, index.Offset, other.Offset];
        for (int o = 0; o < 3; o++)
            strides[o] = LayoutBuilder.Strides([.. sb[o], all[o][dim], .. sa[o]], offsets[o]);
        return (LayoutBuilder.Shape(dims), strides);
    }
}
