using NeuralCore.Vision;

namespace NeuralCore.Tests.Vision;

public class IdxReaderTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ValidFiles_ReadBackExactly(bool gz)
    {
        using var dir = new TempDir();
        var pixels = TestFiles.Bytes(5 * 4 * 3, 1);
        var images = TestFiles.Idx([5, 4, 3], pixels, rank: 3);
        images[3] = 3;
        var labels = TestFiles.Idx([5], [0, 9, 3, 3, 1]);
        File.WriteAllBytes(dir.File("i"), gz ? TestFiles.Gzip(images) : images);
        File.WriteAllBytes(dir.File("l"), gz ? TestFiles.Gzip(labels) : labels);
        var img = IdxReader.ReadImages(dir.File("i"));
        Assert.Equal(new[] { 5, 4, 3 }, img.Dims);
        Assert.Equal(pixels, img.Data);
        Assert.Equal(dir.File("i"), img.FilePath);
        var lab = IdxReader.ReadLabels(dir.File("l"));
        Assert.Equal(new[] { 5 }, lab.Dims);
        Assert.Equal(new byte[] { 0, 9, 3, 3, 1 }, lab.Data);
        Assert.Equal(new[] { 5 }, IdxReader.Read(dir.File("l")).Dims);
    }

    [Fact]
    public void LargeGzipFile_ReadsPastTheInitialBuffer()
    {
        using var dir = new TempDir();
        var pixels = TestFiles.Bytes(3000 * 28 * 28, 9);
        File.WriteAllBytes(dir.File("i.gz"), TestFiles.Gzip(TestFiles.Idx([3000, 28, 28], pixels)));
        Assert.Equal(pixels, IdxReader.ReadImages(dir.File("i.gz")).Data);
    }

    public static TheoryData<string, byte[], string> Malformed()
    {
        var ok = TestFiles.Bytes(2 * 2 * 2, 3);
        return new TheoryData<string, byte[], string>
        {
            { "labels magic for images", TestFiles.Idx([8], ok), "magic number 0x00000801" },
            { "non-zero first byte", TestFiles.Idx([2, 2, 2], ok, first: 7), "bad magic" },
            { "float element type", TestFiles.Idx([2, 2, 2], ok, type: 0x0D), "element type 0x0D" },
            { "two dims", TestFiles.Idx([2, 4], ok), "magic number 0x00000802" },
            { "truncated data", TestFiles.Idx([2, 2, 2], ok[..7]), "truncated" },
            { "truncated header", TestFiles.Idx([2, 2, 2], [])[..9], "truncated header" },
            { "empty file", [], "truncated header" },
            { "trailing bytes", TestFiles.Idx([2, 2, 2], [.. ok, 1, 2]), "2 unexpected bytes" },
            { "negative dimension", TestFiles.Idx([2, -2, 2], ok), "negative size" },
            { "huge dimensions", TestFiles.Idx([65536, 65536, 65536], ok), "exceed" },
            { "dims larger than file", TestFiles.Idx([1000, 28, 28], ok), "truncated" },
        };
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedRawFiles_ThrowInvalidData_NamingFileAndProblem(string name, byte[] content, string problem)
    {
        using var dir = new TempDir();
        string path = dir.File(name.Replace(' ', '-'));
        File.WriteAllBytes(path, content);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedGzipFiles_ThrowInvalidData(string name, byte[] content, string problem)
    {
        using var dir = new TempDir();
        string path = dir.File(name.Replace(' ', '-') + ".gz");
        File.WriteAllBytes(path, TestFiles.Gzip(content));
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));
        Assert.Contains(path, e.Message);
        if (!problem.Contains("unexpected bytes")) Assert.Contains(problem.Split(' ')[0], e.Message);
    }

    [Fact]
    public void GzipClaimingMoreThanItCanHold_IsRejectedBeforeAllocating()
    {
        using var dir = new TempDir();
        string path = dir.File("bomb.gz");
        File.WriteAllBytes(path, TestFiles.Gzip(TestFiles.Idx([60000, 100, 100], new byte[16])));
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));
        Assert.Contains("more than a", e.Message);
    }

    [Fact]
    public void CorruptGzipStream_ThrowsInvalidData_NamingFile()
    {
        using var dir = new TempDir();
        string path = dir.File("corrupt.gz");
        var gz = TestFiles.Gzip(TestFiles.Idx([2, 2, 2], TestFiles.Bytes(8, 1)));
        for (int i = 10; i < gz.Length - 8; i++) gz[i] ^= 0x5A;
        File.WriteAllBytes(path, gz);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void TruncatedGzipStream_ThrowsInvalidData()
    {
        using var dir = new TempDir();
        string path = dir.File("cut.gz");
        var gz = TestFiles.Gzip(TestFiles.Idx([50, 28, 28], TestFiles.Bytes(50 * 784, 4)));
        File.WriteAllBytes(path, gz[..(gz.Length / 2)]);
        Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));
    }

    [Fact]
    public void MissingFile_ThrowsFileNotFound()
    {
        using var dir = new TempDir();
        Assert.Throws<FileNotFoundException>(() => IdxReader.ReadImages(dir.File("nope")));
    }
}
