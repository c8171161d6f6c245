using System.Numerics;
using NeuralCore.Data;

namespace NeuralCore.Vision;

/// <summary>
/// Rotates the image counter-clockwise by an angle drawn uniformly from [min, max] degrees about its centre
/// ((W − 1) / 2, (H − 1) / 2), keeping the size (torchvision's RandomRotation with <c>expand=False</c>).
/// Output pixels whose source lies outside the image take the fill value; bilinear sampling treats the
/// pixels outside the image as the fill value.
/// </summary>
internal sealed class RandomRotationTransform : ITransform
{
    readonly double min;
    readonly double max;
    readonly Interpolation mode;
    readonly double fill;

    internal RandomRotationTransform(double min, double max, string interpolation, double fill)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max) || min > max)
            throw new ArgumentOutOfRangeException(nameof(min), (min, max), "RandomRotation: the degree range must be finite with min <= max.");
        if (!double.IsFinite(fill)) throw new ArgumentOutOfRangeException(nameof(fill), fill, "RandomRotation: the fill value must be finite.");
        this.min = min;
        this.max = max;
        mode = Interpolations.Parse(interpolation, "RandomRotation");
        this.fill = fill;
    }

    public Tensor Apply(Tensor input)
    {
        ImageTensor.Dims(input, "RandomRotation");
        double angle = min + (max - min) * TransformContext.Generator.NextDouble();
        return Rotate(input, angle, mode, fill);
    }

    /// <summary>Rotates <paramref name="image"/> counter-clockwise by <paramref name="degrees"/>.</summary>
    internal static Tensor Rotate(Tensor image, double degrees, Interpolation mode, double fill)
    {
        ImageTensor.Dims(image, "RandomRotation");
        var (sin, cos) = Math.SinCos(degrees * Math.PI / 180);
        return ImageTensor.Run(image, new RotateKernel(Snap(cos), Snap(sin), mode, fill), "RandomRotation");
    }

    /// <summary>Makes quarter turns exact: sin and cos within 1e-12 of 0 or ±1 become exactly that.</summary>
    static double Snap(double v)
    {
        if (Math.Abs(v) < 1e-12) return 0;
        if (Math.Abs(Math.Abs(v) - 1) < 1e-12) return Math.Sign(v);
        return v;
    }

    public override string ToString() =>
        $"RandomRotation(degrees: ({min}, {max}), interpolation: {mode.ToString().ToLowerInvariant()}, fill: {fill})";

    readonly struct RotateKernel(double cos, double sin, Interpolation mode, double fill) : IImageKernel
    {
        public Tensor Run<T>(T[] pixels, int channels, int height, int width) where T : unmanaged, INumber<T>
        {
            var result = new T[(long)channels * height * width];
            T fillValue = ImageTensor.FromDouble<T>(fill);
            double cx = (width - 1) * 0.5, cy = (height - 1) * 0.5;
            int plane = height * width;
            for (int y = 0; y < height; y++)
            {
                double dy = y - cy;
                for (int x = 0; x < width; x++)
                {
                    // Inverse map: the output pixel (x, y) comes from the input rotated back by the angle
                    // (y points down, so a counter-clockwise turn on screen is clockwise in these coordinates).
                    double dx = x - cx;
                    double sx = cx + cos * dx - sin * dy;
                    double sy = cy + sin * dx + cos * dy;
                    int o = y * width + x;
                    if (mode == Interpolation.Nearest)
                    {
                        int ix = (int)Math.Round(sx, MidpointRounding.ToEven), iy = (int)Math.Round(sy, MidpointRounding.ToEven);
                        bool inside = ix >= 0 && ix < width && iy >= 0 && iy < height;
                        for (int c = 0; c < channels; c++)
                            result[c * plane + o] = inside ? pixels[c * plane + iy * width + ix] : fillValue;
                        continue;
                    }
                    int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy);
                    double tx = sx - x0, ty = sy - y0;
                    for (int c = 0; c < channels; c++)
                    {
                        int p = c * plane;
                        double v = (1 - ty) * ((1 - tx) * At(pixels, p, x0, y0, width, height) + tx * At(pixels, p, x0 + 1, y0, width, height))
                                 + ty * ((1 - tx) * At(pixels, p, x0, y0 + 1, width, height) + tx * At(pixels, p, x0 + 1, y0 + 1, width, height));
                        result[p + o] = ImageTensor.FromDouble<T>(v);
                    }
                }
            }
            return Tensor.FromArray(result, channels, height, width);
        }

        double At<T>(T[] pixels, int plane, int x, int y, int width, int height) where T : unmanaged, INumber<T> =>
            x >= 0 && x < width && y >= 0 && y < height ? double.CreateChecked(pixels[plane + y * width + x]) : fill;
    }
}
