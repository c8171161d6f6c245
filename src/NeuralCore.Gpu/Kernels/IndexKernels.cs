using ILGPU;

namespace NeuralCore.Gpu.Kernels;

/// <summary>
/// Gather and scatter-add along one dimension, one thread per element of the iteration shape. The index operand
/// is read through its own strides: strides over every dimension for Gather/ScatterAdd, or a stride only along
/// the indexed dimension for IndexSelect/IndexAdd, so the same two kernels serve all four ops. Indices may be
/// negative (counted from the end). An index outside the dimension is never dereferenced: the thread records
/// the op, the index and the limit in the error slots (first error wins) and writes nothing else (Gather
/// writes 0), and the backend throws at the next read.
/// </summary>
internal static class IndexKernels
{
    /// <summary>d[c] = x[c with dimension `dim` replaced by index[c]].</summary>
    public static void Gather<T>(Index1D i, ArrayView<T> x, ArrayView<long> index, ArrayView<T> d, ArrayView<long> errors,
        Shape8 shape, Strides8 xOther, Strides8 sIndex, Strides8 sd, IndexedDim dim) where T : unmanaged
    {
        var c = shape.Decompose(i);
        long at = Resolve(index[sIndex.At(c)], dim, errors);
        d[sd.At(c)] = at < 0 ? default : x[xOther.At(c) + (int)at * dim.Stride];
    }

    /// <summary>d[c with dimension `dim` replaced by index[c]] += src[c], atomically (duplicates accumulate).</summary>
    public static void ScatterAdd<T, N>(Index1D i, ArrayView<T> d, ArrayView<long> index, ArrayView<T> src, ArrayView<long> errors,
        Shape8 shape, Strides8 dOther, Strides8 sIndex, Strides8 ss, IndexedDim dim) where T : unmanaged where N : struct, INumeric<T>
    {
        var c = shape.Decompose(i);
        long at = Resolve(index[sIndex.At(c)], dim, errors);
        if (at >= 0) default(N).AtomicAdd(d, dOther.At(c) + (int)at * dim.Stride, src[ss.At(c)]);
    }

    /// <summary>The non-negative position of <paramref name="value"/> in the dimension, or −1 after recording an error.</summary>
    public static long Resolve(long value, IndexedDim dim, ArrayView<long> errors)
    {
        if (value >= -dim.Size && value < dim.Size) return value < 0 ? value + dim.Size : value;
        Report(errors, dim.ErrorCode, value, dim.Size);
        return -1;
    }

    /// <summary>Records the first out-of-range index: slot 0 the op's code, slot 1 the index, slot 2 the limit.</summary>
    public static void Report(ArrayView<long> errors, int code, long value, long limit)
    {
        if (Atomic.CompareExchange(ref errors[0], 0L, (long)code) == 0)
        {
            errors[1] = value;
            errors[2] = limit;
        }
    }
}

/// <summary>The indexed dimension of a gather/scatter: its size (the valid index range), its stride in the indexed operand, and the op's error code.</summary>
internal struct IndexedDim
{
    public int Size, Stride, ErrorCode;
}
