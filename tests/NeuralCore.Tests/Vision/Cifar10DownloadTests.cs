using System.Security.Cryptography;
using NeuralCore.Vision;

namespace NeuralCore.Tests.Vision;

public class Cifar10DownloadTests
{
    /// <summary>An archive with the official layout: cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin, batches.meta.txt.</summary>
    static byte[] OfficialLayoutArchive(out byte[] testPixels)
    {
        var entries = new List<(string, byte[]?)> { ("cifar-10-batches-bin/", null) };
        for (int b = 1; b <= 5; b++) entries.Add(($"cifar-10-batches-bin/data_batch_{b}.bin", TestFiles.CifarBatch(2, b, out _, out _)));
        entries.Add(("cifar-10-batches-bin/test_batch.bin", TestFiles.CifarBatch(4, 50, out _, out testPixels)));
        entries.Add(("cifar-10-batches-bin/batches.meta.txt", "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n"u8.ToArray()));
        return TestFiles.TarGz(entries);
    }

    [Fact]
    public void Download_VerifiesChecksum_ExtractsAndReads()
    {
        using var root = new TempDir();
        var archive = OfficialLayoutArchive(out var testPixels);
        string md5 = Convert.ToHexStringLower(MD5.HashData(archive));
        using var server = new LoopbackHttpServer(new() { ["cifar/cifar-10-binary.tar.gz"] = archive });
        var reports = new List<double>();
        var ds = new Cifar10(root.Path, train: false, download: true, url: server.Url("cifar/cifar-10-binary.tar.gz"), md5: md5.ToUpperInvariant(),
            progress: new SyncProgress(reports.Add));
        Assert.Equal(4, ds.Count);
        Assert.Equal(testPixels, ds.Images.ToArray<byte>());
        Assert.Equal(Path.Combine(root.Path, "cifar-10-batches-bin"), ds.Source);
        Assert.Equal(1.0, reports[^1]);
        Assert.All(reports, r => Assert.InRange(r, 0.0, 1.0));
        Assert.Equal(10, new Cifar10(root.Path, train: true, download: true, url: server.Url("cifar/cifar-10-binary.tar.gz")).Count);
        Assert.Equal(1, server.Requests);   // the training split came from the files already extracted
    }

    [Fact]
    public void ChecksumMismatch_ThrowsInvalidData_AndDeletesDownload()
    {
        using var root = new TempDir();
        using var server = new LoopbackHttpServer(new() { ["c.tar.gz"] = OfficialLayoutArchive(out _) });
        var e = Assert.Throws<InvalidDataException>(() =>
            new Cifar10(root.Path, download: true, url: server.Url("c.tar.gz"), md5: "00000000000000000000000000000000"));
        Assert.Contains("MD5", e.Message);
        Assert.Contains("00000000000000000000000000000000", e.Message);
        Assert.Empty(Directory.GetFiles(root.Path));
    }

    [Fact]
    public void HttpError_ThrowsIOException()
    {
        using var root = new TempDir();
        using var server = new LoopbackHttpServer([]);
        var e = Assert.ThrowsAny<IOException>(() => new Cifar10(root.Path, download: true, url: server.Url("missing.tar.gz")));
        Assert.Contains("404", e.Message);
    }

    [Fact]
    public void UnreachableServer_ThrowsIOException_WithPlacementAdvice()
    {
        using var root = new TempDir();
        string url = $"http://127.0.0.1:{LoopbackHttpServer.ClosedPort()}/cifar-10-binary.tar.gz";
        var e = Assert.ThrowsAny<IOException>(() => new Cifar10(root.Path, download: true, url: url));
        Assert.StartsWith("could not download CIFAR-10 from " + url, e.Message);
        Assert.Contains(Path.Combine(root.Path, "cifar-10-batches-bin"), e.Message);
    }

    [Fact]
    public void PathTraversalEntry_IsRefused()
    {
        using var root = new TempDir();
        string inner = Path.Combine(root.Path, "inner");
        var archive = TestFiles.TarGz([("../escaped.bin", [1, 2, 3])]);
        using var server = new LoopbackHttpServer(new() { ["evil.tar.gz"] = archive });
        var e = Assert.Throws<InvalidDataException>(() => new Cifar10(inner, download: true, url: server.Url("evil.tar.gz")));
        Assert.Contains("outside", e.Message);
        Assert.False(File.Exists(Path.Combine(root.Path, "escaped.bin")));
    }

    [Fact]
    public void ArchiveWithoutBatches_ThrowsFileNotFound()
    {
        using var root = new TempDir();
        using var server = new LoopbackHttpServer(new() { ["a.tar.gz"] = TestFiles.TarGz([("readme.txt", "hi"u8.ToArray())]) });
        var e = Assert.Throws<FileNotFoundException>(() => new Cifar10(root.Path, download: true, url: server.Url("a.tar.gz")));
        Assert.Contains("did not contain", e.Message);
    }

    sealed class SyncProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}
