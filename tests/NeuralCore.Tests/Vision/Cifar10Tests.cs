using NeuralCore.Data;
using NeuralCore.Vision;

namespace NeuralCore.Tests.Vision;

public class Cifar10Tests
{
    /// <summary>Writes the five training batches (records 2, 3, 1, 2, 4) and the test batch (3 records).</summary>
    static (byte[] Labels, byte[] Pixels, byte[] TestLabels, byte[] TestPixels) WriteBatches(string dir)
    {
        Directory.CreateDirectory(dir);
        int[] counts = [2, 3, 1, 2, 4];
        var labels = new List<byte>();
        var pixels = new List<byte>();
        for (int b = 0; b < 5; b++)
        {
            File.WriteAllBytes(Path.Combine(dir, $"data_batch_{b + 1}.bin"), TestFiles.CifarBatch(counts[b], 10 * b, out var l, out var p));
            labels.AddRange(l);
            pixels.AddRange(p);
        }
        File.WriteAllBytes(Path.Combine(dir, "test_batch.bin"), TestFiles.CifarBatch(3, 99, out var tl, out var tp));
        return (labels.ToArray(), pixels.ToArray(), tl, tp);
    }

    [Fact]
    public void ReadsRealBinaryLayout_Exactly()
    {
        using var root = new TempDir();
        string dir = Path.Combine(root.Path, "cifar-10-batches-bin");
        var (labels, pixels, testLabels, testPixels) = WriteBatches(dir);
        File.WriteAllLines(Path.Combine(dir, "batches.meta.txt"), ["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", ""]);

        var train = new Cifar10(root.Path, train: true);
        Assert.Equal(12, train.Count);
        Assert.Equal(dir, train.Source);
        Assert.Equal(DType.UInt8, train.Images.DType);
        Assert.Equal(new long[] { 12, 3, 32, 32 }, train.Images.Shape.ToArray());
        Assert.Equal(pixels, train.Images.ToArray<byte>());
        Assert.Equal(labels.Select(l => (long)l), train.Labels.ToArray<long>());
        Assert.Equal("a7", train.Classes[7]);
        // Record 5 (second of batch 2): red plane first, then green, then blue, rows of 32.
        var (image, label) = train[5];
        Assert.Equal(DType.UInt8, image.DType);
        Assert.Equal(pixels[(5 * 3072)..(6 * 3072)], image.ToArray<byte>());
        Assert.Equal(pixels[5 * 3072 + 1024 + 32 * 3 + 4], image[1, 3, 4].Item<byte>());
        Assert.Equal(labels[5], label.Item<long>());

        var test = new Cifar10(root.Path, train: false);
        Assert.Equal(testPixels, test.Images.ToArray<byte>());
        Assert.Equal(testLabels.Select(l => (long)l), test.Labels.ToArray<long>());
    }

    [Fact]
    public void FilesDirectlyInRoot_AndStandardClassNames()
    {
        using var root = new TempDir();
        WriteBatches(root.Path);
        var ds = new Cifar10(root.Path, train: false,
            transform: Transforms.Compose(Transforms.ToTensor(), Transforms.Normalize([0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f])));
        Assert.Equal(root.Path, ds.Source);
        Assert.Equal(Cifar10.ClassNames, ds.Classes);
        Assert.Equal("truck", ds.Classes[9]);
        var (x, y) = new DataLoader(ds, batchSize: 2).First();
        Assert.Equal(DType.Float32, x.DType);
        Assert.Equal(new long[] { 2, 3, 32, 32 }, x.Shape.ToArray());
        Assert.Equal(ds.Images[0].ToArray<float>().Select(p => (p / 255f - 0.5f) / 0.5f), x[0].ToArray<float>());
        Assert.Equal(new long[] { 2 }, y.Shape.ToArray());
    }

    [Fact]
    public void MissingFiles_ThrowFileNotFound_WithInstructions()
    {
        using var root = new TempDir();
        var e = Assert.Throws<FileNotFoundException>(() => new Cifar10(root.Path));
        Assert.Contains("data_batch_1.bin", e.Message);
        Assert.Contains("download: true", e.Message);
        Assert.Contains("cifar-10-batches-bin", e.Message);
        WriteBatches(root.Path);
        File.Delete(root.File("data_batch_3.bin"));
        Assert.Throws<FileNotFoundException>(() => new Cifar10(root.Path, train: true));
        Assert.Equal(3, new Cifar10(root.Path, train: false).Count);
    }

    [Fact]
    public void SizeNotMultipleOfRecord_ThrowsInvalidData()
    {
        using var root = new TempDir();
        WriteBatches(root.Path);
        File.WriteAllBytes(root.File("test_batch.bin"), new byte[3073 * 2 - 5]);
        var e = Assert.Throws<InvalidDataException>(() => new Cifar10(root.Path, train: false));
        Assert.Contains("3073", e.Message);
        Assert.Contains("test_batch.bin", e.Message);
        File.WriteAllBytes(root.File("test_batch.bin"), []);
        Assert.Throws<InvalidDataException>(() => new Cifar10(root.Path, train: false));
    }

    [Fact]
    public void LabelAboveNine_ThrowsInvalidData()
    {
        using var root = new TempDir();
        WriteBatches(root.Path);
        var bytes = File.ReadAllBytes(root.File("test_batch.bin"));
        bytes[3073] = 10;
        File.WriteAllBytes(root.File("test_batch.bin"), bytes);
        var e = Assert.Throws<InvalidDataException>(() => new Cifar10(root.Path, train: false));
        Assert.Contains("record 1 has label 10", e.Message);
    }
}
