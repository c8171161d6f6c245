using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NeuralCore.Backends.Cpu.Kernels;

/// <summary>
/// <c>d = c ? x : y</c> over strided, broadcast operands (the condition is Bool bytes). Rows whose runs are
/// dense or one repeated value (a scalar branch, as in <c>Where(mask, g, 0)</c>) run a branch-free loop
/// with no bounds checks per element; other rows take the bounds-checked strided loop. Large work is split
/// across threads by rows, or by blocks of the single row of a dense tensor.
/// </summary>
internal static class WhereDriver
{
    public static void Run<T>(BufferView c, BufferView x, BufferView y, BufferView d) where T : unmanaged
    {
        int count = d.Count;
        if (count == 0) return;
        var loop = new StridedLoop(d.Shape, d, c, x, y);
        var job = new Job<T>(loop, c, x, y, d);
        if (loop.Rows == 1) ElementwiseSplit.Dense(count, Unsafe.SizeOf<T>(), job);
        else ElementwiseSplit.Rows(loop.Rows, loop.Inner, job);
    }

    /// <summary>Rows [first, last) of the loop, or elements [first, last) when the loop has a single row.</summary>
    readonly struct Job<T>(StridedLoop loop, BufferView c, BufferView x, BufferView y, BufferView d) : IRangeJob where T : unmanaged
    {
        public void Run(int first, int last)
        {
            Span<byte> cs = ((CpuStorage)c.Storage).AsSpan<byte>();
            Span<T> xs = ((CpuStorage)x.Storage).AsSpan<T>(), ys = ((CpuStorage)y.Storage).AsSpan<T>(), ds = ((CpuStorage)d.Storage).AsSpan<T>();
            Span<int> off = stackalloc int[4];
            int sd = loop.InnerStrides[0], sc = loop.InnerStrides[1], sx = loop.InnerStrides[2], sy = loop.InnerStrides[3];
            if (loop.Rows == 1)
            {
                loop.RowOffsets(0, off);
                Row(cs, xs, ys, ds, off[0] + first * sd, off[1] + first * sc, off[2] + first * sx, off[3] + first * sy, last - first, sd, sc, sx, sy);
                return;
            }
            for (int r = first; r < last; r++)
            {
                loop.RowOffsets(r, off);
                Row(cs, xs, ys, ds, off[0], off[1], off[2], off[3], loop.Inner, sd, sc, sx, sy);
            }
        }

        static void Row(Span<byte> cs, Span<T> xs, Span<T> ys, Span<T> ds, int od, int oc, int ox, int oy, int n, int sd, int sc, int sx, int sy)
        {
            if (n == 1) sd = sc = sx = sy = 0;
            if (sd == 1 && sc is 0 or 1 && sx is 0 or 1 && sy is 0 or 1)
            {
                // Slicing checks the bounds of each run once; the loop then reads through references.
                ref T dr = ref MemoryMarshal.GetReference(ds.Slice(od, n));
                ref byte cr = ref MemoryMarshal.GetReference(cs.Slice(oc, sc == 0 ? 1 : n));
                ref T xr = ref MemoryMarshal.GetReference(xs.Slice(ox, sx == 0 ? 1 : n));
                ref T yr = ref MemoryMarshal.GetReference(ys.Slice(oy, sy == 0 ? 1 : n));
                for (int i = 0; i < n; i++)
                    Unsafe.Add(ref dr, i) = Unsafe.Add(ref cr, i * sc) != 0 ? Unsafe.Add(ref xr, i * sx) : Unsafe.Add(ref yr, i * sy);
                return;
            }
            for (int i = 0; i < n; i++)
                ds[od + i * sd] = cs[oc + i * sc] != 0 ? xs[ox + i * sx] : ys[oy + i * sy];
        }
    }
}
