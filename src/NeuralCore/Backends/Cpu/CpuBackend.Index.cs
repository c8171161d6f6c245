using System.Numerics;

namespace NeuralCore.Backends.Cpu;

public sealed partial class CpuBackend
{
    static long[] ReadIndex(BufferView index, int limit, string op)
    {
        var values = new long[index.Count];
        var loop = new StridedLoop(index.Shape, index);
        Span<long> s = Span<long>(index);
        Span<int> off = stackalloc int[1];
        int w = 0;
        for (int r = 0; r < loop.Rows; r++)
        {
            loop.RowOffsets(r, off);
            for (int i = 0; i < loop.Inner; i++)
            {
                long v = s[off[0] + i * loop.InnerStrides[0]];
                if (v < -limit || v >= limit)
                    throw new ArgumentOutOfRangeException(nameof(index), $"{op}: index {v} is out of range for a dimension of size {limit}.");
                values[w++] = v < 0 ? v + limit : v;
            }
        }
        return values;
    }

    static BufferView Slice(BufferView v, int dim, long at)
    {
        var shape = (int[])v.Shape.Clone();
        shape[dim] = 1;
        return new BufferView(v.Storage, shape, v.Strides, checked(v.Offset + (int)at * v.Strides[dim]));
    }

    /// <inheritdoc />
    public void IndexSelect(BufferView x, int dim, BufferView index, BufferView destination)
    {
        var idx = ReadIndex(index, x.Shape[dim], "IndexSelect");
        for (int i = 0; i < idx.Length; i++) Copy(Slice(x, dim, idx[i]), Slice(destination, dim, i));
    }

    /// <inheritdoc />
    public void IndexAdd(BufferView destination, int dim, BufferView index, BufferView source)
    {
        var idx = ReadIndex(index, destination.Shape[dim], "IndexAdd");
        for (int i = 0; i < idx.Length; i++)
        {
            var target = Slice(destination, dim, idx[i]);
            Binary(BinaryOp.Add, target, Slice(source, dim, i), target);
        }
    }

    /// <inheritdoc />
    public void Gather(BufferView x, int dim, BufferView index, BufferView destination)
    {
        var idx = ReadIndex(index, x.Shape[dim], "Gather");
        switch (x.DType.SizeOf())
        {
            case 1: GatherTyped<byte>(x, dim, idx, index.Shape, destination); break;
            case 4: GatherTyped<int>(x, dim, idx, index.Shape, destination); break;
            default: GatherTyped<long>(x, dim, idx, index.Shape, destination); break;
        }
    }

    static void GatherTyped<T>(BufferView x, int dim, long[] idx, int[] shape, BufferView d) where T : unmanaged
    {
        Span<T> xs = Span<T>(x), ds = Span<T>(d);
        var pos = new int[shape.Length];
        for (int flat = 0; flat < idx.Length; flat++, Advance(pos, shape))
        {
            int xo = x.Offset, dO = d.Offset;
            for (int k = 0; k < pos.Length; k++)
            {
                xo += (k == dim ? (int)idx[flat] : pos[k]) * x.Strides[k];
                dO += pos[k] * d.Strides[k];
            }
            ds[dO] = xs[xo];
        }
    }

    /// <inheritdoc />
    public void ScatterAdd(BufferView destination, int dim, BufferView index, BufferView source)
    {
        var idx = ReadIndex(index, destination.Shape[dim], "ScatterAdd");
        switch (destination.DType)
        {
            case DType.Float32: ScatterAddTyped<float>(destination, dim, idx, index.Shape, source); break;
            case DType.Float64: ScatterAddTyped<double>(destination, dim, idx, index.Shape, source); break;
            case DType.Int32: ScatterAddTyped<int>(destination, dim, idx, index.Shape, source); break;
            case DType.Int64: ScatterAddTyped<long>(destination, dim, idx, index.Shape, source); break;
            case DType.UInt8: ScatterAddTyped<byte>(destination, dim, idx, index.Shape, source); break;
            default: throw new ArgumentException("ScatterAdd: not defined for Bool tensors.");
        }
    }

    static void ScatterAddTyped<T>(BufferView d, int dim, long[] idx, int[] shape, BufferView s) where T : unmanaged, INumber<T>
    {
        Span<T> ds = Span<T>(d), ss = Span<T>(s);
        var pos = new int[shape.Length];
        for (int flat = 0; flat < idx.Length; flat++, Advance(pos, shape))
        {
            int dO = d.Offset, so = s.Offset;
            for (int k = 0; k < pos.Length; k++)
            {
                dO += (k == dim ? (int)idx[flat] : pos[k]) * d.Strides[k];
                so += pos[k] * s.Strides[k];
            }
            ds[dO] += ss[so];
        }
    }

    // Row-major odometer step. Gather and scatter are not hot paths yet; when they become one (embedding
    // layers), they get dedicated loops.
    static void Advance(int[] position, int[] shape)
    {
        for (int k = shape.Length - 1; k >= 0; k--)
        {
            if (++position[k] < shape[k]) return;
            position[k] = 0;
        }
    }
}
