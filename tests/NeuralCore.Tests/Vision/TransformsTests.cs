using NeuralCore.Data;
using NeuralCore.Vision;

namespace NeuralCore.Tests.Vision;

public class TransformsTests
{
    /// <summary>A [1, 3, 3] image holding 1..9, in the requested dtype.</summary>
    static Tensor Image3x3(DType dtype) => Tensor.Arange(1, 10).Reshape(1, 3, 3).To(dtype);

    static float[] Values(Tensor t) => t.ToArray<float>();

    static Tensor WithSeed(long seed, Func<Tensor> f)
    {
        using (TransformContext.Use(new Generator(seed))) return f();
    }

    [Theory]
    [InlineData("constant", new float[] { 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0, 7, 8, 9, 0, 0, 0, 0, 0, 0 })]
    [InlineData("edge", new float[] { 1, 1, 2, 3, 3, 1, 1, 2, 3, 3, 4, 4, 5, 6, 6, 7, 7, 8, 9, 9, 7, 7, 8, 9, 9 })]
    [InlineData("reflect", new float[] { 5, 4, 5, 6, 5, 2, 1, 2, 3, 2, 5, 4, 5, 6, 5, 8, 7, 8, 9, 8, 5, 4, 5, 6, 5 })]
    public void RandomCrop_PaddingModes_MatchNumpyPad(string mode, float[] expected)
    {
        // A 5x5 crop of a 3x3 image padded by 1 has exactly one position: the whole padded image.
        foreach (var dtype in new[] { DType.UInt8, DType.Float32 })
        {
            var result = WithSeed(1, () => Transforms.RandomCrop(5, padding: 1, paddingMode: mode).Apply(Image3x3(dtype)));
            Assert.Equal(dtype, result.DType);
            Assert.Equal(new long[] { 1, 5, 5 }, result.Shape.ToArray());
            Assert.Equal(expected, Values(result));
        }
    }

    [Fact]
    public void RandomCrop_ConstantFill_UsesFillValue()
    {
        var result = WithSeed(1, () => Transforms.RandomCrop(5, padding: 1, fill: 200).Apply(Image3x3(DType.UInt8)));
        Assert.Equal(200f, Values(result)[0]);
        Assert.Equal(1f, Values(result)[6]);
    }

    [Fact]
    public void PaddingMap_ReflectsRepeatedly_WhenPaddingExceedsSize()
    {
        // numpy.pad([0, 1, 2], 4, mode="reflect") = [0 1 2 1 | 0 1 2 | 1 0 1 2]
        int[] expected = [0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2];
        for (int i = -4; i <= 6; i++) Assert.Equal(expected[i + 4], PaddingModes.Map(i, 3, PaddingMode.Reflect));
        Assert.Equal(0, PaddingModes.Map(-3, 1, PaddingMode.Reflect));
        Assert.Equal(2, PaddingModes.Map(9, 3, PaddingMode.Edge));
        Assert.Equal(-1, PaddingModes.Map(3, 3, PaddingMode.Constant));
    }

    [Fact]
    public void RandomCrop_PicksEveryWindowPosition_AndCopiesTheWindow()
    {
        var image = Tensor.Arange(16).Reshape(1, 4, 4).To(DType.UInt8);
        var crop = Transforms.RandomCrop(2);
        var seen = new HashSet<(int, int)>();
        for (int seed = 0; seed < 200; seed++)
        {
            var v = Values(WithSeed(seed, () => crop.Apply(image)));
            int top = (int)v[0] / 4, left = (int)v[0] % 4;
            Assert.Equal(new float[] { v[0], v[0] + 1, v[0] + 4, v[0] + 5 }, v);
            Assert.InRange(top, 0, 2);
            Assert.InRange(left, 0, 2);
            seen.Add((top, left));
        }
        Assert.Equal(9, seen.Count);
    }

    [Fact]
    public void RandomCrop_SameGenerator_SameResult()
    {
        var image = Tensor.Rand(3, 10, 10);
        var crop = Transforms.RandomCrop(8, padding: 3);
        Assert.Equal(Values(WithSeed(5, () => crop.Apply(image))), Values(WithSeed(5, () => crop.Apply(image))));
    }

    [Fact]
    public void RandomCrop_RejectsBadArguments()
    {
        Assert.Throws<ArgumentException>(() => Transforms.RandomCrop(4, paddingMode: "wrap"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Transforms.RandomCrop(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Transforms.RandomCrop(2, padding: -1));
        Assert.Throws<ArgumentException>(() => Transforms.RandomCrop(6).Apply(Image3x3(DType.Float32)));
        Assert.Throws<ArgumentException>(() => Transforms.RandomCrop(2).Apply(Tensor.Zeros(3, 3)));
    }

    [Theory]
    [InlineData(DType.UInt8)]
    [InlineData(DType.Float32)]
    public void HorizontalFlip_MirrorsRows_OrLeavesImage(DType dtype)
    {
        var image = Image3x3(dtype);
        var flipped = Transforms.RandomHorizontalFlip(p: 1).Apply(image);
        Assert.Equal(dtype, flipped.DType);
        Assert.Equal(new float[] { 3, 2, 1, 6, 5, 4, 9, 8, 7 }, Values(flipped));
        Assert.Equal(Values(image), Values(Transforms.RandomHorizontalFlip(p: 0).Apply(image)));
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, Values(image));   // input untouched
        var half = Transforms.RandomHorizontalFlip();
        int flips = Enumerable.Range(0, 200).Count(s => Values(WithSeed(s, () => half.Apply(image)))[0] == 3);
        Assert.InRange(flips, 60, 140);
    }

    [Theory]
    [InlineData(DType.UInt8)]
    [InlineData(DType.Float32)]
    public void CenterCrop_TakesMiddle_AndPadsSmallImages(DType dtype)
    {
        var image = Tensor.Arange(16).Reshape(1, 4, 4).To(dtype);
        Assert.Equal(new float[] { 5, 6, 9, 10 }, Values(Transforms.CenterCrop(2).Apply(image)));
        Assert.Equal(new float[] { 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0 },
            Values(Transforms.CenterCrop(4).Apply(Tensor.Arange(1, 5).Reshape(1, 2, 2).To(dtype))));
        var five = Tensor.Arange(25).Reshape(1, 5, 5).To(dtype);
        Assert.Equal(new float[] { 6, 7, 8, 11, 12, 13, 16, 17, 18 }, Values(Transforms.CenterCrop(3).Apply(five)));
        Assert.Equal(dtype, Transforms.CenterCrop(3).Apply(five).DType);
    }

    [Fact]
    public void ToTensor_ScalesBytes_AndPassesFloatsThrough()
    {
        var bytes = Tensor.FromArray(new byte[] { 0, 51, 255, 102 }, 1, 2, 2);
        var t = Transforms.ToTensor().Apply(bytes);
        Assert.Equal(DType.Float32, t.DType);
        Assert.Equal(new[] { 0f, 51 / 255f, 1f, 102 / 255f }, t.ToArray<float>());
        var f = Tensor.Rand(3, 4, 4);
        Assert.Same(f, Transforms.ToTensor().Apply(f));
        Assert.Equal(new long[] { 1, 2, 2 }, Transforms.ToTensor().Apply(Tensor.Zeros([2, 2], DType.UInt8)).Shape.ToArray());
        Assert.Throws<ArgumentException>(() => Transforms.ToTensor().Apply(Tensor.Zeros([1, 2, 2], DType.Int32)));
    }

    [Fact]
    public void Normalize_PerChannel_ForFloatAndBytes()
    {
        var x = Tensor.FromArray(new float[] { 0, 1, 0.5f, 0.25f }, 2, 1, 2);
        var n = Transforms.Normalize([0.5f, 0.25f], [0.5f, 0.25f]).Apply(x);
        Assert.Equal(new float[] { -1, 1, 1, 0 }, n.ToArray<float>());
        var bytes = Tensor.FromArray(new byte[] { 0, 255, 51, 102 }, 2, 1, 2);
        var viaBytes = Transforms.Normalize([0.5f, 0.5f], [0.5f, 0.5f]).Apply(bytes);
        var viaToTensor = Transforms.Compose(Transforms.ToTensor(), Transforms.Normalize([0.5f, 0.5f], [0.5f, 0.5f])).Apply(bytes);
        Assert.Equal(DType.Float32, viaBytes.DType);
        Assert.Equal(viaToTensor.ToArray<float>(), viaBytes.ToArray<float>());
        Assert.Equal(-1f, viaBytes.ToArray<float>()[0]);
        Assert.Equal(1f, viaBytes.ToArray<float>()[1]);
    }

    [Fact]
    public void Normalize_RejectsBadArguments()
    {
        Assert.Throws<ArgumentException>(() => Transforms.Normalize([0.5f], [0.5f, 0.5f]));
        Assert.Throws<ArgumentException>(() => Transforms.Normalize([], []));
        Assert.Throws<ArgumentException>(() => Transforms.Normalize([0.5f], [0f]));
        Assert.Throws<ArgumentException>(() => Transforms.Normalize([float.NaN], [1f]));
        var e = Assert.Throws<ArgumentException>(() => Transforms.Normalize([0.5f], [0.5f]).Apply(Tensor.Zeros(3, 2, 2)));
        Assert.Contains("3 channels", e.Message);
    }

    [Theory]
    [InlineData(DType.UInt8)]
    [InlineData(DType.Float32)]
    public void RandomErasing_ErasesOneRectangleInsideBounds_OnEveryChannel(DType dtype)
    {
        var image = Tensor.Full([3, 12, 16], 9, dtype);
        var erase = Transforms.RandomErasing(p: 1, value: 2);
        int erasedImages = 0;
        for (int seed = 0; seed < 100; seed++)
        {
            var result = WithSeed(seed, () => erase.Apply(image));
            Assert.Equal(dtype, result.DType);
            var v = Values(result);
            Assert.All(v, x => Assert.True(x == 9 || x == 2));
            int[] rows = Enumerable.Range(0, 12).Where(y => Enumerable.Range(0, 16).Any(x => v[y * 16 + x] == 2)).ToArray();
            int[] cols = Enumerable.Range(0, 16).Where(x => Enumerable.Range(0, 12).Any(y => v[y * 16 + x] == 2)).ToArray();
            int count = v.Take(12 * 16).Count(x => x == 2);
            if (count == 0) continue;
            erasedImages++;
            // One solid rectangle, strictly smaller than the image, identical in all channels.
            Assert.Equal(rows.Length * cols.Length, count);
            Assert.Equal(rows[^1] - rows[0] + 1, rows.Length);
            Assert.Equal(cols[^1] - cols[0] + 1, cols.Length);
            Assert.True(rows.Length < 12 && cols.Length < 16);
            Assert.InRange(count, 1, (int)(0.33 * 12 * 16 * 1.5));
            for (int c = 1; c < 3; c++) Assert.Equal(v.Take(192), v.Skip(c * 192).Take(192));
        }
        Assert.True(erasedImages > 80, $"only {erasedImages} of 100 images were erased with p = 1");
        Assert.All(Values(image), x => Assert.Equal(9, x));                  // input untouched
        Assert.Same(image, Transforms.RandomErasing(p: 0).Apply(image));
    }

    [Fact]
    public void RandomErasing_RejectsBadArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Transforms.RandomErasing(p: 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Transforms.RandomErasing(scale: (0.5, 0.1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Transforms.RandomErasing(ratio: (0, 1)));
    }

    [Fact]
    public void Compose_AppliesInOrder_AnyPositionOfToTensor()
    {
        var bytes = Tensor.FromArray(new byte[] { 10, 20, 30, 40, 50, 60, 70, 80, 90 }, 1, 3, 3);
        var flipFirst = Transforms.Compose(Transforms.RandomHorizontalFlip(1), Transforms.CenterCrop(1), Transforms.ToTensor());
        var floatFirst = Transforms.Compose(Transforms.ToTensor(), Transforms.RandomHorizontalFlip(1), Transforms.CenterCrop(1));
        Assert.Equal(flipFirst.Apply(bytes).ToArray<float>(), floatFirst.Apply(bytes).ToArray<float>());
        Assert.Equal(50 / 255f, flipFirst.Apply(bytes).Item<float>());
        var cropThenFlip = Transforms.Compose(Transforms.RandomCrop(2, paddingMode: "edge"), Transforms.RandomHorizontalFlip(1));
        var r = WithSeed(0, () => cropThenFlip.Apply(bytes)).ToArray<float>();
        Assert.Equal(r[0] - 10, r[1]);                                    // a flipped 2x2 window: right-to-left
        Assert.Throws<ArgumentNullException>(() => Transforms.Compose(Transforms.ToTensor(), null!));
    }

    [Fact]
    public void OutsideLoader_TransformsDrawFromDefaultGenerator_UnlessOneIsInstalled()
    {
        Assert.Null(TransformContext.Current);
        Assert.Same(Rng.Default, TransformContext.Generator);
        var g = new Generator(1);
        using (TransformContext.Use(g))
        {
            Assert.Same(g, TransformContext.Generator);
            using (TransformContext.Use(new Generator(2))) Assert.NotSame(g, TransformContext.Generator);
            Assert.Same(g, TransformContext.Generator);
        }
        Assert.Null(TransformContext.Current);
    }
}
