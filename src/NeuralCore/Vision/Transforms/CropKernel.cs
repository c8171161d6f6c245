using System.Numerics;

namespace NeuralCore.Vision;

/// <summary>
/// Copies the window of <c>outHeight × outWidth</c> pixels whose top-left corner is (top, left) in source
/// coordinates; the window may extend past the image, where <see cref="PaddingMode"/> supplies the pixels.
/// Padding followed by cropping is thus one pass with no padded intermediate.
/// </summary>
internal readonly struct CropKernel(int top, int left, int outHeight, int outWidth, PaddingMode mode, double fill) : IImageKernel
{
    public Tensor Run<T>(T[] pixels, int channels, int height, int width) where T : unmanaged, INumber<T>
    {
        var rows = new int[outHeight];
        var cols = new int[outWidth];
        for (int y = 0; y < outHeight; y++) rows[y] = PaddingModes.Map(top + y, height, mode);
        for (int x = 0; x < outWidth; x++) cols[x] = PaddingModes.Map(left + x, width, mode);
        T value = T.CreateSaturating(fill);
        var result = new T[(long)channels * outHeight * outWidth];
        int o = 0;
        for (int c = 0; c < channels; c++)
        {
            int plane = c * height * width;
            for (int y = 0; y < outHeight; y++)
            {
                int r = rows[y];
                if (r < 0)
                {
                    result.AsSpan(o, outWidth).Fill(value);
                    o += outWidth;
                    continue;
                }
                int rowStart = plane + r * width;
                for (int x = 0; x < outWidth; x++, o++)
                {
                    int s = cols[x];
                    result[o] = s < 0 ? value : pixels[rowStart + s];
                }
            }
        }
        return Tensor.FromArray(result, channels, outHeight, outWidth);
    }
}
