using ILGPU;
using ILGPU.Runtime;
using NeuralCore.Backends;
using NeuralCore.Gpu.Kernels;

namespace NeuralCore.Gpu;

public sealed partial class IlgpuBackend
{
    /// <summary>Rows shorter than this are reduced by one thread each; longer ones by a thread group each.</summary>
    const int RowPerThreadLimit = 64;

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
        if (innerCount < RowPerThreadLimit || ReduceGroupSize == 1)
            perThread(outerCount, xv, dv, outer, xOuter, dOuter, inner, xInner, innerCount, fn);
        else
            perGroup(new KernelConfig(outerCount, ReduceGroupSize), xv, dv, outer, xOuter, dOuter, inner, xInner, innerCount, fn);
        AfterLaunch();
    }
}
