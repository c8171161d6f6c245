using ILGPU;
using ILGPU.Runtime;
using NeuralCore.Backends;
using NeuralCore.Gpu.Kernels;

namespace NeuralCore.Gpu;

public sealed partial class IlgpuBackend
{
    /// <summary>Rows shorter than this are reduced by one thread each; longer ones by a thread group each.</summary>
    const int RowPerThreadLimit = 64;

    /// <summary>Default of <see cref="ReduceChunkLength"/>: 64 elements per thread of a 256-thread group.</summary>
    internal const int DefaultReduceChunkLength = 16384;

    long splitReductions;

    /// <summary>
    /// Elements per chunk when a long row is split across thread groups. A reduction whose rows cannot keep the
    /// device busy (fewer than <see cref="ReduceTargetGroups"/>) splits each row of at least twice this length into
    /// chunks of about this length, one group each, up to that many groups in all; tests lower it to take the
    /// split path at small sizes.
    /// </summary>
    internal int ReduceChunkLength { get; set; } = DefaultReduceChunkLength;

    /// <summary>Thread groups a split reduction aims for: eight per multiprocessor.</summary>
    internal int ReduceTargetGroups => 8 * Math.Max(1, Accelerator.NumMultiprocessors);

    /// <summary>Reductions that took the split (two-pass) path so far.</summary>
    internal long SplitReductions => Interlocked.Read(ref splitReductions);

    /// <inheritdoc />
    public void Reduce(ReduceOp op, BufferView x, int reducedRank, BufferView destination)
    {
        switch (x.DType)
        {
            case DType.Float32: ReduceTyped<float, F32>(op, x, reducedRank, destination); break;
            case DType.Float64: ReduceTyped<double, F64>(op, x, reducedRank, destination); break;
            case DType.Int32: ReduceTyped<int, I32>(op, x, reducedRank, destination); break;
            case DType.Int64: ReduceTyped<long, I64>(op, x, reducedRank, destination); break;
            default: ReduceTyped<byte, U8>(op, x, reducedRank, destination); break;
        }
    }

    void ReduceTyped<T, N>(ReduceOp op, BufferView x, int reducedRank, BufferView d) where T : unmanaged where N : struct, INumeric<T>
    {
        switch (op)
        {
            case ReduceOp.Sum: RunReduce<T, T, SumFn<T, N>>(op, default, x, reducedRank, d); break;
            case ReduceOp.Max: RunReduce<T, T, ExtremeFn<T, N>>(op, new(1), x, reducedRank, d); break;
            case ReduceOp.Min: RunReduce<T, T, ExtremeFn<T, N>>(op, new(0), x, reducedRank, d); break;
            case ReduceOp.ArgMax: RunReduce<T, long, ArgExtremeFn<T, N>>(op, new(1), x, reducedRank, d); break;
            case ReduceOp.ArgMin: RunReduce<T, long, ArgExtremeFn<T, N>>(op, new(0), x, reducedRank, d); break;
            default: throw new ArgumentException($"Reduce: unknown op {op}.");
        }
    }

    void RunReduce<T, TOut, TFn>(ReduceOp op, TFn fn, BufferView x, int reducedRank, BufferView d)
        where T : unmanaged where TOut : unmanaged where TFn : struct, IReduceFn<T, TOut>
    {
        var perGroup = Explicit<Action<ArrayView<T>, ArrayView<TOut>, Shape8, Strides8, Strides8, Shape8, Strides8, int, TFn>,
            Action<KernelConfig, ArrayView<T>, ArrayView<TOut>, Shape8, Strides8, Strides8, Shape8, Strides8, int, TFn>>(
            ReduceKernels.RowPerGroup, k => Accelerator.LoadStreamKernel(k));
        var perThread = Implicit<Action<Index1D, ArrayView<T>, ArrayView<TOut>, Shape8, Strides8, Strides8, Shape8, Strides8, int, TFn>,
            Action<Index1D, ArrayView<T>, ArrayView<TOut>, Shape8, Strides8, Strides8, Shape8, Strides8, int, TFn>>(
            ReduceKernels.RowPerThread, k => Accelerator.LoadAutoGroupedStreamKernel(k));
        var chunk = Explicit<Action<ArrayView<T>, ArrayView<T>, ArrayView<long>, Shape8, Strides8, Shape8, Strides8, int, int, int, TFn>,
            Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<long>, Shape8, Strides8, Shape8, Strides8, int, int, int, TFn>>(
            ReduceKernels.ChunkPerGroup<T, TOut, TFn>, k => Accelerator.LoadStreamKernel(k));
        var merge = Explicit<Action<ArrayView<T>, ArrayView<long>, ArrayView<TOut>, Shape8, Strides8, int, TFn>,
            Action<KernelConfig, ArrayView<T>, ArrayView<long>, ArrayView<TOut>, Shape8, Strides8, int, TFn>>(
            ReduceKernels.MergeChunks<T, TOut, TFn>, k => Accelerator.LoadStreamKernel(k));

        int outerRank = x.Rank - reducedRank;
        int[] outerShape = x.Shape[..outerRank], innerShape = x.Shape[outerRank..];
        int outerCount = (int)ShapeMath.Product(outerShape), innerCount = (int)ShapeMath.Product(innerShape);
        if (outerCount == 0) return;
        if (innerCount == 0 && op != ReduceOp.Sum)
            throw new ArgumentException($"{op}: cannot reduce over an empty dimension (shape {ShapeMath.Format(x.Shape)}).");

        var (oDims, oStrides) = LayoutBuilder.Coalesce(outerShape, x.Strides[..outerRank], ShapeMath.ContiguousStrides(outerShape));
        var (iDims, iStrides) = LayoutBuilder.Coalesce(innerShape, x.Strides[outerRank..]);
        if (oDims.Length > Shape8.MaxRank || iDims.Length > Shape8.MaxRank)
        {
            // More than eight non-mergeable dimensions: reduce a dense copy, whose dimensions all merge.
            var dense = Allocate(x.DType, x.Count);
            try
            {
                var view = BufferView.Contiguous(dense, x.Shape);
                Copy(x, view);
                RunReduce<T, TOut, TFn>(op, fn, view, reducedRank, d);
            }
            finally
            {
                dense.Release();
            }
            return;
        }
        var outer = LayoutBuilder.Shape(oDims);
        var xOuter = LayoutBuilder.Strides(oStrides[0], x.Offset);
        var dOuter = LayoutBuilder.Strides(oStrides[1], d.Offset);
        var inner = LayoutBuilder.Shape(iDims);
        var xInner = LayoutBuilder.Strides(iStrides[0], 0);
        var xv = View<T>(x);
        var dv = View<TOut>(d);
        int chunkLength = ChunkLength(outerCount, innerCount);
        if (innerCount < RowPerThreadLimit || ReduceGroupSize == 1)
            perThread(outerCount, xv, dv, outer, xOuter, dOuter, inner, xInner, innerCount, fn);
        else if (chunkLength == innerCount)
            perGroup(new KernelConfig(outerCount, ReduceGroupSize), xv, dv, outer, xOuter, dOuter, inner, xInner, innerCount, fn);
        else
        {
            int chunks = (innerCount + chunkLength - 1) / chunkLength;
            var values = Allocate(x.DType, outerCount * chunks);
            var indices = Allocate(DType.Int64, outerCount * chunks);
            try
            {
                var pv = Own(values, Name).View<T>();
                var pi = Own(indices, Name).View<long>();
                chunk(new KernelConfig(outerCount * chunks, ReduceGroupSize), xv, pv, pi, outer, xOuter, inner, xInner, innerCount, chunkLength, chunks, fn);
                AfterLaunch();
                merge(new KernelConfig(outerCount, ReduceGroupSize), pv, pi, dv, outer, dOuter, chunks, fn);
                Interlocked.Increment(ref splitReductions);
            }
            finally
            {
                // Later kernels that reuse these buffers run after the merge on the same stream.
                values.Release();
                indices.Release();
            }
        }
        AfterLaunch();
    }

    // The length of the chunks each row is split into, or the whole row when splitting does not pay: the rows
    // already give the device enough groups, or a row is shorter than two chunks.
    int ChunkLength(int rows, int innerCount)
    {
        int length = Math.Max(1, ReduceChunkLength);
        if (innerCount < RowPerThreadLimit || rows >= ReduceTargetGroups || innerCount / 2 < length) return innerCount;
        long maxChunks = (ReduceTargetGroups + rows - 1) / rows;
        long chunks = Math.Min(maxChunks, (innerCount + (long)length - 1) / length);
        return chunks < 2 ? innerCount : (int)((innerCount + chunks - 1) / chunks);
    }
}
