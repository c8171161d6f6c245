using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace NeuralCore.Explain;

/// <summary>
/// Attribution maps as images: a colormap for signed or unsigned attributions, alpha-blended over the grayscale or
/// RGB input, enlarged for small inputs, written as PNG. Only this step copies data to the CPU.
/// </summary>
public static class Heatmap
{
    static readonly (double At, byte R, byte G, byte B)[] Magnitude =
        [(0, 0, 0, 4), (0.25, 87, 16, 110), (0.5, 188, 55, 84), (0.75, 249, 142, 9), (1, 252, 255, 164)];

    static readonly (double At, byte R, byte G, byte B)[] Diverging =
        [(-1, 33, 102, 172), (-0.5, 146, 197, 222), (0, 247, 247, 247), (0.5, 244, 165, 130), (1, 178, 24, 43)];

    /// <summary>Renders <paramref name="attribution"/> over <paramref name="image"/>.</summary>
    /// <param name="attribution">The map: [H, W], [C, H, W] or [1, C, H, W] (channels are summed).</param>
    /// <param name="image">The input drawn underneath: [H, W], [C, H, W] or [1, C, H, W] with 1 or 3 channels, values in
    /// [0, 1] (other ranges are rescaled to it); null draws the colormap alone.</param>
    /// <param name="options">Colormap, opacity, clipping and enlargement; null uses the defaults.</param>
    /// <returns>An RGB image; dispose it after use.</returns>
    /// <exception cref="ArgumentException">Shapes are not images or differ in height and width; an option is out of range.</exception>
    public static Image<Rgb24> Render(Tensor attribution, Tensor? image = null, HeatmapOptions? options = null)
    {
        options ??= new HeatmapOptions();
        if (!(options.Alpha is >= 0 and <= 1) || !(options.ClipPercentile is > 0 and <= 100) || options.MinSize < 1)
            throw new ArgumentException($"Heatmap: Alpha must lie in [0, 1], ClipPercentile in (0, 100] and MinSize be positive (got {options.Alpha}, {options.ClipPercentile}, {options.MinSize}).");
        var (map, h, w) = Planes(attribution, "attribution", allowAnyChannels: true);
        var values = new double[h * w];
        for (int c = 0; c < map.Length / (h * w); c++)
            for (int i = 0; i < values.Length; i++) values[i] += map[c * h * w + i];
        bool signed = options.Signed ?? values.Any(v => v < 0);
        var sorted = values.Select(Math.Abs).Order().ToArray();
        double clip = sorted[(int)Math.Min(sorted.Length - 1, Math.Ceiling(options.ClipPercentile / 100 * sorted.Length) - 1)];
        if (clip <= 0) clip = 1;

        float[]? pixels = null;
        int channels = 0;
        if (image is not null)
        {
            (pixels, int ih, int iw) = Planes(image, "image", allowAnyChannels: false);
            if (ih != h || iw != w) throw new ArgumentException($"Heatmap: the image is {ih}×{iw}, the attribution {h}×{w}.");
            channels = pixels.Length / (h * w);
            float lo = pixels.Min(), hi = pixels.Max();
            if (lo < 0 || hi > 1) pixels = Array.ConvertAll(pixels, p => hi > lo ? (p - lo) / (hi - lo) : 0f);
        }

        int factor = Math.Max(1, (options.MinSize + Math.Max(h, w) - 1) / Math.Max(h, w));
        var result = new Image<Rgb24>(w * factor, h * factor);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x;
                double v = Math.Clamp(values[i] / clip, -1, 1);
                var (cr, cg, cb) = signed ? Lookup(Diverging, v) : Lookup(Magnitude, Math.Abs(v));
                double r = cr, g = cg, b = cb;
                if (pixels is not null)
                {
                    double a = options.Alpha * Math.Sqrt(Math.Abs(v));
                    double ir = 255 * pixels[i], ig = ir, ib = ir;
                    if (channels == 3) { ig = 255 * pixels[h * w + i]; ib = 255 * pixels[2 * h * w + i]; }
                    r = (1 - a) * ir + a * cr; g = (1 - a) * ig + a * cg; b = (1 - a) * ib + a * cb;
                }
                var color = new Rgb24((byte)Math.Round(r), (byte)Math.Round(g), (byte)Math.Round(b));
                for (int dy = 0; dy < factor; dy++)
                    for (int dx = 0; dx < factor; dx++) result[x * factor + dx, y * factor + dy] = color;
            }
        return result;
    }

    /// <summary>Renders as <see cref="Render"/> does and writes a PNG file.</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="attribution">The map.</param>
    /// <param name="image">The input drawn underneath, or null.</param>
    /// <param name="options">Drawing options, or null.</param>
    public static void SavePng(string path, Tensor attribution, Tensor? image = null, HeatmapOptions? options = null)
    {
        using var img = Render(attribution, image, options);
        img.SaveAsPng(path);
    }

    /// <summary>Renders as <see cref="Render"/> does and returns the PNG bytes.</summary>
    /// <param name="attribution">The map.</param>
    /// <param name="image">The input drawn underneath, or null.</param>
    /// <param name="options">Drawing options, or null.</param>
    public static byte[] EncodePng(Tensor attribution, Tensor? image = null, HeatmapOptions? options = null)
    {
        using var img = Render(attribution, image, options);
        using var stream = new MemoryStream();
        img.SaveAsPng(stream);
        return stream.ToArray();
    }

    static (float[] Data, int H, int W) Planes(Tensor t, string what, bool allowAnyChannels)
    {
        ArgumentNullException.ThrowIfNull(t, what);
        var s = t.Shape.ToArray();
        if (s.Length == 4 && s[0] == 1) s = s[1..];
        bool ok = s.Length == 2 || (s.Length == 3 && (allowAnyChannels || s[0] is 1 or 3));
        if (!ok || s[^1] < 1 || s[^2] < 1)
            throw new ArgumentException($"Heatmap: the {what} must be [H, W], [C, H, W] or [1, C, H, W]{(allowAnyChannels ? "" : " with 1 or 3 channels")}, got {t.Shape}.");
        return (t.To(Device.Cpu).ToArray<float>(), (int)s[^2], (int)s[^1]);
    }

    static (double R, double G, double B) Lookup((double At, byte R, byte G, byte B)[] map, double v)
    {
        int k = 1;
        while (k < map.Length - 1 && v > map[k].At) k++;
        var (a, b) = (map[k - 1], map[k]);
        double f = Math.Clamp((v - a.At) / (b.At - a.At), 0, 1);
        return (a.R + f * (b.R - a.R), a.G + f * (b.G - a.G), a.B + f * (b.B - a.B));
    }
}
