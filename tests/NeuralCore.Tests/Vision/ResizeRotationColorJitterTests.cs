using NeuralCore.Data;
using NeuralCore.Vision;

namespace NeuralCore.Tests.Vision;

public class ResizeRotationColorJitterTests
{
    static Tensor WithSeed(long seed, Func<Tensor> f)
    {
        using (TransformContext.Use(new Generator(seed))) return f();
    }

    /// <summary>[1, 3, 4] Float64 image holding i^1.5 for i = 0..11.</summary>
    static Tensor PowerImage()
    {
        var v = new double[12];
        for (int i = 0; i < 12; i++) v[i] = Math.Pow(i, 1.5);
        return Tensor.FromArray(v, 1, 3, 4);
    }

    static void Near(double[] expected, double[] actual, double tol)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= tol, $"at {i}: expected {expected[i]}, got {actual[i]}");
    }

    // References from torch.nn.functional.interpolate on the same input (float64).
    [Fact]
    public void Resize_Bilinear_MatchesTorchInterpolate()
    {
        var down = Transforms.Resize(5, 3).Apply(PowerImage());
        Assert.Equal(new long[] { 1, 5, 3 }, down.Shape.ToArray());
        Near([0.1666666667, 1.9142135624, 4.8015315397, 3.5120226592, 6.3239838063, 10.0341345468, 8.5300566479, 12.9386391721,
              17.8830390573, 17.4257311582, 22.7622886493, 28.5569296301, 23.3561808316, 29.3113883008, 35.6728566785],
            down.ToArray<double>(), 1e-9);
        var wide = Transforms.Resize(2, 7).Apply(PowerImage());
        Near([2.0, 2.5518160613838345, 3.4347217595979704, 4.670319964804573, 5.990670968710023, 7.551599056514936, 8.527179111393007,
              18.970562748477143, 20.425749256833424, 22.75404767020348, 25.218201018656174, 27.719952940391714, 30.349039940024557, 31.992219314795083],
            wide.ToArray<double>(), 1e-9);
    }

    [Fact]
    public void Resize_Nearest_MatchesTorchInterpolate()
    {
        var r = Transforms.Resize(5, 3, "nearest").Apply(PowerImage());
        Near([0.0, 1.0, 2.8284271247461903, 0.0, 1.0, 2.8284271247461903, 8.0, 11.180339887498949, 14.696938456699069,
              8.0, 11.180339887498949, 14.696938456699069, 22.627416997969522, 27.0, 31.622776601683793], r.ToArray<double>(), 1e-12);
    }

    [Fact]
    public void Resize_ConstantImage_StaysConstant_AndKeepsDType()
    {
        foreach (var dtype in new[] { DType.UInt8, DType.Float32 })
        {
            var image = Tensor.Full(new long[] { 3, 5, 7 }, 77.0).To(dtype);
            var r = Transforms.Resize(9, 4).Apply(image);
            Assert.Equal(dtype, r.DType);
            Assert.Equal(new long[] { 3, 9, 4 }, r.Shape.ToArray());
            Assert.All(r.ToArray<float>(), v => Assert.Equal(77f, v));
        }
    }

    [Fact]
    public void Resize_ShorterSide_KeepsAspectRatio_Truncating()
    {
        Assert.Equal(new long[] { 1, 4, 6 }, Transforms.Resize(4).Apply(Tensor.Zeros(1, 6, 10)).Shape.ToArray());
        Assert.Equal(new long[] { 2, 11, 3 }, Transforms.Resize(3).Apply(Tensor.Zeros(2, 15, 4)).Shape.ToArray());
    }

    [Fact]
    public void Resize_RejectsBadArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Transforms.Resize(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Transforms.Resize(3, -1));
        var e = Assert.Throws<ArgumentException>(() => Transforms.Resize(3, 3, "bicubic"));
        Assert.Contains("bicubic", e.Message);
        Assert.Throws<ArgumentException>(() => Transforms.Resize(3).Apply(Tensor.Zeros(4, 4)));
    }

    [Theory]
    [InlineData("nearest")]
    [InlineData("bilinear")]
    public void Rotation_By90_IsTransposeThenVerticalFlip(string interpolation)
    {
        var image = Tensor.Arange(1, 19).Reshape(2, 3, 3).To(DType.Float32);
        var r = Transforms.RandomRotation(90, 90, interpolation).Apply(image).ToArray<float>();
        var x = image.ToArray<float>();
        // Counter-clockwise: out[c, i, j] = in[c, j, W - 1 - i].
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++)
                    Assert.Equal(x[c * 9 + j * 3 + (2 - i)], r[c * 9 + i * 3 + j], 5);
    }

    [Fact]
    public void Rotation_By180_OfNonSquareImage_ReversesPixels_AndZeroRangeIsIdentity()
    {
        var image = Tensor.Arange(12).Reshape(1, 3, 4).To(DType.UInt8);
        var r = Transforms.RandomRotation(180, 180).Apply(image);
        Assert.Equal(DType.UInt8, r.DType);
        Assert.Equal(image.ToArray<float>().Reverse().ToArray(), r.ToArray<float>());
        Assert.Equal(image.ToArray<float>(), Transforms.RandomRotation(0).Apply(image).ToArray<float>());
    }

    [Fact]
    public void Rotation_By90_OfNonSquareImage_FillsCornersFromOutside()
    {
        // A 2x4 image turned a quarter about (1.5, 0.5): columns 0 and 3 of the output have no source.
        var image = Tensor.Full(new long[] { 1, 2, 4 }, 5.0).To(DType.Float32);
        var r = Transforms.RandomRotation(90, 90, fill: -1).Apply(image).ToArray<float>();
        Assert.Equal(new float[] { -1, 5, 5, -1, -1, 5, 5, -1 }, r);
    }

    [Fact]
    public void Rotation_Bilinear_At45Degrees_BlendsWithFill()
    {
        // The centre pixel of an odd image maps to itself. Output (0, 0) is (-2, -2) from the centre (2, 2); turned
        // back by 45° it samples source (x, y) = (2, 2 - 2√2), between the fill row y = -1 and the image row y = 0,
        // so it is 1 · (1 - (2√2 - 2)) + 0 · (2√2 - 2) = 3 - 2√2.
        var image = Tensor.Full(new long[] { 1, 5, 5 }, 1.0).To(DType.Float64);
        var r = Transforms.RandomRotation(45, 45, "bilinear", fill: 0).Apply(image).ToArray<double>();
        Assert.Equal(1.0, r[12], 12);
        Assert.Equal(3 - 2 * Math.Sqrt(2), r[0], 12);
        Assert.All(r, v => Assert.InRange(v, 0.0, 1.0 + 1e-12));
    }

    [Fact]
    public void Rotation_SameSeed_SameResult_AnglesStayInRange()
    {
        var image = Tensor.Rand(3, 9, 9);
        var rot = Transforms.RandomRotation(30, "bilinear");
        Assert.Equal(WithSeed(3, () => rot.Apply(image)).ToArray<float>(), WithSeed(3, () => rot.Apply(image)).ToArray<float>());
        Assert.NotEqual(WithSeed(3, () => rot.Apply(image)).ToArray<float>(), WithSeed(4, () => rot.Apply(image)).ToArray<float>());
    }

    [Fact]
    public void Rotation_RejectsBadArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Transforms.RandomRotation(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Transforms.RandomRotation(10, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Transforms.RandomRotation(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => Transforms.RandomRotation(10, fill: double.PositiveInfinity));
        Assert.Throws<ArgumentException>(() => Transforms.RandomRotation(10, "cubic"));
        Assert.Throws<ArgumentException>(() => Transforms.RandomRotation(10).Apply(Tensor.Zeros(3)));
    }

    [Fact]
    public void Brightness_Multiplies_AndClamps()
    {
        double[] x = [0.1, 0.4, 0.6, 0.9];
        ColorAdjust.Brightness(x, 1.5, 1.0);
        Near([0.15, 0.6, 0.9, 1.0], x, 1e-15);
        double[] bytes = [10, 100, 200];
        ColorAdjust.Brightness(bytes, 2, 255);
        Assert.Equal(new double[] { 20, 200, 255 }, bytes);
    }

    [Fact]
    public void Contrast_BlendsWithMeanGray()
    {
        double[] x = [0.2, 0.4, 0.6, 0.8]; // one channel, mean 0.5
        ColorAdjust.Contrast(x, 1, 4, 2, 1.0);
        Near([0.0, 0.3, 0.7, 1.0], x, 1e-12);
    }

    [Fact]
    public void Saturation_Zero_GivesGray()
    {
        double[] x = [1, 0, 0]; // one red pixel
        ColorAdjust.Saturation(x, 1, 0, 1.0);
        Near([0.2989, 0.2989, 0.2989], x, 1e-12);
    }

    [Fact]
    public void HueShift_OfPureRed_ByAThird_GivesGreen_AndByTwoThirds_Blue()
    {
        double[] x = [1, 0, 0];
        ColorAdjust.Hue(x, 1, 1.0 / 3, 1.0);
        Near([0, 1, 0], x, 1e-12);
        double[] y = [255, 0, 0];
        ColorAdjust.Hue(y, 1, -1.0 / 3, 255);
        Near([0, 0, 255], y, 1e-9);
    }

    [Fact]
    public void Hsv_RoundTrips()
    {
        var rng = new Random(1);
        for (int i = 0; i < 200; i++)
        {
            double r = rng.NextDouble(), g = rng.NextDouble(), b = rng.NextDouble();
            var (h, s, v) = ColorAdjust.ToHsv(r, g, b);
            Assert.InRange(h, 0, 1);
            var back = ColorAdjust.FromHsv(h, s, v);
            Near([r, g, b], [back.R, back.G, back.B], 1e-12);
        }
    }

    [Fact]
    public void ColorJitter_BrightnessOnly_ScalesByAFactorInRange()
    {
        var image = Tensor.Full(new long[] { 3, 2, 2 }, 0.5).To(DType.Float32);
        var jitter = Transforms.ColorJitter(brightness: 0.4);
        var factors = new HashSet<float>();
        for (int seed = 0; seed < 50; seed++)
        {
            var v = WithSeed(seed, () => jitter.Apply(image)).ToArray<float>();
            Assert.All(v, p => Assert.Equal(v[0], p));
            Assert.InRange(v[0] / 0.5f, 0.6f - 1e-6f, 1.4f + 1e-6f);
            factors.Add(v[0]);
        }
        Assert.True(factors.Count > 40);
    }

    [Fact]
    public void ColorJitter_SameSeed_SameResult_DifferentSeedDiffers()
    {
        var image = Tensor.Rand(3, 6, 6);
        var jitter = Transforms.ColorJitter(0.3, 0.3, 0.3, 0.1);
        var a = WithSeed(9, () => jitter.Apply(image)).ToArray<float>();
        Assert.Equal(a, WithSeed(9, () => jitter.Apply(image)).ToArray<float>());
        Assert.NotEqual(a, WithSeed(10, () => jitter.Apply(image)).ToArray<float>());
        Assert.All(a, v => Assert.InRange(v, 0f, 1f));
    }

    [Fact]
    public void ColorJitter_Grayscale_GetsBrightnessAndContrastOnly()
    {
        var image = Tensor.Full(new long[] { 1, 3, 3 }, 100.0).To(DType.UInt8);
        // Saturation and hue have no effect on one channel; a constant image is unchanged by contrast.
        var r = WithSeed(2, () => Transforms.ColorJitter(saturation: 0.9, hue: 0.5, contrast: 0.9).Apply(image));
        Assert.Equal(DType.UInt8, r.DType);
        Assert.All(r.ToArray<float>(), v => Assert.Equal(100f, v));
    }

    [Fact]
    public void ColorJitter_RejectsBadArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Transforms.ColorJitter(brightness: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Transforms.ColorJitter(contrast: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => Transforms.ColorJitter(hue: 0.6));
        var e = Assert.Throws<ArgumentException>(() => Transforms.ColorJitter(0.1).Apply(Tensor.Zeros(2, 3, 3)));
        Assert.Contains("ColorJitter", e.Message);
    }
}
