using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NeuralCore.Backends.Cpu.Kernels;

/// <summary>
/// Runs any <see cref="IBinaryKernel{T, TResult}"/> over strided, broadcast operands. Fast paths: a dense
/// output whose operands are each either dense in the same layout or a single broadcast value (a 0-d tensor,
/// a C# scalar) is one span call, split across threads when large. Everything else goes through
/// <see cref="StridedLoop"/>, whose rows still use the span paths when the inner dimension is dense or
/// broadcast (a bias row, a per-channel value), and is split across threads by rows.
/// </summary>
internal static class BinaryDriver
{
    public static void Run<T, TResult, TKernel>(TKernel kernel, BufferView x, BufferView y, BufferView d)
        where T : unmanaged where TResult : unmanaged where TKernel : struct, IBinaryKernel<T, TResult>
    {
        int count = d.Count;
        if (count == 0) return;
        if (d.IsContiguous)
        {
            var xKind = KindOf(x);
            var yKind = KindOf(y);
            if (xKind != OperandKind.Strided && yKind != OperandKind.Strided && (xKind == OperandKind.Dense || yKind == OperandKind.Dense))
            {
                ElementwiseSplit.Dense(count, Unsafe.SizeOf<T>(), new DenseJob<T, TResult, TKernel>(kernel, x, y, d, xKind, yKind));
                return;
            }
        }
        var loop = new StridedLoop(d.Shape, d, x, y);
        ElementwiseSplit.Rows(loop.Rows, loop.Inner, new StridedJob<T, TResult, TKernel>(kernel, loop, x, y, d));
    }

    /// <summary>
    /// Dense x with a scalar passed by value: the same span calls, blocks and thread split as a dense x with a
    /// broadcast 0-d operand holding <paramref name="s"/>, so the results are identical.
    /// </summary>
    public static void RunScalar<T, TResult, TKernel>(TKernel kernel, BufferView x, T s, bool scalarFirst, BufferView d)
        where T : unmanaged where TResult : unmanaged where TKernel : struct, IBinaryKernel<T, TResult>
    {
        int count = d.Count;
        if (count == 0) return;
        ElementwiseSplit.Dense(count, Unsafe.SizeOf<T>(), new ScalarJob<T, TResult, TKernel>(kernel, x, s, scalarFirst, d));
    }

    enum OperandKind : byte { Dense, Broadcast, Strided }

    // Dense is tested first: a one-element operand of a one-element output is dense, not a broadcast.
    static OperandKind KindOf(BufferView v)
    {
        var shape = v.Shape;
        var strides = v.Strides;
        if (ShapeMath.IsContiguous(shape, strides)) return OperandKind.Dense;
        for (int i = 0; i < shape.Length; i++)
            if (shape[i] != 1 && strides[i] != 0) return OperandKind.Strided;
        return OperandKind.Broadcast;
    }

    /// <summary>Scalar definition over dense spans, for kernels (or operand kinds) without a span path.</summary>
    static void ApplyDense<T, TResult, TKernel>(TKernel kernel, ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<TResult> d)
        where T : unmanaged where TResult : unmanaged where TKernel : struct, IBinaryKernel<T, TResult>
    {
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        ref TResult dr = ref MemoryMarshal.GetReference(d);
        for (int i = 0; i < d.Length; i++) Unsafe.Add(ref dr, i) = kernel.Apply(Unsafe.Add(ref xr, i), Unsafe.Add(ref yr, i));
    }

    static void ApplyDenseScalar<T, TResult, TKernel>(TKernel kernel, ReadOnlySpan<T> x, T y, Span<TResult> d)
        where T : unmanaged where TResult : unmanaged where TKernel : struct, IBinaryKernel<T, TResult>
    {
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref TResult dr = ref MemoryMarshal.GetReference(d);
        for (int i = 0; i < d.Length; i++) Unsafe.Add(ref dr, i) = kernel.Apply(Unsafe.Add(ref xr, i), y);
    }

    static void ApplyScalarDense<T, TResult, TKernel>(TKernel kernel, T x, ReadOnlySpan<T> y, Span<TResult> d)
        where T : unmanaged where TResult : unmanaged where TKernel : struct, IBinaryKernel<T, TResult>
    {
        ref T yr = ref MemoryMarshal.GetReference(y);
        ref TResult dr = ref MemoryMarshal.GetReference(d);
        for (int i = 0; i < d.Length; i++) Unsafe.Add(ref dr, i) = kernel.Apply(x, Unsafe.Add(ref yr, i));
    }

    /// <summary>One dense run: x and y each dense (length n) or broadcast (one value).</summary>
    static void Span<T, TResult, TKernel>(TKernel kernel, Span<T> xs, int xo, bool xDense, Span<T> ys, int yo, bool yDense, Span<TResult> dr)
        where T : unmanaged where TResult : unmanaged where TKernel : struct, IBinaryKernel<T, TResult>
    {
        int n = dr.Length;
        if (xDense && yDense)
        {
            ReadOnlySpan<T> xr = xs.Slice(xo, n), yr = ys.Slice(yo, n);
            if (!kernel.TrySpan(xr, yr, dr)) ApplyDense(kernel, xr, yr, dr);
        }
        else if (xDense)
        {
            ReadOnlySpan<T> xr = xs.Slice(xo, n);
            T yv = ys[yo];
            if (!kernel.TrySpanScalar(xr, yv, dr)) ApplyDenseScalar(kernel, xr, yv, dr);
        }
        else
        {
            ReadOnlySpan<T> yr = ys.Slice(yo, n);
            T xv = xs[xo];
            if (!kernel.TryScalarSpan(xv, yr, dr)) ApplyScalarDense(kernel, xv, yr, dr);
        }
    }

    readonly struct DenseJob<T, TResult, TKernel>(TKernel kernel, BufferView x, BufferView y, BufferView d, OperandKind xKind, OperandKind yKind) : IRangeJob
        where T : unmanaged where TResult : unmanaged where TKernel : struct, IBinaryKernel<T, TResult>
    {
        public void Run(int start, int end)
        {
            bool xDense = xKind == OperandKind.Dense, yDense = yKind == OperandKind.Dense;
            var ds = ((CpuStorage)d.Storage).AsSpan<TResult>().Slice(d.Offset + start, end - start);
            Span(kernel, ((CpuStorage)x.Storage).AsSpan<T>(), xDense ? x.Offset + start : x.Offset, xDense,
                ((CpuStorage)y.Storage).AsSpan<T>(), yDense ? y.Offset + start : y.Offset, yDense, ds);
        }
    }

    readonly struct ScalarJob<T, TResult, TKernel>(TKernel kernel, BufferView x, T s, bool scalarFirst, BufferView d) : IRangeJob
        where T : unmanaged where TResult : unmanaged where TKernel : struct, IBinaryKernel<T, TResult>
    {
        public void Run(int start, int end)
        {
            ReadOnlySpan<T> xr = ((CpuStorage)x.Storage).AsSpan<T>().Slice(x.Offset + start, end - start);
            var dr = ((CpuStorage)d.Storage).AsSpan<TResult>().Slice(d.Offset + start, end - start);
            if (scalarFirst)
            {
                if (!kernel.TryScalarSpan(s, xr, dr)) ApplyScalarDense(kernel, s, xr, dr);
            }
            else if (!kernel.TrySpanScalar(xr, s, dr)) ApplyDenseScalar(kernel, xr, s, dr);
        }
    }

    readonly struct StridedJob<T, TResult, TKernel>(TKernel kernel, StridedLoop loop, BufferView x, BufferView y, BufferView d) : IRangeJob
        where T : unmanaged where TResult : unmanaged where TKernel : struct, IBinaryKernel<T, TResult>
    {
        public void Run(int first, int last)
        {
            Span<T> xs = ((CpuStorage)x.Storage).AsSpan<T>(), ys = ((CpuStorage)y.Storage).AsSpan<T>();
            Span<TResult> ds = ((CpuStorage)d.Storage).AsSpan<TResult>();
            Span<int> off = stackalloc int[3];
            int n = loop.Inner, sd = loop.InnerStrides[0], sx = loop.InnerStrides[1], sy = loop.InnerStrides[2];
            bool xDense = loop.InnerContiguous(1), yDense = loop.InnerContiguous(2);
            // A row takes a span path when the output run is dense and each operand's run is dense or one repeated value.
            bool spans = loop.InnerContiguous(0) && (xDense || sx == 0) && (yDense || sy == 0) && (xDense || yDense);
            for (int r = first; r < last; r++)
            {
                loop.RowOffsets(r, off);
                if (spans)
                {
                    Span(kernel, xs, off[1], xDense, ys, off[2], yDense, ds.Slice(off[0], n));
                    continue;
                }
                for (int i = 0; i < n; i++) ds[off[0] + i * sd] = kernel.Apply(xs[off[1] + i * sx], ys[off[2] + i * sy]);
            }
        }
    }
}
