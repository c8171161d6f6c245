using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuralCore.Backends.Cpu;

/// <summary>
/// Max and average pooling by direct loops, one (n, c) plane per parallel item: planes are independent, so
/// results do not depend on the thread count. Window bounds follow PyTorch's CPU kernels exactly (including
/// the ceil-mode and count-include-pad divisors).
/// </summary>
public sealed unsafe partial class CpuBackend : IMaxPoolValues
{
    /// <inheritdoc />
    public void MaxPool2d(BufferView input, BufferView destination, BufferView indices, Pool2dParams p)
    {
        CheckPool(nameof(MaxPool2d), input, destination, p);
        if (indices.DType != DType.Int64 || !indices.IsContiguous || !indices.Shape.AsSpan().SequenceEqual(destination.Shape))
            throw new ArgumentException($"MaxPool2d: indices must be a contiguous Int64 view shaped like the output {ShapeMath.Format(destination.Shape)}.");
        RunPool(input, destination, indices, p, PoolKind.MaxForward);
    }

    void IMaxPoolValues.MaxPool2dValues(BufferView input, BufferView destination, Pool2dParams p)
    {
        CheckPool(nameof(IMaxPoolValues.MaxPool2dValues), input, destination, p);
        RunPool(input, destination, default, p, PoolKind.MaxForward);
    }

    /// <inheritdoc />
    public void MaxPool2dBackward(BufferView gradOutput, BufferView indices, BufferView gradInput, Pool2dParams p)
    {
        CheckPool(nameof(MaxPool2dBackward), gradInput, gradOutput, p);
        if (indices.DType != DType.Int64 || !indices.Shape.AsSpan().SequenceEqual(gradOutput.Shape))
            throw new ArgumentException($"MaxPool2dBackward: indices must be Int64 shaped like gradOutput {ShapeMath.Format(gradOutput.Shape)}.");
        RunPool(gradOutput, gradInput, indices, p, PoolKind.MaxBackward);
    }

    /// <inheritdoc />
    public void AvgPool2d(BufferView input, BufferView destination, Pool2dParams p)
    {
        CheckPool(nameof(AvgPool2d), input, destination, p);
        RunPool(input, destination, default, p, PoolKind.AvgForward);
    }

    /// <inheritdoc />
    public void AvgPool2dBackward(BufferView gradOutput, BufferView gradInput, Pool2dParams p)
    {
        CheckPool(nameof(AvgPool2dBackward), gradInput, gradOutput, p);
        RunPool(gradOutput, gradInput, default, p, PoolKind.AvgBackward);
    }

    enum PoolKind { MaxForward, MaxBackward, AvgForward, AvgBackward }

    static void CheckPool(string op, BufferView input, BufferView output, Pool2dParams p) => p.Check(op, input, output);

    // source is read (input, or gradOutput for backward kinds); target is written in full.
    void RunPool(BufferView source, BufferView target, BufferView indices, Pool2dParams p, PoolKind kind)
    {
        if (!target.IsContiguous) throw new ArgumentException($"{kind}: the destination must be contiguous.");
        Storage? sCopy = null, iCopy = null;
        try
        {
            if (!source.IsContiguous) (source, sCopy) = Densify(source);
            if (kind == PoolKind.MaxBackward && !indices.IsContiguous) (indices, iCopy) = Densify(indices);
            long* ip = indices.Storage is null ? null : Cpu(indices).Pointer<long>() + indices.Offset;
            switch (source.DType)
            {
                case DType.Float32: RunPool<float>(source, target, ip, p, kind); break;
                case DType.Float64: RunPool<double>(source, target, ip, p, kind); break;
                default: throw new ArgumentException($"{kind}: needs Float32 or Float64 tensors, got {source.DType}.");
            }
        }
        finally
        {
            sCopy?.Release();
            iCopy?.Release();
        }
    }

    static void RunPool<T>(BufferView source, BufferView target, long* indices, Pool2dParams p, PoolKind kind) where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool backward = kind is PoolKind.MaxBackward or PoolKind.AvgBackward;
        var input = backward ? target : source;
        var output = backward ? source : target;
        var job = new PoolJob<T>(p, input.Shape[2], input.Shape[3], output.Shape[2], output.Shape[3],
            Cpu(source).Pointer<T>() + source.Offset, Cpu(target).Pointer<T>() + target.Offset, indices);
        int planes = input.Shape[0] * input.Shape[1];
        long work = (long)output.Shape[2] * output.Shape[3] * p.KernelH * p.KernelW;
        switch (kind)
        {
            case PoolKind.MaxForward: CpuParallel.For(planes, work, job, static (i, j) => j.MaxForward(i)); break;
            case PoolKind.MaxBackward: CpuParallel.For(planes, work, job, static (i, j) => j.MaxBackward(i)); break;
            case PoolKind.AvgForward: CpuParallel.For(planes, work, job, static (i, j) => j.AvgForward(i)); break;
            default: CpuParallel.For(planes, work, job, static (i, j) => j.AvgBackward(i)); break;
        }
    }

    // src/dst are the kernel's read and written planes; plane i of the input is [h, w], of the output [oh, ow].
    readonly struct PoolJob<T>(Pool2dParams p, int h, int w, int oh, int ow, T* src, T* dst, long* idx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long InPlane => (long)h * w;

        long OutPlane => (long)oh * ow;

        // idx may be null (values only): then no index is written.
        public void MaxForward(int plane)
        {
            T* x = src + plane * InPlane, y = dst + plane * OutPlane;
            long* ix = idx is null ? null : idx + plane * OutPlane;
            // 2×2 windows with stride 2 and no padding: full windows run four outputs per step (float32);
            // partial windows at the edges (ceil mode) and every other shape take the general loop.
            bool pairs = typeof(T) == typeof(float) && Vector128.IsHardwareAccelerated && p.KernelH == 2 && p.KernelW == 2
                && p.StrideH == 2 && p.StrideW == 2 && p.PadH == 0 && p.PadW == 0;
            int fullRows = pairs ? Math.Min(oh, h / 2) : 0, fullCols = pairs ? Math.Min(ow, w / 2) & ~3 : 0;
            for (int oy = 0; oy < oh; oy++)
            {
                int ox = 0;
                if (oy < fullRows && fullCols > 0)
                {
                    MaxPairs((float*)x, (float*)(y + oy * ow), ix is null ? null : ix + oy * ow, oy, fullCols);
                    ox = fullCols;
                }
                for (; ox < ow; ox++) MaxWindow(x, y, ix, oy, ox);
            }
        }

        void MaxWindow(T* x, T* y, long* ix, int oy, int ox)
        {
            // 64-bit: stride, kernel and padding may each be up to int.MaxValue; clipped to the input, the bounds fit int.
            long wy0 = (long)oy * p.StrideH - p.PadH, wx0 = (long)ox * p.StrideW - p.PadW;
            int y0 = (int)Math.Clamp(wy0, 0, h), y1 = (int)Math.Clamp(wy0 + p.KernelH, 0, h);
            int x0 = (int)Math.Clamp(wx0, 0, w), x1 = (int)Math.Clamp(wx0 + p.KernelW, 0, w);
            T best = T.NegativeInfinity;
            long at = (long)y0 * w + x0;
            for (int yy = y0; yy < y1; yy++)
                for (int xx = x0; xx < x1; xx++)
                {
                    T v = x[(long)yy * w + xx];
                    if (v > best || T.IsNaN(v))
                    {
                        best = v;
                        at = (long)yy * w + xx;
                    }
                }
            y[oy * ow + ox] = best;
            if (ix is not null) ix[oy * ow + ox] = at;
        }

        // Outputs [0, count) of row oy (count a multiple of 4) from input rows 2·oy and 2·oy + 1. Candidates are
        // visited in the scalar loop's order (row by row) with the same rule (greater, or NaN), so values and
        // indices match it exactly.
        void MaxPairs(float* x, float* y, long* ix, int oy, int count)
        {
            float* r0 = x + (long)2 * oy * w, r1 = r0 + w;
            var step = Vector128.Create(8);
            var at = Vector128.Create(0, 2, 4, 6) + Vector128.Create(2 * oy * w);
            var offRight = Vector128.Create(1);
            var offDown = Vector128.Create(w);
            var offDiag = Vector128.Create(w + 1);
            if (ix is null)
            {
                // values only: the same comparisons without the index bookkeeping
                for (int ox = 0; ox < count; ox += 4)
                {
                    Even(Vector128.Load(r0 + 2 * ox), Vector128.Load(r0 + 2 * ox + 4), out var c0, out var c1);
                    Even(Vector128.Load(r1 + 2 * ox), Vector128.Load(r1 + 2 * ox + 4), out var c2, out var c3);
                    var best = c0;
                    best = Vector128.ConditionalSelect(Vector128.GreaterThan(c1, best) | ~Vector128.Equals(c1, c1), c1, best);
                    best = Vector128.ConditionalSelect(Vector128.GreaterThan(c2, best) | ~Vector128.Equals(c2, c2), c2, best);
                    best = Vector128.ConditionalSelect(Vector128.GreaterThan(c3, best) | ~Vector128.Equals(c3, c3), c3, best);
                    best.Store(y + ox);
                }
                return;
            }
            for (int ox = 0; ox < count; ox += 4)
            {
                var a0 = Vector128.Load(r0 + 2 * ox);
                var a1 = Vector128.Load(r0 + 2 * ox + 4);
                var b0 = Vector128.Load(r1 + 2 * ox);
                var b1 = Vector128.Load(r1 + 2 * ox + 4);
                Even(a0, a1, out var c0, out var c1);
                Even(b0, b1, out var c2, out var c3);
                var best = c0;
                var off = Vector128<int>.Zero;
                var take = Vector128.GreaterThan(c1, best) | ~Vector128.Equals(c1, c1);
                best = Vector128.ConditionalSelect(take, c1, best);
                off = Vector128.ConditionalSelect(take.AsInt32(), offRight, off);
                take = Vector128.GreaterThan(c2, best) | ~Vector128.Equals(c2, c2);
                best = Vector128.ConditionalSelect(take, c2, best);
                off = Vector128.ConditionalSelect(take.AsInt32(), offDown, off);
                take = Vector128.GreaterThan(c3, best) | ~Vector128.Equals(c3, c3);
                best = Vector128.ConditionalSelect(take, c3, best);
                off = Vector128.ConditionalSelect(take.AsInt32(), offDiag, off);
                best.Store(y + ox);
                var flat = at + off;
                Vector128.WidenLower(flat).Store(ix + ox);
                Vector128.WidenUpper(flat).Store(ix + ox + 2);
                at += step;
            }
        }

        // (even, odd) lanes of the 8 consecutive values lo ++ hi.
        static void Even(Vector128<float> lo, Vector128<float> hi, out Vector128<float> even, out Vector128<float> odd)
        {
            if (Sse.IsSupported)
            {
                even = Sse.Shuffle(lo, hi, 0b10_00_10_00);
                odd = Sse.Shuffle(lo, hi, 0b11_01_11_01);
            }
            else
            {
                even = Vector128.Create(lo[0], lo[2], hi[0], hi[2]);
                odd = Vector128.Create(lo[1], lo[3], hi[1], hi[3]);
            }
        }

        public void MaxBackward(int plane)
        {
            T* dy = src + plane * OutPlane, dx = dst + plane * InPlane;
            long* ix = idx + plane * OutPlane;
            new Span<T>(dx, (int)InPlane).Clear();
            for (long o = 0; o < OutPlane; o++)
            {
                long at = ix[o];
                if ((ulong)at >= (ulong)InPlane) throw new ArgumentException($"MaxPool2dBackward: index {at} is outside the {h}x{w} input plane.");
                dx[at] += dy[o];
            }
        }

        public void AvgForward(int plane)
        {
            T* x = src + plane * InPlane, y = dst + plane * OutPlane;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    var (y0, y1, x0, x1, divisor) = Window(oy, ox);
                    T sum = T.Zero;
                    for (int yy = y0; yy < y1; yy++)
                        for (int xx = x0; xx < x1; xx++) sum += x[(long)yy * w + xx];
                    y[oy * ow + ox] = divisor == 0 ? T.Zero : sum / T.CreateTruncating(divisor);
                }
        }

        public void AvgBackward(int plane)
        {
            T* dy = src + plane * OutPlane, dx = dst + plane * InPlane;
            new Span<T>(dx, (int)InPlane).Clear();
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    var (y0, y1, x0, x1, divisor) = Window(oy, ox);
                    if (divisor == 0) continue;
                    T share = dy[oy * ow + ox] / T.CreateTruncating(divisor);
                    for (int yy = y0; yy < y1; yy++)
                        for (int xx = x0; xx < x1; xx++) dx[(long)yy * w + xx] += share;
                }
        }

        // PyTorch's avg_pool2d window: the padded window (clipped to the padded input in ceil mode) sets the
        // count-include-pad divisor; the covered input rectangle sets the other one.
        // In 64-bit: stride, kernel and padding may each be up to int.MaxValue (the divisor up to 2^62).
        (int Y0, int Y1, int X0, int X1, long Divisor) Window(int oy, int ox)
        {
            long y0 = (long)oy * p.StrideH - p.PadH, x0 = (long)ox * p.StrideW - p.PadW;
            long y1 = Math.Min(y0 + p.KernelH, (long)h + p.PadH), x1 = Math.Min(x0 + p.KernelW, (long)w + p.PadW);
            long padded = (y1 - y0) * (x1 - x0);
            int cy0 = (int)Math.Clamp(y0, 0, h), cx0 = (int)Math.Clamp(x0, 0, w);
            int cy1 = (int)Math.Clamp(y1, cy0, h), cx1 = (int)Math.Clamp(x1, cx0, w);
            return (cy0, cy1, cx0, cx1, p.CountIncludePad ? padded : (long)(cy1 - cy0) * (cx1 - cx0));
        }
    }
}
