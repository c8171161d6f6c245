namespace NeuralCore.Tests.Nn;

/// <summary>
/// Direct-loop double-precision references for convolution and pooling, written from the PyTorch definitions
/// (no im2col, no GEMM), plus helpers to make seeded test tensors. Arrays are dense row-major NCHW.
/// </summary>
internal static class ConvReference
{
    public static double[] Values(int seed, int count, double scale = 1)
    {
        var rng = new System.Random(seed);
        var v = new double[count];
        for (int i = 0; i < count; i++) v[i] = (rng.NextDouble() * 2 - 1) * scale;
        return v;
    }

    public static Tensor Make(double[] values, int[] shape, DType dtype) =>
        Tensor.FromArray(values, Array.ConvertAll(shape, s => (long)s)).To(dtype);

    public static int Count(int[] shape)
    {
        int c = 1;
        foreach (var s in shape) c *= s;
        return c;
    }

    public static int OutSize(int size, int kernel, int stride, int pad, int dilation) => (size + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;

    /// <summary>y[n, o, oy, ox] = b[o] + Σ_{c in group, i, j} x[n, c, oy·s − p + i·d, ox·s − p + j·d] · w[o, c − g·Cg, i, j].</summary>
    public static double[] Conv(double[] x, int[] xs, double[] w, int[] ws, double[]? b, (int H, int W) s, (int H, int W) p, (int H, int W) d, int groups, out int[] ys)
    {
        int n = xs[0], c = xs[1], h = xs[2], wd = xs[3], o = ws[0], cg = ws[1], kh = ws[2], kw = ws[3];
        int oh = OutSize(h, kh, s.H, p.H, d.H), ow = OutSize(wd, kw, s.W, p.W, d.W), og = o / groups;
        ys = [n, o, oh, ow];
        var y = new double[n * o * oh * ow];
        for (int ni = 0; ni < n; ni++)
            for (int oc = 0; oc < o; oc++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                    {
                        double acc = b?[oc] ?? 0;
                        int g = oc / og;
                        for (int ci = 0; ci < cg; ci++)
                            for (int i = 0; i < kh; i++)
                                for (int j = 0; j < kw; j++)
                                {
                                    int iy = oy * s.H - p.H + i * d.H, ix = ox * s.W - p.W + j * d.W;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                    acc += x[((ni * c + g * cg + ci) * h + iy) * wd + ix] * w[((oc * cg + ci) * kh + i) * kw + j];
                                }
                        y[((ni * o + oc) * oh + oy) * ow + ox] = acc;
                    }
        return y;
    }

    /// <summary>Gradients of Σ y·gy for the convolution above, by the same loops run backwards.</summary>
    public static (double[] Dx, double[] Dw) ConvGrads(double[] x, int[] xs, double[] w, int[] ws, double[] gy, (int H, int W) s, (int H, int W) p, (int H, int W) d, int groups)
    {
        int n = xs[0], c = xs[1], h = xs[2], wd = xs[3], o = ws[0], cg = ws[1], kh = ws[2], kw = ws[3];
        int oh = OutSize(h, kh, s.H, p.H, d.H), ow = OutSize(wd, kw, s.W, p.W, d.W), og = o / groups;
        var dx = new double[x.Length];
        var dw = new double[w.Length];
        for (int ni = 0; ni < n; ni++)
            for (int oc = 0; oc < o; oc++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                    {
                        double g = gy[((ni * o + oc) * oh + oy) * ow + ox];
                        int grp = oc / og;
                        for (int ci = 0; ci < cg; ci++)
                            for (int i = 0; i < kh; i++)
                                for (int j = 0; j < kw; j++)
                                {
                                    int iy = oy * s.H - p.H + i * d.H, ix = ox * s.W - p.W + j * d.W;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                    int xi = ((ni * c + grp * cg + ci) * h + iy) * wd + ix, wi = ((oc * cg + ci) * kh + i) * kw + j;
                                    dx[xi] += g * w[wi];
                                    dw[wi] += g * x[xi];
                                }
                    }
        return (dx, dw);
    }

    public static int PoolOut(int size, int k, int s, int p, bool ceil)
    {
        int o = (int)(ceil ? Math.Ceiling((size + 2.0 * p - k) / s) : Math.Floor((size + 2.0 * p - k) / s)) + 1;
        if (ceil && (o - 1) * s >= size + p) o--;
        return o;
    }

    /// <summary>Max (NaN wins) or average pooling with PyTorch's divisor rules; returns values and, for max, flat argmax per plane.</summary>
    public static (double[] Y, long[] Index) Pool(double[] x, int[] xs, (int H, int W) k, (int H, int W) s, (int H, int W) p, bool ceil, bool max, bool countIncludePad, out int[] ys)
    {
        int planes = xs[0] * xs[1], h = xs[2], w = xs[3];
        int oh = PoolOut(h, k.H, s.H, p.H, ceil), ow = PoolOut(w, k.W, s.W, p.W, ceil);
        ys = [xs[0], xs[1], oh, ow];
        var y = new double[planes * oh * ow];
        var idx = new long[y.Length];
        for (int pl = 0; pl < planes; pl++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    int ys0 = oy * s.H - p.H, xs0 = ox * s.W - p.W;
                    int paddedH = Math.Min(ys0 + k.H, h + p.H) - ys0, paddedW = Math.Min(xs0 + k.W, w + p.W) - xs0;
                    double best = double.NegativeInfinity, sum = 0;
                    long at = -1;
                    int covered = 0;
                    for (int i = 0; i < k.H; i++)
                        for (int j = 0; j < k.W; j++)
                        {
                            int iy = ys0 + i, ix = xs0 + j;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                            double v = x[(pl * h + iy) * w + ix];
                            covered++;
                            sum += v;
                            if (at < 0 || v > best || double.IsNaN(v))
                            {
                                best = v;
                                at = iy * w + ix;
                            }
                        }
                    int o = (pl * oh + oy) * ow + ox;
                    y[o] = max ? best : sum / (countIncludePad ? paddedH * paddedW : covered);
                    idx[o] = at;
                }
        return (y, idx);
    }

    public static void AssertClose(double[] expected, double[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (double.IsNaN(expected[i]) && double.IsNaN(actual[i])) continue;
            double err = Math.Abs(expected[i] - actual[i]);
            Assert.True(err <= tol * (1 + Math.Abs(expected[i])), $"{what}: element {i} expected {expected[i]:R}, got {actual[i]:R}");
        }
    }
}
