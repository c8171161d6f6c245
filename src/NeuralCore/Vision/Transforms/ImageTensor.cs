using System.Numerics;

namespace NeuralCore.Vision;

/// <summary>A pixel operation written once for every element type (byte, float, ...).</summary>
internal interface IImageKernel
{
    /// <summary>Runs on the row-major elements of a [C, H, W] image and returns the result tensor.</summary>
    Tensor Run<T>(T[] pixels, int channels, int height, int width) where T : unmanaged, INumber<T>;
}

/// <summary>Shape checks and element-type dispatch shared by the image transforms.</summary>
internal static class ImageTensor
{
    /// <summary>The (C, H, W) sizes of <paramref name="image"/>, or an error naming <paramref name="op"/>.</summary>
    internal static (int C, int H, int W) Dims(Tensor image, string op)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Dim != 3)
            throw new ArgumentException($"{op}: expects a [C, H, W] image tensor, got shape {image.Shape}.");
        return ((int)image.Shape[0], (int)image.Shape[1], (int)image.Shape[2]);
    }

    /// <summary>Copies the pixels out once and runs <paramref name="kernel"/> with the matching element type.</summary>
    internal static Tensor Run<TKernel>(Tensor image, TKernel kernel, string op) where TKernel : struct, IImageKernel
    {
        var (c, h, w) = Dims(image, op);
        return image.DType switch
        {
            DType.UInt8 => kernel.Run(image.ToArray<byte>(), c, h, w),
            DType.Float32 => kernel.Run(image.ToArray<float>(), c, h, w),
            DType.Float64 => kernel.Run(image.ToArray<double>(), c, h, w),
            DType.Int32 => kernel.Run(image.ToArray<int>(), c, h, w),
            DType.Int64 => kernel.Run(image.ToArray<long>(), c, h, w),
            _ => throw new ArgumentException($"{op}: images must be UInt8, Int32, Int64, Float32 or Float64, got {image.DType}."),
        };
    }

    /// <summary>True when <typeparamref name="T"/> is a floating-point pixel type.</summary>
    internal static bool IsFloating<T>() => typeof(T) == typeof(float) || typeof(T) == typeof(double);

    /// <summary>
    /// Converts a value computed in double back to the pixel type: floating types keep it, integer types round
    /// half to even (as torch's <c>round</c>) and saturate to their range.
    /// </summary>
    internal static T FromDouble<T>(double value) where T : unmanaged, INumber<T> =>
        IsFloating<T>() ? T.CreateChecked(value) : T.CreateSaturating(Math.Round(value, MidpointRounding.ToEven));

    /// <summary>The largest intensity of an image with pixel type <typeparamref name="T"/>: 1 for floating, 255 otherwise.</summary>
    internal static double MaxIntensity<T>() => IsFloating<T>() ? 1.0 : 255.0;
}
