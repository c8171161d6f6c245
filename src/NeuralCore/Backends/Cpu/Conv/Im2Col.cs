using System.Numerics;
using System.Numerics.Tensors;

namespace NeuralCore.Backends.Cpu;

/// <summary>
/// Unfolds image patches into GEMM columns and folds them back. For one image and one channel group, row
/// r = (c·kH + i)·kW + j of the column matrix [Cg·kH·kW, OH·OW] holds tap (i, j) of channel c at every output
/// position; positions that fall into the zero padding hold 0. <see cref="Accumulate{T}"/> is the adjoint:
/// it adds every column entry back onto the input pixel it was read from.
/// </summary>
/// <remarks>
/// Per (row, output row) the output columns whose tap lands inside the image form one interval [x0, x1), found
/// once per kernel column, so the inner loop has no bounds tests; with unit stride it is a plain span copy/add.
/// </remarks>
internal static unsafe class Im2Col
{
    /// <summary>Fills <paramref name="col"/> [channels·kH·kW, OH·OW] from contiguous planes <paramref name="image"/> [channels, H, W].</summary>
    public static void Pack<T>(T* image, T* col, int channels, in ConvGeometry g, in Conv2dParams p) where T : unmanaged, INumberBase<T>
    {
        int h = g.H, w = g.W, oh = g.OH, ow = g.OW, sw = p.StrideW;
        T* dst = col;
        for (int c = 0; c < channels; c++)
        {
            T* plane = image + (long)c * h * w;
            for (int i = 0; i < g.KH; i++)
                for (int j = 0; j < g.KW; j++, dst += (long)oh * ow)
                {
                    long xOff = (long)j * p.DilationW - p.PadW;
                    var (x0, x1) = ValidColumns(xOff, w, sw, ow);
                    for (int y = 0; y < oh; y++)
                    {
                        T* d = dst + (long)y * ow;
                        long iy = (long)y * p.StrideH - p.PadH + (long)i * p.DilationH;
                        if ((ulong)iy >= (ulong)h)
                        {
                            new Span<T>(d, ow).Clear();
                            continue;
                        }
                        T* src = plane + (long)iy * w + xOff;
                        new Span<T>(d, x0).Clear();
                        new Span<T>(d + x1, ow - x1).Clear();
                        if (sw == 1) new ReadOnlySpan<T>(src + x0, x1 - x0).CopyTo(new Span<T>(d + x0, x1 - x0));
                        else for (int x = x0; x < x1; x++) d[x] = src[(long)x * sw];
                    }
                }
        }
    }

    /// <summary>Adds every entry of <paramref name="col"/> onto the pixel of <paramref name="image"/> [channels, H, W] it came from.</summary>
    public static void Accumulate<T>(T* col, T* image, int channels, in ConvGeometry g, in Conv2dParams p) where T : unmanaged, INumberBase<T>
    {
        int h = g.H, w = g.W, oh = g.OH, ow = g.OW, sw = p.StrideW;
        T* src = col;
        for (int c = 0; c < channels; c++)
        {
            T* plane = image + (long)c * h * w;
            for (int i = 0; i < g.KH; i++)
                for (int j = 0; j < g.KW; j++, src += (long)oh * ow)
                {
                    long xOff = (long)j * p.DilationW - p.PadW;
                    var (x0, x1) = ValidColumns(xOff, w, sw, ow);
                    for (int y = 0; y < oh; y++)
                    {
                        long iy = (long)y * p.StrideH - p.PadH + (long)i * p.DilationH;
                        if ((ulong)iy >= (ulong)h) continue;
                        T* s = src + (long)y * ow;
                        T* d = plane + (long)iy * w + xOff;
                        if (sw == 1)
                        {
                            var target = new Span<T>(d + x0, x1 - x0);
                            TensorPrimitives.Add(target, new ReadOnlySpan<T>(s + x0, x1 - x0), target);
                        }
                        else
                        {
                            for (int x = x0; x < x1; x++) d[(long)x * sw] += s[x];
                        }
                    }
                }
        }
    }

    // Output columns x with 0 ≤ x·stride + offset < width, as [x0, x1) clamped to [0, outWidth]. In 64-bit:
    // padding, dilation and stride may each be up to int.MaxValue.
    static (int X0, int X1) ValidColumns(long offset, int width, int stride, int outWidth)
    {
        long x0 = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
        long x1 = width - 1 - offset < 0 ? 0 : (width - 1 - offset) / stride + 1;
        x0 = Math.Min(x0, outWidth);
        x1 = Math.Clamp(x1, x0, outWidth);
        return ((int)x0, (int)x1);
    }
}
