using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace NeuralCore.Vision;

/// <summary>Reads image files (PNG, JPEG, BMP, GIF's first frame, ...) into NeuralCore image tensors.</summary>
public static class ImageFiles
{
    /// <summary>
    /// Decodes the image at <paramref name="path"/> into a Float32 [C, H, W] tensor with values in [0, 1]
    /// (8-bit samples divided by 255). With one channel, colour images are converted to luminance
    /// (ImageSharp's BT.709 weights); with three, grayscale images are replicated into R, G and B. Alpha is dropped.
    /// </summary>
    /// <param name="path">The image file.</param>
    /// <param name="channels">1 (grayscale) or 3 (RGB).</param>
    /// <returns>The pixels, [channels, height, width].</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="channels"/> is neither 1 nor 3.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an image ImageSharp can decode; the message names it.</exception>
    public static Tensor Load(string path, int channels = 3)
    {
        ArgumentNullException.ThrowIfNull(path);
        CheckChannels(channels);
        if (!File.Exists(path)) throw new FileNotFoundException($"ImageFiles.Load: \"{path}\" does not exist.", path);
        try
        {
            return channels == 1 ? Planar<L8>(path, 1) : Planar<Rgb24>(path, 3);
        }
        catch (Exception e) when (e is ImageFormatException or NotSupportedException)
        {
            throw new InvalidDataException($"ImageFiles.Load: cannot decode \"{path}\" as an image: {e.Message}", e);
        }
    }

    /// <summary>Throws unless <paramref name="channels"/> is 1 or 3.</summary>
    internal static void CheckChannels(int channels)
    {
        if (channels != 1 && channels != 3)
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "Images are read with 1 (grayscale) or 3 (RGB) channels.");
    }

    static Tensor Planar<TPixel>(string path, int channels) where TPixel : unmanaged, IPixel<TPixel>
    {
        using var image = Image.Load<TPixel>(path);
        int h = image.Height, w = image.Width, plane = h * w;
        var pixels = new TPixel[plane];
        image.CopyPixelDataTo(pixels);
        var data = new float[(long)channels * plane];
        var rgba = default(Rgba32);
        for (int i = 0; i < plane; i++)
        {
            pixels[i].ToRgba32(ref rgba);
            if (channels == 1)
            {
                data[i] = rgba.R / 255f;
                continue;
            }
            data[i] = rgba.R / 255f;
            data[plane + i] = rgba.G / 255f;
            data[2 * plane + i] = rgba.B / 255f;
        }
        return Tensor.FromArray(data, channels, h, w);
    }

    /// <summary>The (width, height) from the file's header without decoding the pixels, or an error naming the file.</summary>
    internal static (int Width, int Height) Size(string path)
    {
        IImageInfo? info;
        try
        {
            info = Image.Identify(path);
        }
        catch (Exception e) when (e is ImageFormatException or NotSupportedException)
        {
            throw new InvalidDataException($"ImageFolder: cannot decode \"{path}\" as an image: {e.Message}", e);
        }
        if (info is null) throw new InvalidDataException($"ImageFolder: cannot decode \"{path}\" as an image: unknown format.");
        return (info.Width, info.Height);
    }
}
