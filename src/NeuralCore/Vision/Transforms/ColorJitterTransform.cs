using System.Numerics;
using NeuralCore.Data;

namespace NeuralCore.Vision;

/// <summary>
/// Random brightness, contrast, saturation and hue changes (torchvision's ColorJitter): per item the four
/// adjustments are put in a random order, then the factors are drawn uniformly — brightness, contrast and
/// saturation from [max(0, 1 − v), 1 + v], hue from [−h, h] — and applied in that order. An argument of 0
/// disables its adjustment. One-channel images get brightness and contrast only; saturation and hue need
/// three (RGB) channels. Floating images are taken to lie in [0, 1], integer images in [0, 255].
/// </summary>
internal sealed class ColorJitterTransform : ITransform
{
    readonly double brightness;
    readonly double contrast;
    readonly double saturation;
    readonly double hue;

    internal ColorJitterTransform(double brightness, double contrast, double saturation, double hue)
    {
        Check(brightness, nameof(brightness));
        Check(contrast, nameof(contrast));
        Check(saturation, nameof(saturation));
        if (!(hue >= 0 && hue <= 0.5)) throw new ArgumentOutOfRangeException(nameof(hue), hue, "ColorJitter: hue must be in [0, 0.5].");
        this.brightness = brightness;
        this.contrast = contrast;
        this.saturation = saturation;
        this.hue = hue;
    }

    static void Check(double value, string name)
    {
        if (!(value >= 0 && double.IsFinite(value)))
            throw new ArgumentOutOfRangeException(name, value, $"ColorJitter: {name} must be finite and non-negative.");
    }

    public Tensor Apply(Tensor input)
    {
        var (c, _, _) = ImageTensor.Dims(input, "ColorJitter");
        if (c != 1 && c != 3)
            throw new ArgumentException($"ColorJitter: expects a 1-channel (grayscale) or 3-channel (RGB) image, got shape {input.Shape}.");
        var gen = TransformContext.Generator;
        // Order first, then the factors in a fixed order, as torchvision's get_params.
        var order = new[] { 0, 1, 2, 3 };
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = gen.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        var factors = new double[4];
        factors[0] = Factor(gen, brightness);
        factors[1] = Factor(gen, contrast);
        factors[2] = Factor(gen, saturation);
        factors[3] = hue > 0 ? -hue + 2 * hue * gen.NextDouble() : 0;
        return ImageTensor.Run(input, new JitterKernel(order, factors, brightness > 0, contrast > 0, saturation > 0, hue > 0), "ColorJitter");
    }

    static double Factor(Generator gen, double spread)
    {
        if (spread == 0) return 1;
        double low = Math.Max(0, 1 - spread), high = 1 + spread;
        return low + (high - low) * gen.NextDouble();
    }

    public override string ToString() =>
        $"ColorJitter(brightness: {brightness}, contrast: {contrast}, saturation: {saturation}, hue: {hue})";

    readonly struct JitterKernel(int[] order, double[] factors, bool b, bool c, bool s, bool h) : IImageKernel
    {
        public Tensor Run<T>(T[] pixels, int channels, int height, int width) where T : unmanaged, INumber<T>
        {
            var x = new double[pixels.Length];
            for (int i = 0; i < x.Length; i++) x[i] = double.CreateChecked(pixels[i]);
            double bound = ImageTensor.MaxIntensity<T>();
            int plane = height * width;
            foreach (int op in order)
            {
                switch (op)
                {
                    case 0 when b: ColorAdjust.Brightness(x, factors[0], bound); break;
                    case 1 when c: ColorAdjust.Contrast(x, channels, plane, factors[1], bound); break;
                    case 2 when s && channels == 3: ColorAdjust.Saturation(x, plane, factors[2], bound); break;
                    case 3 when h && channels == 3: ColorAdjust.Hue(x, plane, factors[3], bound); break;
                }
            }
            var result = new T[pixels.Length];
            for (int i = 0; i < x.Length; i++) result[i] = ImageTensor.FromDouble<T>(x[i]);
            return Tensor.FromArray(result, channels, height, width);
        }
    }
}

/// <summary>
/// The colour adjustments of torchvision.transforms.functional on planar [C, H, W] pixels held as doubles in
/// [0, <c>bound</c>]: each works in place and clamps to [0, bound].
/// </summary>
internal static class ColorAdjust
{
    /// <summary>ITU-R 601-2 luma weights, as torchvision's rgb_to_grayscale.</summary>
    const double R = 0.2989, G = 0.587, B = 0.114;

    /// <summary>x · factor.</summary>
    internal static void Brightness(double[] x, double factor, double bound)
    {
        for (int i = 0; i < x.Length; i++) x[i] = Math.Clamp(x[i] * factor, 0, bound);
    }

    /// <summary>Blends with the mean grayscale intensity of the whole image: factor · x + (1 − factor) · mean.</summary>
    internal static void Contrast(double[] x, int channels, int plane, double factor, double bound)
    {
        double sum = 0;
        if (channels == 3)
            for (int i = 0; i < plane; i++) sum += R * x[i] + G * x[plane + i] + B * x[2 * plane + i];
        else
            for (int i = 0; i < x.Length; i++) sum += x[i];
        double mean = sum / (channels == 3 ? plane : x.Length);
        for (int i = 0; i < x.Length; i++) x[i] = Math.Clamp(factor * x[i] + (1 - factor) * mean, 0, bound);
    }

    /// <summary>Blends each RGB pixel with its own grayscale value: factor · x + (1 − factor) · gray.</summary>
    internal static void Saturation(double[] x, int plane, double factor, double bound)
    {
        for (int i = 0; i < plane; i++)
        {
            double gray = R * x[i] + G * x[plane + i] + B * x[2 * plane + i];
            for (int k = 0; k < 3; k++)
            {
                ref double v = ref x[k * plane + i];
                v = Math.Clamp(factor * v + (1 - factor) * gray, 0, bound);
            }
        }
    }

    /// <summary>Adds <paramref name="shift"/> (in turns, [−0.5, 0.5]) to the hue in HSV space, modulo 1.</summary>
    internal static void Hue(double[] x, int plane, double shift, double bound)
    {
        for (int i = 0; i < plane; i++)
        {
            double r = x[i] / bound, g = x[plane + i] / bound, b = x[2 * plane + i] / bound;
            var (hue, sat, val) = ToHsv(r, g, b);
            hue += shift;
            hue -= Math.Floor(hue);
            (r, g, b) = FromHsv(hue, sat, val);
            x[i] = Math.Clamp(r * bound, 0, bound);
            x[plane + i] = Math.Clamp(g * bound, 0, bound);
            x[2 * plane + i] = Math.Clamp(b * bound, 0, bound);
        }
    }

    /// <summary>RGB in [0, 1] to (hue in [0, 1), saturation, value), as torchvision's _rgb2hsv.</summary>
    internal static (double H, double S, double V) ToHsv(double r, double g, double b)
    {
        double max = Math.Max(r, Math.Max(g, b)), min = Math.Min(r, Math.Min(g, b));
        double chroma = max - min;
        if (chroma == 0) return (0, 0, max);
        double s = chroma / max;
        double rc = (max - r) / chroma, gc = (max - g) / chroma, bc = (max - b) / chroma;
        double h = max == r ? bc - gc : max == g ? 2 + rc - bc : 4 + gc - rc;
        h = h / 6 + 1;
        return (h - Math.Floor(h), s, max);
    }

    /// <summary>(hue in [0, 1), saturation, value) to RGB, as torchvision's _hsv2rgb.</summary>
    internal static (double R, double G, double B) FromHsv(double h, double s, double v)
    {
        double scaled = h * 6;
        double sector = Math.Floor(scaled);
        double f = scaled - sector;
        int i = ((int)sector % 6 + 6) % 6;
        double p = Math.Clamp(v * (1 - s), 0, 1);
        double q = Math.Clamp(v * (1 - s * f), 0, 1);
        double t = Math.Clamp(v * (1 - s * (1 - f)), 0, 1);
        return i switch
        {
            0 => (v, t, p),
            1 => (q, v, p),
            2 => (p, v, t),
            3 => (p, q, v),
            4 => (t, p, v),
            _ => (v, p, q),
        };
    }
}
