using System.Numerics;
using NeuralCore.Data;

namespace NeuralCore.Vision;

/// <summary>
/// Resizes to a fixed (height, width), or scales so that the shorter side becomes a given length keeping the
/// aspect ratio (torchvision's Resize with <c>antialias=False</c>). Bilinear sampling follows
/// <c>torch.nn.functional.interpolate(mode="bilinear", align_corners=False)</c>; nearest follows its
/// <c>mode="nearest"</c> (source index <c>floor(dst · in / out)</c>).
/// </summary>
internal sealed class ResizeTransform : ITransform
{
    readonly int height;
    readonly int width;
    readonly int shorter;
    readonly Interpolation mode;

    /// <summary>A fixed output size.</summary>
    internal ResizeTransform(int height, int width, string interpolation)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        this.height = height;
        this.width = width;
        mode = Interpolations.Parse(interpolation, "Resize");
    }

    /// <summary>The shorter side becomes <paramref name="shorter"/>.</summary>
    internal ResizeTransform(int shorter, string interpolation)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shorter, 1);
        this.shorter = shorter;
        mode = Interpolations.Parse(interpolation, "Resize");
    }

    /// <summary>The output (height, width) for an <paramref name="h"/> × <paramref name="w"/> input.</summary>
    internal (int H, int W) OutputSize(int h, int w)
    {
        if (shorter == 0) return (height, width);
        // As torchvision: the longer side is truncated, int(shorter * long / short).
        long longer = (long)shorter * Math.Max(h, w) / Math.Min(h, w);
        if (longer > int.MaxValue)
            throw new ArgumentException($"Resize: scaling a {h}×{w} image to a shorter side of {shorter} gives a longer side of {longer}.");
        return h <= w ? (shorter, Math.Max(1, (int)longer)) : (Math.Max(1, (int)longer), shorter);
    }

    public Tensor Apply(Tensor input)
    {
        var (_, h, w) = ImageTensor.Dims(input, "Resize");
        if (h == 0 || w == 0) throw new ArgumentException($"Resize: the image of shape {input.Shape} is empty.");
        var (oh, ow) = OutputSize(h, w);
        if (oh == h && ow == w) return input;
        return ImageTensor.Run(input, new ResizeKernel(oh, ow, mode), "Resize");
    }

    public override string ToString() => shorter == 0
        ? $"Resize(height: {height}, width: {width}, interpolation: {mode.ToString().ToLowerInvariant()})"
        : $"Resize(size: {shorter}, interpolation: {mode.ToString().ToLowerInvariant()})";

    /// <summary>Source indices and weights along one axis: output i blends lo[i] (1 − t[i]) and hi[i] (t[i]).</summary>
    internal static (int[] Lo, int[] Hi, double[] T) Axis(int inSize, int outSize, Interpolation mode)
    {
        var lo = new int[outSize];
        var hi = new int[outSize];
        var t = new double[outSize];
        double scale = (double)inSize / outSize;
        for (int i = 0; i < outSize; i++)
        {
            if (mode == Interpolation.Nearest)
            {
                lo[i] = hi[i] = Math.Min((int)Math.Floor(i * scale), inSize - 1);
                continue;
            }
            double src = Math.Max((i + 0.5) * scale - 0.5, 0);
            int i0 = Math.Min((int)src, inSize - 1);
            lo[i] = i0;
            hi[i] = Math.Min(i0 + 1, inSize - 1);
            t[i] = src - i0;
        }
        return (lo, hi, t);
    }

    readonly struct ResizeKernel(int outHeight, int outWidth, Interpolation mode) : IImageKernel
    {
        public Tensor Run<T>(T[] pixels, int channels, int height, int width) where T : unmanaged, INumber<T>
        {
            var (y0, y1, ty) = Axis(height, outHeight, mode);
            var (x0, x1, tx) = Axis(width, outWidth, mode);
            var result = new T[(long)channels * outHeight * outWidth];
            int o = 0;
            for (int c = 0; c < channels; c++)
            {
                int plane = c * height * width;
                for (int y = 0; y < outHeight; y++)
                {
                    int r0 = plane + y0[y] * width, r1 = plane + y1[y] * width;
                    double wy = ty[y];
                    for (int x = 0; x < outWidth; x++, o++)
                    {
                        double wx = tx[x];
                        double top = double.CreateChecked(pixels[r0 + x0[x]]) * (1 - wx) + double.CreateChecked(pixels[r0 + x1[x]]) * wx;
                        double bottom = double.CreateChecked(pixels[r1 + x0[x]]) * (1 - wx) + double.CreateChecked(pixels[r1 + x1[x]]) * wx;
                        result[o] = ImageTensor.FromDouble<T>(top * (1 - wy) + bottom * wy);
                    }
                }
            }
            return Tensor.FromArray(result, channels, outHeight, outWidth);
        }
    }
}
