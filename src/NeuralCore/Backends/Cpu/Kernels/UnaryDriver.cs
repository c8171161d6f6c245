using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NeuralCore.Backends.Cpu.Kernels;

/// <summary>
/// Runs any <see cref="IUnaryKernel{T}"/> over strided operands. When input and output are both dense the
/// whole tensor is one span (split across threads when large); otherwise <see cref="StridedLoop"/> turns the
/// layout into rows and dense rows still take the kernel's span path.
/// </summary>
internal static class UnaryDriver
{
    public static void Run<T, TKernel>(TKernel kernel, BufferView x, BufferView d)
        where T : unmanaged where TKernel : struct, IUnaryKernel<T>
    {
        int count = d.Count;
        if (count == 0) return;
        if (d.IsContiguous && x.IsContiguous)
        {
            ElementwiseSplit.Dense(count, Unsafe.SizeOf<T>(), new DenseJob<T, TKernel>(kernel, x, d));
            return;
        }
        var loop = new StridedLoop(d.Shape, d, x);
        ElementwiseSplit.Rows(loop.Rows, loop.Inner, new StridedJob<T, TKernel>(kernel, loop, x, d));
    }

    /// <summary>Scalar definition over dense spans of equal length, for kernels without a span path.</summary>
    internal static void ApplyDense<T, TKernel>(TKernel kernel, ReadOnlySpan<T> x, Span<T> d)
        where T : unmanaged where TKernel : struct, IUnaryKernel<T>
    {
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T dr = ref MemoryMarshal.GetReference(d);
        for (int i = 0; i < d.Length; i++) Unsafe.Add(ref dr, i) = kernel.Apply(Unsafe.Add(ref xr, i));
    }

    readonly struct DenseJob<T, TKernel>(TKernel kernel, BufferView x, BufferView d) : IRangeJob
        where T : unmanaged where TKernel : struct, IUnaryKernel<T>
    {
        public void Run(int start, int end)
        {
            int n = end - start;
            var xs = ((CpuStorage)x.Storage).AsSpan<T>().Slice(x.Offset + start, n);
            var ds = ((CpuStorage)d.Storage).AsSpan<T>().Slice(d.Offset + start, n);
            if (!kernel.TrySpan(xs, ds)) ApplyDense(kernel, xs, ds);
        }
    }

    readonly struct StridedJob<T, TKernel>(TKernel kernel, StridedLoop loop, BufferView x, BufferView d) : IRangeJob
        where T : unmanaged where TKernel : struct, IUnaryKernel<T>
    {
        public void Run(int first, int last)
        {
            Span<T> xs = ((CpuStorage)x.Storage).AsSpan<T>(), ds = ((CpuStorage)d.Storage).AsSpan<T>();
            Span<int> off = stackalloc int[2];
            int n = loop.Inner, sd = loop.InnerStrides[0], sx = loop.InnerStrides[1];
            bool dense = loop.InnerContiguous(0) && loop.InnerContiguous(1);
            for (int r = first; r < last; r++)
            {
                loop.RowOffsets(r, off);
                if (dense)
                {
                    var xr = xs.Slice(off[1], n);
                    var dr = ds.Slice(off[0], n);
                    if (!kernel.TrySpan(xr, dr)) ApplyDense(kernel, xr, dr);
                    continue;
                }
                for (int i = 0; i < n; i++) ds[off[0] + i * sd] = kernel.Apply(xs[off[1] + i * sx]);
            }
        }
    }
}
