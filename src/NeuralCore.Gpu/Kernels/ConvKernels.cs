using ILGPU;

namespace NeuralCore.Gpu.Kernels;

/// <summary>Sizes of one convolution for the device: per group, the weight is [Og, K] and the im2col matrix [K, L].</summary>
internal struct ConvShape
{
    public int C, H, W, KH, KW, OH, OW, SH, SW, PH, PW, DH, DW, Cg, K, L;
}

/// <summary>Offset and strides of a 4-d NCHW operand, in elements.</summary>
internal struct Nchw
{
    public int Offset, N, C, H, W;
}

/// <summary>
/// The data movement half of convolution as im2col + GEMM (the products run in <see cref="GemmKernels"/>).
/// Im2Col reads a strided input in place; Col2Im is written as a gather (each input element sums the column
/// entries that came from it), so the input gradient needs no atomics and is deterministic.
/// </summary>
internal static class ConvKernels
{
    /// <summary>col[n, k, l] for images [n0, n0 + nb) and one channel group; k = (c, i, j), l = (oy, ox). Input offset already points at image n0, group channel 0.</summary>
    public static void Im2Col<T>(Index1D i, ArrayView<T> x, ArrayView<T> col, ConvShape s, Nchw sx) where T : unmanaged
    {
        int l = i % s.L, t = i / s.L;
        int k = t % s.K, n = t / s.K;
        int ox = l % s.OW, oy = l / s.OW;
        int j = k % s.KW, t2 = k / s.KW;
        int ki = t2 % s.KH, c = t2 / s.KH;
        int y = oy * s.SH - s.PH + ki * s.DH, xx = ox * s.SW - s.PW + j * s.DW;
        col[i] = y >= 0 && y < s.H && xx >= 0 && xx < s.W ? x[sx.Offset + n * sx.N + c * sx.C + y * sx.H + xx * sx.W] : default;
    }

    /// <summary>dx[n, c, h, w] = Σ of the column entries taken from (c, h, w), for images [n0, n0 + nb) and one group (dense dx; offset at image n0, group channel 0).</summary>
    public static void Col2Im<T, N>(Index1D i, ArrayView<T> col, ArrayView<T> dx, ConvShape s, int dxOffset) where T : unmanaged where N : struct, INumeric<T>
    {
        var num = default(N);
        int w = i % s.W, t = i / s.W;
        int h = t % s.H;
        t /= s.H;
        int c = t % s.Cg, n = t / s.Cg;
        T sum = num.Zero;
        for (int ki = 0; ki < s.KH; ki++)
        {
            int yy = h + s.PH - ki * s.DH;
            if (yy < 0 || yy % s.SH != 0) continue;
            int oy = yy / s.SH;
            if (oy >= s.OH) continue;
            for (int j = 0; j < s.KW; j++)
            {
                int xx = w + s.PW - j * s.DW;
                if (xx < 0 || xx % s.SW != 0) continue;
                int ox = xx / s.SW;
                if (ox >= s.OW) continue;
                sum = num.Add(sum, col[(n * s.K + (c * s.KH + ki) * s.KW + j) * s.L + oy * s.OW + ox]);
            }
        }
        dx[dxOffset + ((n * s.C + c) * s.H + h) * s.W + w] = sum;
    }
}
