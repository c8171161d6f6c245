using ILGPU;

namespace NeuralCore.Gpu.Kernels;

/// <summary>Pooling geometry for the device (padding is implicit; CountIncludePad is 0 or 1).</summary>
internal struct PoolShape
{
    public int C, H, W, OH, OW, KH, KW, SH, SW, PH, PW, CountIncludePad;
}

/// <summary>
/// Max and average pooling over NCHW planes, one thread per output element (forward) or per input element
/// (average backward, a gather over the windows covering it, deterministic). Max backward scatters with
/// atomics, since overlapping windows can pick the same input. Window bounds follow the CPU backend exactly.
/// </summary>
internal static class PoolKernels
{
    /// <summary>y = the window maximum (NaN wins, the first of equal values), indices = its position in the input plane.</summary>
    public static void MaxForward<T, N>(Index1D i, ArrayView<T> x, ArrayView<T> y, ArrayView<long> indices, PoolShape p, Nchw sx, T negativeInfinity)
        where T : unmanaged where N : struct, INumeric<T>
    {
        var best = MaxWindow<T, N>(i, x, p, sx, negativeInfinity);
        y[i] = best.Value;
        indices[i] = best.Index;
    }

    /// <summary><see cref="MaxForward{T, N}"/> without the indices (no gradient recorded); y is dense.</summary>
    public static void MaxValues<T, N>(Index1D i, ArrayView<T> x, ArrayView<T> y, PoolShape p, Nchw sx, T negativeInfinity)
        where T : unmanaged where N : struct, INumeric<T>
    {
        y[i] = MaxWindow<T, N>(i, x, p, sx, negativeInfinity).Value;
    }

    static Partial<T> MaxWindow<T, N>(int i, ArrayView<T> x, PoolShape p, Nchw sx, T negativeInfinity)
        where T : unmanaged where N : struct, INumeric<T>
    {
        var num = default(N);
        int ox = i % p.OW, t = i / p.OW;
        int oy = t % p.OH, plane = t / p.OH;
        int n = plane / p.C, c = plane % p.C;
        int y0 = oy * p.SH - p.PH, y1 = IntrinsicMath.Min(y0 + p.KH, p.H);
        int x0 = ox * p.SW - p.PW, x1 = IntrinsicMath.Min(x0 + p.KW, p.W);
        y0 = IntrinsicMath.Max(y0, 0);
        x0 = IntrinsicMath.Max(x0, 0);
        T best = negativeInfinity;
        long at = (long)y0 * p.W + x0;
        int baseOffset = sx.Offset + n * sx.N + c * sx.C;
        for (int yy = y0; yy < y1; yy++)
            for (int xx = x0; xx < x1; xx++)
            {
                T v = x[baseOffset + yy * sx.H + xx * sx.W];
                if (num.Lt(best, v) || num.IsNaN(v))
                {
                    best = v;
                    at = (long)yy * p.W + xx;
                }
            }
        return new Partial<T>(best, at);
    }

    /// <summary>dx[plane, indices[o]] += dy[o] for every output o; dx is dense and zeroed first. Bad indices are reported, not followed.</summary>
    public static void MaxBackward<T, N>(Index1D i, ArrayView<T> dy, ArrayView<long> indices, ArrayView<T> dx, ArrayView<long> errors,
        PoolShape p, Nchw sdy, Nchw sIdx, int dxOffset, int errorCode)
        where T : unmanaged where N : struct, INumeric<T>
    {
        int ox = i % p.OW, t = i / p.OW;
        int oy = t % p.OH, plane = t / p.OH;
        int n = plane / p.C, c = plane % p.C;
        long at = indices[sIdx.Offset + n * sIdx.N + c * sIdx.C + oy * sIdx.H + ox * sIdx.W];
        long planeSize = (long)p.H * p.W;
        if (at < 0 || at >= planeSize)
        {
            IndexKernels.Report(errors, errorCode, at, planeSize);
            return;
        }
        default(N).AtomicAdd(dx, dxOffset + (int)(plane * planeSize + at), dy[sdy.Offset + n * sdy.N + c * sdy.C + oy * sdy.H + ox * sdy.W]);
    }

    public static void AvgForward<T, N>(Index1D i, ArrayView<T> x, ArrayView<T> y, PoolShape p, Nchw sx)
        where T : unmanaged where N : struct, INumeric<T>
    {
        var num = default(N);
        int ox = i % p.OW, t = i / p.OW;
        int oy = t % p.OH, plane = t / p.OH;
        int n = plane / p.C, c = plane % p.C;
        var win = Window(p, oy, ox);
        T sum = num.Zero;
        int baseOffset = sx.Offset + n * sx.N + c * sx.C;
        for (int yy = win.Y0; yy < win.Y1; yy++)
            for (int xx = win.X0; xx < win.X1; xx++) sum = num.Add(sum, x[baseOffset + yy * sx.H + xx * sx.W]);
        y[i] = win.Divisor == 0 ? num.Zero : num.Div(sum, num.FromLong(win.Divisor));
    }

    /// <summary>dx[n, c, h, w] = Σ over the windows covering (h, w) of dy / divisor (dense dx).</summary>
    public static void AvgBackward<T, N>(Index1D i, ArrayView<T> dy, ArrayView<T> dx, PoolShape p, Nchw sdy, int dxOffset)
        where T : unmanaged where N : struct, INumeric<T>
    {
        var num = default(N);
        int w = i % p.W, t = i / p.W;
        int h = t % p.H, plane = t / p.H;
        int n = plane / p.C, c = plane % p.C;
        // Windows start at o·S − P and cover K rows: o ∈ [ceil((h + P − K + 1) / S), floor((h + P) / S)].
        int oyLo = IntrinsicMath.Max(0, CeilDiv(h + p.PH - p.KH + 1, p.SH)), oyHi = IntrinsicMath.Min(p.OH - 1, (h + p.PH) / p.SH);
        int oxLo = IntrinsicMath.Max(0, CeilDiv(w + p.PW - p.KW + 1, p.SW)), oxHi = IntrinsicMath.Min(p.OW - 1, (w + p.PW) / p.SW);
        T sum = num.Zero;
        int baseOffset = sdy.Offset + n * sdy.N + c * sdy.C;
        for (int oy = oyLo; oy <= oyHi; oy++)
            for (int ox = oxLo; ox <= oxHi; ox++)
            {
                var win = Window(p, oy, ox);
                if (win.Divisor == 0) continue;
                sum = num.Add(sum, num.Div(dy[baseOffset + oy * sdy.H + ox * sdy.W], num.FromLong(win.Divisor)));
            }
        dx[dxOffset + i] = sum;
    }

    static int CeilDiv(int a, int b) => a <= 0 ? -(-a / b) : (a + b - 1) / b;

    // PyTorch's avg_pool2d window: the padded window (clipped to the padded input in ceil mode) sets the
    // count-include-pad divisor; the covered input rectangle sets the other one.
    static PoolWindow Window(PoolShape p, int oy, int ox)
    {
        int y0 = oy * p.SH - p.PH, x0 = ox * p.SW - p.PW;
        int y1 = IntrinsicMath.Min(y0 + p.KH, p.H + p.PH), x1 = IntrinsicMath.Min(x0 + p.KW, p.W + p.PW);
        int padded = (y1 - y0) * (x1 - x0);
        var win = new PoolWindow
        {
            Y0 = IntrinsicMath.Max(y0, 0),
            X0 = IntrinsicMath.Max(x0, 0),
            Y1 = IntrinsicMath.Min(y1, p.H),
            X1 = IntrinsicMath.Min(x1, p.W),
        };
        win.Divisor = p.CountIncludePad != 0 ? padded : IntrinsicMath.Max(win.Y1 - win.Y0, 0) * IntrinsicMath.Max(win.X1 - win.X0, 0);
        return win;
    }

    struct PoolWindow
    {
        public int Y0, Y1, X0, X1, Divisor;
    }
}
