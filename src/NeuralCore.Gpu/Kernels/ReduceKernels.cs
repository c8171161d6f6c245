using ILGPU;

namespace NeuralCore.Gpu.Kernels;

/// <summary>A partial reduction: a value and the flat index it came from (−1 while empty).</summary>
internal struct Partial<T> where T : unmanaged
{
    public T Value;
    public long Index;

    public Partial(T value, long index)
    {
        Value = value;
        Index = index;
    }
}

/// <summary>An associative reduction over (value, index) partials, with its result type.</summary>
internal interface IReduceFn<T, TOut> where T : unmanaged where TOut : unmanaged
{
    Partial<T> Seed { get; }
    Partial<T> Merge(Partial<T> a, Partial<T> b);
    TOut Result(Partial<T> p);
}

internal readonly struct SumFn<T, N> : IReduceFn<T, T> where T : unmanaged where N : struct, INumeric<T>
{
    public Partial<T> Seed => new(default(N).Zero, 0);
    public Partial<T> Merge(Partial<T> a, Partial<T> b) => new(default(N).Add(a.Value, b.Value), 0);
    public T Result(Partial<T> p) => p.Value;
}

/// <summary>Max (Max = 1) or min: NaN wins, and among equal values the first index, whichever order partials merge in.</summary>
internal readonly struct ExtremeFn<T, N>(int max) : IReduceFn<T, T> where T : unmanaged where N : struct, INumeric<T>
{
    readonly int max = max;

    public Partial<T> Seed => new(default, -1);
    public Partial<T> Merge(Partial<T> a, Partial<T> b) => Extremes.Pick<T, N>(a, b, max);
    public T Result(Partial<T> p) => p.Value;
}

/// <summary>ArgMax (Max = 1) or ArgMin: the flat index of <see cref="ExtremeFn{T, N}"/>'s winner.</summary>
internal readonly struct ArgExtremeFn<T, N>(int max) : IReduceFn<T, long> where T : unmanaged where N : struct, INumeric<T>
{
    readonly int max = max;

    public Partial<T> Seed => new(default, -1);
    public Partial<T> Merge(Partial<T> a, Partial<T> b) => Extremes.Pick<T, N>(a, b, max);
    public long Result(Partial<T> p) => p.Index;
}

internal static class Extremes
{
    public static Partial<T> Pick<T, N>(Partial<T> a, Partial<T> b, int max) where T : unmanaged where N : struct, INumeric<T>
    {
        var n = default(N);
        if (a.Index < 0) return b;
        if (b.Index < 0) return a;
        bool an = n.IsNaN(a.Value), bn = n.IsNaN(b.Value);
        if (an || bn)
        {
            if (an && bn) return a.Index <= b.Index ? a : b;
            return an ? a : b;
        }
        if (n.Eq(a.Value, b.Value)) return a.Index <= b.Index ? a : b;
        bool bWins = max != 0 ? n.Lt(a.Value, b.Value) : n.Lt(b.Value, a.Value);
        return bWins ? b : a;
    }
}

/// <summary>
/// Reductions over the trailing dimensions: each output row reduces <c>innerCount</c> elements. Long rows get one
/// thread group per row (threads stride through the row, then a shared-memory tree combines their partials);
/// short rows get one thread per row. A long row in a reduction with too few rows to fill the device is split
/// into chunks: <see cref="ChunkPerGroup"/> reduces each chunk with one group into a (value, index) partial,
/// then <see cref="MergeChunks"/> combines each row's partials in a fixed tree, so results are deterministic
/// and keep the first-index and NaN rules of the merge functions (partials carry the flat index within the row).
/// </summary>
internal static class ReduceKernels
{
    /// <summary>Largest group size of the grouped kernels (their static shared memory).</summary>
    public const int MaxGroup = 256;

    public static void RowPerGroup<T, TOut, TFn>(ArrayView<T> x, ArrayView<TOut> d, Shape8 outer, Strides8 xOuter, Strides8 dOuter,
        Shape8 inner, Strides8 xInner, int innerCount, TFn fn)
        where T : unmanaged where TOut : unmanaged where TFn : struct, IReduceFn<T, TOut>
    {
        int row = Grid.IdxX;
        var rowCoords = outer.Decompose(row);
        var total = ReduceRange<T, TOut, TFn>(x, xOuter.At(rowCoords), inner, xInner, 0, innerCount, fn);
        if (Group.IdxX == 0) d[dOuter.At(rowCoords)] = fn.Result(total);
    }

    /// <summary>Pass 1 of a split row: group g reduces chunk g mod chunks of row g / chunks into partial g.</summary>
    public static void ChunkPerGroup<T, TOut, TFn>(ArrayView<T> x, ArrayView<T> partialValues, ArrayView<long> partialIndices,
        Shape8 outer, Strides8 xOuter, Shape8 inner, Strides8 xInner, int innerCount, int chunkLength, int chunks, TFn fn)
        where T : unmanaged where TOut : unmanaged where TFn : struct, IReduceFn<T, TOut>
    {
        int g = Grid.IdxX, row = g / chunks;
        int begin = (g - row * chunks) * chunkLength;
        int end = Math.Min(innerCount, begin + chunkLength);
        var total = ReduceRange<T, TOut, TFn>(x, xOuter.At(outer.Decompose(row)), inner, xInner, begin, end, fn);
        if (Group.IdxX == 0)
        {
            partialValues[g] = total.Value;
            partialIndices[g] = total.Index;
        }
    }

    /// <summary>Pass 2 of a split row: one group per row merges the row's <paramref name="chunks"/> partials.</summary>
    public static void MergeChunks<T, TOut, TFn>(ArrayView<T> partialValues, ArrayView<long> partialIndices, ArrayView<TOut> d,
        Shape8 outer, Strides8 dOuter, int chunks, TFn fn)
        where T : unmanaged where TOut : unmanaged where TFn : struct, IReduceFn<T, TOut>
    {
        int row = Grid.IdxX, first = row * chunks;
        var acc = fn.Seed;
        for (int c = Group.IdxX; c < chunks; c += Group.DimX)
            acc = fn.Merge(acc, new Partial<T>(partialValues[first + c], partialIndices[first + c]));
        var total = Combine<T, TOut, TFn>(acc, fn);
        if (Group.IdxX == 0) d[dOuter.At(outer.Decompose(row))] = fn.Result(total);
    }

    public static void RowPerThread<T, TOut, TFn>(Index1D row, ArrayView<T> x, ArrayView<TOut> d, Shape8 outer, Strides8 xOuter, Strides8 dOuter,
        Shape8 inner, Strides8 xInner, int innerCount, TFn fn)
        where T : unmanaged where TOut : unmanaged where TFn : struct, IReduceFn<T, TOut>
    {
        var rowCoords = outer.Decompose(row);
        int start = xOuter.At(rowCoords);
        var acc = fn.Seed;
        for (int j = 0; j < innerCount; j++)
            acc = fn.Merge(acc, new Partial<T>(x[start + xInner.At(inner.Decompose(j))], j));
        d[dOuter.At(rowCoords)] = fn.Result(acc);
    }

    // The group's threads stride through elements [begin, end) of the row at `start`; returns the group's result
    // (valid in every thread).
    static Partial<T> ReduceRange<T, TOut, TFn>(ArrayView<T> x, int start, Shape8 inner, Strides8 xInner, int begin, int end, TFn fn)
        where T : unmanaged where TOut : unmanaged where TFn : struct, IReduceFn<T, TOut>
    {
        var acc = fn.Seed;
        for (int j = begin + Group.IdxX; j < end; j += Group.DimX)
            acc = fn.Merge(acc, new Partial<T>(x[start + xInner.At(inner.Decompose(j))], j));
        return Combine<T, TOut, TFn>(acc, fn);
    }

    // Combines one partial per thread with a shared-memory tree (lower thread first, so ties keep their order).
    static Partial<T> Combine<T, TOut, TFn>(Partial<T> acc, TFn fn)
        where T : unmanaged where TOut : unmanaged where TFn : struct, IReduceFn<T, TOut>
    {
        var values = SharedMemory.Allocate<T>(MaxGroup);
        var indices = SharedMemory.Allocate<long>(MaxGroup);
        int tid = Group.IdxX;
        values[tid] = acc.Value;
        indices[tid] = acc.Index;
        Group.Barrier();
        for (int s = Group.DimX / 2; s > 0; s >>= 1)
        {
            if (tid < s)
            {
                var m = fn.Merge(new Partial<T>(values[tid], indices[tid]), new Partial<T>(values[tid + s], indices[tid + s]));
                values[tid] = m.Value;
                indices[tid] = m.Index;
            }
            Group.Barrier();
        }
        return new Partial<T>(values[0], indices[0]);
    }
}
