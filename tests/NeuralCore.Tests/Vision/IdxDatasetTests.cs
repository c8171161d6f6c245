using NeuralCore.Data;
using NeuralCore.Vision;

namespace NeuralCore.Tests.Vision;

public class IdxDatasetTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FilesInRoot_TakePrecedence_AndDecodeExactly(bool gz)
    {
        using var dir = new TempDir();
        TestFiles.WriteIdxSplit(dir.Path, train: false, n: 6, rows: 5, cols: 4, gz: gz, seed: 7);
        var ds = new FashionMnist(dir.Path, train: false, download: false);
        Assert.Equal(dir.Path, ds.Source);
        Assert.Equal(6, ds.Count);
        var pixels = TestFiles.Bytes(6 * 5 * 4, 7);
        var labels = TestFiles.Bytes(6, 8, 10);
        Assert.Equal(DType.Float32, ds.Images.DType);
        Assert.Equal(new long[] { 6, 1, 5, 4 }, ds.Images.Shape.ToArray());
        Assert.Equal(pixels.Select(p => p / 255f), ds.Images.ToArray<float>());
        Assert.Equal(pixels, ds.Pixels.ToArray<byte>());
        Assert.Equal(DType.Int64, ds.Labels.DType);
        Assert.Equal(labels.Select(l => (long)l), ds.Labels.ToArray<long>());
        var (input, target) = ds[3];
        Assert.Equal(DType.Float32, input.DType);
        Assert.Equal(new long[] { 1, 5, 4 }, input.Shape.ToArray());
        Assert.Equal(pixels.Skip(60).Take(20).Select(p => p / 255f), input.ToArray<float>());
        Assert.Equal(labels[3], target.Item<long>());
        Assert.Equal("Ankle boot", ds.Classes[9]);
        var (xs, ys) = ds.GetBatch([5, 1]);
        Assert.Equal(new long[] { 2, 1, 5, 4 }, xs.Shape.ToArray());
        Assert.Equal(new long[] { labels[5], labels[1] }, ys.ToArray<long>());
    }

    sealed class Recorder : ITransform
    {
        public DType? Seen;

        public Tensor Apply(Tensor input)
        {
            Seen = input.DType;
            return input.To(DType.Float32) * 2f;
        }
    }

    [Fact]
    public void Transform_ReceivesUInt8Image()
    {
        using var dir = new TempDir();
        TestFiles.WriteIdxSplit(dir.Path, train: true, n: 3, rows: 2, cols: 2, gz: false, seed: 1);
        var recorder = new Recorder();
        var ds = new Mnist(dir.Path, download: false, transform: recorder);
        var x = ds[1].Input;
        Assert.Equal(DType.UInt8, recorder.Seen);
        Assert.Equal(TestFiles.Bytes(12, 1).Skip(4).Take(4).Select(p => 2f * p), x.ToArray<float>());
        Assert.True(ds.HasItemTransform);
        Assert.Equal(3, new DataLoader(ds, batchSize: 2).SelectMany(b => b.Targets.ToArray<long>()).Count());
    }

    [Fact]
    public void TorchvisionLayout_IsFound()
    {
        using var dir = new TempDir();
        var raw = Path.Combine(dir.Path, "MNIST", "raw");
        Directory.CreateDirectory(raw);
        TestFiles.WriteIdxSplit(raw, train: true, n: 2, rows: 3, cols: 3, gz: true, seed: 2);
        Assert.Equal(raw, new Mnist(dir.Path, download: false).Source);
    }

    [Fact]
    public void ImageLabelCountMismatch_ThrowsInvalidData()
    {
        using var dir = new TempDir();
        TestFiles.WriteIdxSplit(dir.Path, train: true, n: 4, rows: 2, cols: 2, gz: false, seed: 1, labelCount: 3);
        var e = Assert.Throws<InvalidDataException>(() => new Mnist(dir.Path, download: false));
        Assert.Contains("4 images", e.Message);
        Assert.Contains("3 labels", e.Message);
    }

    [Fact]
    public void LabelOutOfRange_ThrowsInvalidData()
    {
        using var dir = new TempDir();
        TestFiles.WriteIdxSplit(dir.Path, train: true, n: 2, rows: 2, cols: 2, gz: false, seed: 1);
        File.WriteAllBytes(dir.File("train-labels-idx1-ubyte"), TestFiles.Idx([2], [3, 10]));
        var e = Assert.Throws<InvalidDataException>(() => new Mnist(dir.Path, download: false));
        Assert.Contains("label 10", e.Message);
    }

    [Fact]
    public void MissingFiles_WithoutDownload_ThrowFileNotFound_WithAdvice()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<FileNotFoundException>(() => new Mnist(dir.Path, train: false, download: false));
        Assert.Contains("t10k-images-idx3-ubyte", e.Message);
        Assert.Contains("download: true", e.Message);
    }

    [Fact]
    public void Download_FetchesGzFilesFromServer()
    {
        using var dir = new TempDir();
        using var source = new TempDir();
        TestFiles.WriteIdxSplit(source.Path, train: true, n: 3, rows: 2, cols: 2, gz: true, seed: 4);
        var files = Directory.GetFiles(source.Path).ToDictionary(f => "mnist/" + Path.GetFileName(f), File.ReadAllBytes);
        using var server = new LoopbackHttpServer(files);
        var progress = new List<double>();
        var ds = new Mnist(dir.Path, download: true, url: server.Url("mnist"), progress: new SyncProgress(progress.Add));
        Assert.Equal(3, ds.Count);
        Assert.Equal(2, server.Requests);
        Assert.True(File.Exists(dir.File("train-images-idx3-ubyte.gz")));
        Assert.Equal(1.0, progress[^1]);
        Assert.Equal(TestFiles.Bytes(12, 4), ds.Pixels.ToArray<byte>());
        // A second load finds the downloaded files and asks the server nothing.
        Assert.Equal(3, new Mnist(dir.Path, download: true, url: server.Url("mnist")).Count);
        Assert.Equal(2, server.Requests);
    }

    [Fact]
    public void Download_Offline_ThrowsIOException_SayingWhereToPutFiles()
    {
        using var dir = new TempDir();
        string url = $"http://127.0.0.1:{LoopbackHttpServer.ClosedPort()}/mnist/";
        var e = Assert.ThrowsAny<IOException>(() => new Mnist(dir.Path, download: true, url: url));
        Assert.Contains("could not download MNIST from " + url, e.Message);
        Assert.Contains(dir.Path, e.Message);
        Assert.False(File.Exists(dir.File("train-images-idx3-ubyte.gz.part")));
    }

    sealed class SyncProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}
