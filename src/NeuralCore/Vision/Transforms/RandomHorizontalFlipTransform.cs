using System.Numerics;
using NeuralCore.Data;

namespace NeuralCore.Vision;

/// <summary>Mirrors the image left-to-right with probability p; otherwise returns the input unchanged.</summary>
internal sealed class RandomHorizontalFlipTransform : ITransform
{
    readonly double p;

    internal RandomHorizontalFlipTransform(double p)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "RandomHorizontalFlip: p must be in [0, 1].");
        this.p = p;
    }

    public Tensor Apply(Tensor input)
    {
        ImageTensor.Dims(input, "RandomHorizontalFlip");
        if (TransformContext.Generator.NextDouble() >= p) return input;
        return ImageTensor.Run(input, default(FlipKernel), "RandomHorizontalFlip");
    }

    public override string ToString() => $"RandomHorizontalFlip(p: {p})";

    readonly struct FlipKernel : IImageKernel
    {
        public Tensor Run<T>(T[] pixels, int channels, int height, int width) where T : unmanaged, INumber<T>
        {
            for (int row = 0; row < channels * height; row++) pixels.AsSpan(row * width, width).Reverse();
            return Tensor.FromArray(pixels, channels, height, width);
        }
    }
}
