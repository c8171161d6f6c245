using System.Numerics;
using System.Numerics.Tensors;

namespace NeuralCore.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc />
    public void Reduce(ReduceOp op, BufferView x, int reducedRank, BufferView destination)
    {
        switch (x.DType)
        {
            case DType.Float32: ReduceTyped<float>(op, x, reducedRank, destination); break;
            case DType.Float64: ReduceTyped<double>(op, x, reducedRank, destination); break;
            case DType.Int32: ReduceTyped<int>(op, x, reducedRank, destination); break;
            case DType.Int64: ReduceTyped<long>(op, x, reducedRank, destination); break;
            default: ReduceTyped<byte>(op, x, reducedRank, destination); break;
        }
    }

    static void ReduceTyped<T>(ReduceOp op, BufferView x, int reducedRank, BufferView d) where T : unmanaged, INumber<T>
    {
        int rank = x.Rank, outerRank = rank - reducedRank;
        var outer = new BufferView(x.Storage, x.Shape[..outerRank], x.Strides[..outerRank], x.Offset);
        var inner = new BufferView(x.Storage, x.Shape[outerRank..], x.Strides[outerRank..], 0);
        int outerCount = outer.Count, innerCount = inner.Count;
        if (outerCount == 0) return;
        if (innerCount == 0 && op != ReduceOp.Sum)
            throw new ArgumentException($"{op}: cannot reduce over an empty dimension (shape {ShapeMath.Format(x.Shape)}).");

        var outerLoop = new StridedLoop(outer.Shape, outer);
        var innerLoop = new StridedLoop(inner.Shape, inner);
        Span<T> xs = Span<T>(x);

        // Reducing leading dimensions of a tensor whose kept dimensions are dense (a bias gradient summed over
        // the batch): accumulate whole rows with SIMD instead of walking each column with a stride. With a single
        // kept element (a full reduction) the rows would be one element long, so the per-run fold below is used.
        if (op is ReduceOp.Sum or ReduceOp.Max or ReduceOp.Min && outerCount > 1 && outerLoop.Rows == 1 && outerLoop.InnerContiguous(0)
            && innerCount > 0 && d.IsContiguous)
        {
            AccumulateRows<T>(op, xs.Slice(x.Offset), outerCount, innerLoop, Span<T>(d).Slice(d.Offset, outerCount));
            return;
        }

        Span<int> oo = stackalloc int[1], io = stackalloc int[1];
        for (int o = 0; o < outerCount; o++)
        {
            outerLoop.RowOffsets(o / outerLoop.Inner, oo);
            int baseOffset = oo[0] + (o % outerLoop.Inner) * outerLoop.InnerStrides[0];
            if (op is ReduceOp.ArgMax or ReduceOp.ArgMin)
                Span<long>(d)[d.Offset + o] = ArgExtreme(xs, baseOffset, innerLoop, op == ReduceOp.ArgMax, io);
            else
                Span<T>(d)[d.Offset + o] = Fold(op, xs, baseOffset, innerLoop, io);
        }
    }

    static T Fold<T>(ReduceOp op, Span<T> xs, int baseOffset, StridedLoop inner, Span<int> io) where T : unmanaged, INumber<T>
    {
        T acc = op == ReduceOp.Sum ? T.Zero : FirstElement(xs, baseOffset, inner, io);
        int n = inner.Inner, s = inner.InnerStrides[0];
        for (int r = 0; r < inner.Rows; r++)
        {
            inner.RowOffsets(r, io);
            int start = baseOffset + io[0];
            if (n == 1 || s == 1)
            {
                var run = xs.Slice(start, n);
                acc = op switch
                {
                    ReduceOp.Sum => acc + TensorPrimitives.Sum<T>(run),
                    ReduceOp.Max => Max(acc, TensorPrimitives.Max<T>(run)),
                    _ => Min(acc, TensorPrimitives.Min<T>(run)),
                };
                continue;
            }
            for (int i = 0; i < n; i++)
            {
                T v = xs[start + i * s];
                acc = op switch { ReduceOp.Sum => acc + v, ReduceOp.Max => Max(acc, v), _ => Min(acc, v) };
            }
        }
        return acc;
    }

    static T FirstElement<T>(Span<T> xs, int baseOffset, StridedLoop inner, Span<int> io) where T : unmanaged
    {
        inner.RowOffsets(0, io);
        return xs[baseOffset + io[0]];
    }

    static T Max<T>(T a, T b) where T : INumber<T> => T.IsNaN(a) ? a : T.IsNaN(b) ? b : a >= b ? a : b;

    static T Min<T>(T a, T b) where T : INumber<T> => T.IsNaN(a) ? a : T.IsNaN(b) ? b : a <= b ? a : b;

    // First index of the extreme value; a NaN counts as the extreme (as PyTorch), the first NaN wins.
    static long ArgExtreme<T>(Span<T> xs, int baseOffset, StridedLoop inner, bool max, Span<int> io) where T : unmanaged, INumber<T>
    {
        long best = 0, index = 0;
        T bestValue = default;
        bool first = true;
        int n = inner.Inner, s = inner.InnerStrides[0];
        for (int r = 0; r < inner.Rows; r++)
        {
            inner.RowOffsets(r, io);
            int start = baseOffset + io[0];
            for (int i = 0; i < n; i++, index++)
            {
                T v = xs[start + i * s];
                if (first) { bestValue = v; best = index; first = false; if (T.IsNaN(v)) return best; continue; }
                if (T.IsNaN(v)) return index;
                if (max ? v > bestValue : v < bestValue) { bestValue = v; best = index; }
            }
        }
        return best;
    }

    static void AccumulateRows<T>(ReduceOp op, Span<T> xs, int rowLength, StridedLoop inner, Span<T> d) where T : unmanaged, INumber<T>
    {
        Span<int> io = stackalloc int[1];
        bool first = true;
        for (int r = 0; r < inner.Rows; r++)
        {
            inner.RowOffsets(r, io);
            for (int i = 0; i < inner.Inner; i++)
            {
                var row = xs.Slice(io[0] + i * inner.InnerStrides[0], rowLength);
                if (first) { row.CopyTo(d); first = false; continue; }
                switch (op)
                {
                    case ReduceOp.Sum: TensorPrimitives.Add(d, row, d); break;
                    case ReduceOp.Max: TensorPrimitives.Max(d, row, d); break;
                    default: TensorPrimitives.Min(d, row, d); break;
                }
            }
        }
    }
}
