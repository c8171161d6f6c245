using Microsoft.Net.Http.Headers;
using NeuralCore.Serving.Registry;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace NeuralCore.Serving.Hosting;

/// <summary>
/// A PNG or JPEG image as a <c>:predict</c> instance: decoded, converted to grayscale, resized to the model's input
/// (bilinear) and scaled to [0, 1] (pixel / 255), the form the library's image datasets give models to train on.
/// </summary>
internal static class ImageInput
{
    /// <summary>Largest image accepted, in pixels (width × height), checked from the header before decoding.</summary>
    public const long MaxPixels = 1 << 24;

    static readonly Configuration Formats = new(new PngConfigurationModule(), new JpegConfigurationModule());

    /// <summary>True when the content type is <c>image/png</c> or <c>image/jpeg</c> (parameters ignored).</summary>
    public static bool IsImage(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && (media.MediaType.Equals("image/png", StringComparison.OrdinalIgnoreCase) || media.MediaType.Equals("image/jpeg", StringComparison.OrdinalIgnoreCase));

    /// <summary>The batch of one instance, [1, ...input shape without the batch], made from the image.</summary>
    /// <exception cref="InferenceRequestException">The input is not a grayscale image shape, or the bytes are not a PNG or JPEG image within <see cref="MaxPixels"/>.</exception>
    public static Tensor Parse(byte[] body, ModelSignature signature)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(signature);
        var spec = signature.Inputs[0];
        long[] instanceShape = [.. spec.Shape.Skip(1)];
        var (height, width) = TargetSize(instanceShape)
            ?? throw new InferenceRequestException($"The model's input \"{spec.Name}\" has shape [{string.Join(", ", spec.Shape)}]; an image needs [-1, H, W], [-1, 1, H, W] or [-1, N] with N a square. Send JSON instead.");
        try
        {
            using var stream = new MemoryStream(body, writable: false);
            var info = Image.Identify(Formats, stream)
                ?? throw new InferenceRequestException("The body is not a PNG or JPEG image.");
            if ((long)info.Width * info.Height > MaxPixels)
                throw new InferenceRequestException($"The image is {info.Width}x{info.Height} pixels, more than {MaxPixels}, the most accepted.");
            stream.Position = 0;
            using var image = Image.Load<L8>(Formats, stream);
            if (image.Width != width || image.Height != height)
                image.Mutate(x => x.Resize(width, height, KnownResamplers.Triangle));
            var data = new float[width * height];
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                    data[y * width + x] = image[x, y].PackedValue / 255f;
            return Tensor.FromArray(data, [1, .. instanceShape]);
        }
        // The decoders report damaged data with more than ImageFormatException (a truncated PNG can raise
        // ArgumentOutOfRangeException); whatever the bytes make them throw is a bad request, not a server error.
        catch (Exception e) when (e is ImageFormatException or NotSupportedException or ArgumentException or IOException
            or InvalidOperationException or IndexOutOfRangeException)
        {
            throw new InferenceRequestException($"The body is not a readable PNG or JPEG image: {e.Message}");
        }
    }

    static (int Height, int Width)? TargetSize(long[] shape)
    {
        if (shape.Any(d => d < 1 || d > 1 << 14)) return null;
        return shape switch
        {
            [var h, var w] => ((int)h, (int)w),
            [1, var h, var w] => ((int)h, (int)w),
            [var n] when (long)Math.Sqrt(n) * (long)Math.Sqrt(n) == n => ((int)Math.Sqrt(n), (int)Math.Sqrt(n)),
            _ => null,
        };
    }
}
