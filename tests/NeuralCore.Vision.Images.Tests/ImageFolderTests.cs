using NeuralCore.Data;
using NeuralCore.Vision;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace NeuralCore.Vision.Images.Tests;

public sealed class ImageFolderTests : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), "nc-imagefolder-" + Guid.NewGuid().ToString("N"));

    public ImageFolderTests() => Directory.CreateDirectory(root);

    public void Dispose() => Directory.Delete(root, recursive: true);

    /// <summary>A w×h RGB image whose pixel (x, y) is (seed + 10x, 20y, 255 − seed − x − y).</summary>
    static Image<Rgb24> Pattern(int w, int h, int seed)
    {
        var image = new Image<Rgb24>(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                image[x, y] = new Rgb24((byte)(seed + 10 * x), (byte)(20 * y), (byte)(255 - seed - x - y));
        return image;
    }

    static float[] Expected(int w, int h, int seed)
    {
        var v = new float[3 * w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x;
                v[i] = (byte)(seed + 10 * x) / 255f;
                v[w * h + i] = (byte)(20 * y) / 255f;
                v[2 * w * h + i] = (byte)(255 - seed - x - y) / 255f;
            }
        return v;
    }

    string Write(string relative, int w, int h, int seed)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var image = Pattern(w, h, seed);
        if (path.EndsWith(".jpg", StringComparison.Ordinal)) image.SaveAsJpeg(path, new JpegEncoder { Quality = 100 });
        else if (path.EndsWith(".bmp", StringComparison.Ordinal)) image.SaveAsBmp(path);
        else image.SaveAsPng(path);
        return path;
    }

    [Fact]
    public void Load_Png_IsExact()
    {
        var path = Write("a.png", 5, 4, 7);
        var t = ImageFiles.Load(path);
        Assert.Equal(DType.Float32, t.DType);
        Assert.Equal(new long[] { 3, 4, 5 }, t.Shape.ToArray());
        Assert.Equal(Expected(5, 4, 7), t.ToArray<float>());
    }

    [Fact]
    public void Load_Bmp_IsExact()
    {
        Assert.Equal(Expected(3, 6, 40), ImageFiles.Load(Write("b.bmp", 3, 6, 40)).ToArray<float>());
    }

    [Fact]
    public void Load_Jpeg_IsCloseAtQuality100()
    {
        var path = Write("c.jpg", 16, 16, 30);
        var actual = ImageFiles.Load(path).ToArray<float>();
        var expected = Expected(16, 16, 30);
        double meanError = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Average();
        Assert.True(meanError < 0.03, $"mean absolute error {meanError}");
    }

    [Fact]
    public void Load_OneChannel_ReadsGrayscaleExactly()
    {
        var path = Path.Combine(root, "g.png");
        using (var image = new Image<L8>(3, 2))
        {
            for (int i = 0; i < 6; i++) image[i % 3, i / 3] = new L8((byte)(40 * i));
            image.SaveAsPng(path);
        }
        var gray = ImageFiles.Load(path, channels: 1);
        Assert.Equal(new long[] { 1, 2, 3 }, gray.Shape.ToArray());
        Assert.Equal(Enumerable.Range(0, 6).Select(i => (byte)(40 * i) / 255f).ToArray(), gray.ToArray<float>());
        var rgb = ImageFiles.Load(path, channels: 3).ToArray<float>();
        Assert.Equal(gray.ToArray<float>(), rgb[..6]);
        Assert.Equal(gray.ToArray<float>(), rgb[12..]);
    }

    [Fact]
    public void ImageFolder_SortsClassesOrdinally_AndLabelsFiles()
    {
        Write("dog/2.png", 4, 3, 1);
        Write("dog/sub/1.png", 4, 3, 2);
        Write("Cat/x.png", 4, 3, 3);
        Write("cat/y.png", 4, 3, 4);
        File.WriteAllText(Path.Combine(root, "cat", "notes.txt"), "not an image");
        var data = new ImageFolder(root);
        Assert.Equal(new[] { "Cat", "cat", "dog" }, data.Classes);
        Assert.Equal(4, data.Count);
        Assert.Equal(new long[] { 0, 1, 2, 2 }, data.Labels.ToArray<long>());
        var (input, target) = data[3];
        Assert.Equal(DType.Int64, target.DType);
        Assert.Equal(2L, target.ToArray<long>()[0]);
        Assert.Equal(Expected(4, 3, 2), input.ToArray<float>()); // dog/sub/1.png sorts after dog/2.png
    }

    [Fact]
    public void ImageFolder_ExtensionsFilter_SelectsFiles()
    {
        Write("a/1.png", 2, 2, 1);
        Write("a/2.bmp", 2, 2, 2);
        var data = new ImageFolder(root, extensions: ["bmp"]);
        Assert.Equal(1, data.Count);
        Assert.EndsWith("2.bmp", data.Files[0]);
    }

    [Fact]
    public void ImageFolder_TransformsThroughDataLoader_Deterministically()
    {
        Write("a/1.png", 6, 5, 1);
        Write("a/2.png", 7, 4, 2);
        Write("b/3.jpg", 5, 5, 3);
        var data = new ImageFolder(root, Transforms.Compose(Transforms.Resize(4, 4), Transforms.RandomRotation(20, "bilinear"),
            Transforms.ColorJitter(0.2, 0.2, 0.2, 0.05)), channels: 3);
        float[] Run()
        {
            var loader = new DataLoader(data, batchSize: 3, generator: new Generator(11));
            var batches = loader.ToList();
            Assert.Single(batches);
            var (inputs, targets) = batches[0];
            Assert.Equal(new long[] { 3, 3, 4, 4 }, inputs.Shape.ToArray());
            Assert.Equal(new long[] { 0, 0, 1 }, targets.ToArray<long>());
            return inputs.ToArray<float>();
        }
        var first = Run();
        Assert.All(first, v => Assert.InRange(v, 0f, 1f));
        Assert.Equal(first, Run());
    }

    [Fact]
    public void ImageFolder_EmptyRoot_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => new ImageFolder(root));
        Assert.Contains("no class sub-folders", e.Message);
        Directory.CreateDirectory(Path.Combine(root, "empty"));
        e = Assert.Throws<ArgumentException>(() => new ImageFolder(root));
        Assert.Contains("empty", e.Message);
        Assert.Throws<DirectoryNotFoundException>(() => new ImageFolder(Path.Combine(root, "missing")));
    }

    [Fact]
    public void ImageFolder_UndecodableFile_IsNamed()
    {
        Write("a/good.png", 2, 2, 1);
        var bad = Path.Combine(root, "a", "bad.png");
        File.WriteAllText(bad, "this is not a png");
        var e = Assert.Throws<InvalidDataException>(() => new ImageFolder(root));
        Assert.Contains("bad.png", e.Message);
        var lazy = new ImageFolder(root, Transforms.Resize(2, 2));
        e = Assert.Throws<InvalidDataException>(() => lazy[0]);
        Assert.Contains("bad.png", e.Message);
    }

    [Fact]
    public void ImageFolder_MixedSizesWithoutTransform_Throws()
    {
        Write("a/1.png", 2, 2, 1);
        Write("b/2.png", 3, 2, 1);
        var e = Assert.Throws<ArgumentException>(() => new ImageFolder(root));
        Assert.Contains("differ in size", e.Message);
        Assert.Contains("Resize", e.Message);
    }

    [Fact]
    public void ImageFolder_RejectsBadArguments()
    {
        Assert.Throws<ArgumentNullException>(() => new ImageFolder(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageFolder(root, channels: 4));
        Assert.Throws<ArgumentException>(() => new ImageFolder(root, extensions: [""]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageFiles.Load("x.png", channels: 2));
        Assert.Throws<FileNotFoundException>(() => ImageFiles.Load(Path.Combine(root, "none.png")));
    }
}
