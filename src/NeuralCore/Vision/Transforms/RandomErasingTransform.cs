using System.Numerics;
using NeuralCore.Data;

namespace NeuralCore.Vision;

/// <summary>
/// With probability p, sets a random rectangle of every channel to a constant (Zhong et al., "Random Erasing
/// Data Augmentation"; torchvision's RandomErasing): the rectangle's area is a uniform fraction of the image
/// in <c>scale</c> and its aspect ratio log-uniform in <c>ratio</c>, retried up to 10 times until it fits.
/// </summary>
internal sealed class RandomErasingTransform : ITransform
{
    const int Attempts = 10;
    readonly double p;
    readonly (double Low, double High) scale;
    readonly (double Low, double High) logRatio;
    readonly double value;

    internal RandomErasingTransform(double p, (double Low, double High) scale, (double Low, double High) ratio, double value)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "RandomErasing: p must be in [0, 1].");
        if (!(scale.Low >= 0 && scale.Low <= scale.High && scale.High <= 1))
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "RandomErasing: scale must satisfy 0 <= low <= high <= 1.");
        if (!(ratio.Low > 0 && ratio.Low <= ratio.High && double.IsFinite(ratio.High)))
            throw new ArgumentOutOfRangeException(nameof(ratio), ratio, "RandomErasing: ratio must satisfy 0 < low <= high < infinity.");
        if (!double.IsFinite(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "RandomErasing: the value must be finite.");
        this.p = p;
        this.scale = scale;
        logRatio = (Math.Log(ratio.Low), Math.Log(ratio.High));
        this.value = value;
    }

    public Tensor Apply(Tensor input)
    {
        var (_, h, w) = ImageTensor.Dims(input, "RandomErasing");
        var gen = TransformContext.Generator;
        if (gen.NextDouble() >= p) return input;
        double area = (double)h * w;
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            double erase = area * Uniform(gen, scale.Low, scale.High);
            double aspect = Math.Exp(Uniform(gen, logRatio.Low, logRatio.High));
            int eh = (int)Math.Round(Math.Sqrt(erase * aspect));
            int ew = (int)Math.Round(Math.Sqrt(erase / aspect));
            if (eh >= h || ew >= w) continue;
            int top = gen.NextInt(h - eh + 1);
            int left = gen.NextInt(w - ew + 1);
            return ImageTensor.Run(input, new EraseKernel(top, left, eh, ew, value), "RandomErasing");
        }
        return input;
    }

    static double Uniform(Generator gen, double low, double high) => low + (high - low) * gen.NextDouble();

    public override string ToString() => $"RandomErasing(p: {p}, scale: {scale}, value: {value})";

    readonly struct EraseKernel(int top, int left, int height, int width, double value) : IImageKernel
    {
        public Tensor Run<T>(T[] pixels, int channels, int imageHeight, int imageWidth) where T : unmanaged, INumber<T>
        {
            T fill = T.CreateSaturating(value);
            for (int c = 0; c < channels; c++)
                for (int y = top; y < top + height; y++)
                    pixels.AsSpan((c * imageHeight + y) * imageWidth + left, width).Fill(fill);
            return Tensor.FromArray(pixels, channels, imageHeight, imageWidth);
        }
    }
}
