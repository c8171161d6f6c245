using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using NeuralCore.Vision;

namespace NeuralCore.Tests.Vision;

/// <summary>
/// Builds tar blocks byte by byte (POSIX ustar layout: name[100]@0, mode@100, uid@108, gid@116, size[12]@124,
/// mtime[12]@136, chksum[8]@148, typeflag@156, linkname[100]@157, magic[6]@257, version@263, prefix[155]@345),
/// so tests can write headers no well-behaved writer would.
/// </summary>
internal static class RawTar
{
    public static byte[] Header(string name, long size = 0, char type = '0', string link = "", byte[]? sizeField = null,
        byte[]? mtimeField = null, bool gnu = false, string prefix = "")
    {
        var h = new byte[512];
        Encoding.UTF8.GetBytes(name).AsSpan().CopyTo(h);
        "0000644\0"u8.CopyTo(h.AsSpan(100));
        "0000000\0"u8.CopyTo(h.AsSpan(108));
        "0000000\0"u8.CopyTo(h.AsSpan(116));
        (sizeField ?? Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0') + "\0")).CopyTo(h.AsSpan(124));
        (mtimeField ?? "14000000000\0"u8.ToArray()).CopyTo(h.AsSpan(136));
        h[156] = (byte)type;
        Encoding.UTF8.GetBytes(link).AsSpan().CopyTo(h.AsSpan(157));
        (gnu ? "ustar  \0"u8 : "ustar\000"u8).CopyTo(h.AsSpan(257));
        Encoding.UTF8.GetBytes(prefix).AsSpan().CopyTo(h.AsSpan(345));
        h.AsSpan(148, 8).Fill((byte)' ');
        int sum = h.Sum(b => b);
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(h.AsSpan(148));
        return h;
    }

    /// <summary>A header followed by its data padded to whole blocks.</summary>
    public static byte[] Entry(string name, byte[] data, char type = '0', string link = "") =>
        [.. Header(name, data.Length, type, link), .. data, .. new byte[(512 - data.Length % 512) % 512]];

    public static byte[] End() => new byte[1024];

    public static byte[] Gz(params byte[][] parts) => TestFiles.Gzip(parts.SelectMany(p => p).ToArray());
}

public class TarGzTests
{
    static string Refused(byte[] archive, ArchiveLimits? limits = null, TempDir? into = null)
    {
        using var owned = new TempDir();
        var dir = into ?? owned;
        string path = dir.File("a.tar.gz");
        File.WriteAllBytes(path, archive);
        var e = Assert.Throws<InvalidDataException>(() => TarGz.Extract(path, Path.Combine(dir.Path, "out"), limits));
        Assert.StartsWith($"Archive '{path}', ", e.Message);
        return e.Message;
    }

    [Fact]
    public void ExtractsFilesAndDirectories_WrittenByTheBclWriter()
    {
        using var dir = new TempDir();
        var archive = TestFiles.TarGz([("d", null), ("d/a.bin", [1, 2, 3]), ("d/e/b.bin", new byte[1000]), (new string('n', 150) + "/long.bin", [7])]);
        string path = dir.File("a.tar.gz");
        File.WriteAllBytes(path, archive);
        TarGz.Extract(path, dir.File("out"));
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(dir.File("out/d/a.bin")));
        Assert.Equal(1000, new FileInfo(dir.File("out/d/e/b.bin")).Length);
        Assert.Equal(new byte[] { 7 }, File.ReadAllBytes(dir.File($"out/{new string('n', 150)}/long.bin")));
    }

    [Theory]
    [InlineData(TarEntryFormat.Gnu)]
    [InlineData(TarEntryFormat.Ustar)]
    [InlineData(TarEntryFormat.V7)]
    public void ReadsEveryFormatTheBclWrites(TarEntryFormat format)
    {
        using var dir = new TempDir();
        using (var ms = new MemoryStream())
        {
            using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
            using (var tar = new TarWriter(gz, format, leaveOpen: true))
            {
                TarEntry entry = format switch
                {
                    TarEntryFormat.Gnu => new GnuTarEntry(TarEntryType.RegularFile, "x/" + new string('g', 120)),
                    TarEntryFormat.Ustar => new UstarTarEntry(TarEntryType.RegularFile, new string('p', 120) + "/u.bin"),
                    _ => new V7TarEntry(TarEntryType.V7RegularFile, "x/v.bin"),
                };
                entry.DataStream = new MemoryStream([5, 6]);
                tar.WriteEntry(entry);
            }
            File.WriteAllBytes(dir.File("a.tar.gz"), ms.ToArray());
        }
        TarGz.Extract(dir.File("a.tar.gz"), dir.File("out"));
        var file = Assert.Single(Directory.GetFiles(dir.File("out"), "*", SearchOption.AllDirectories));
        Assert.Equal(new byte[] { 5, 6 }, File.ReadAllBytes(file));
    }

    [Fact]
    public void Base256Numbers_AreReadOrRefusedCleanly()
    {
        // A base-256 mtime is ignored; a base-256 size is honoured.
        var mtime = new byte[12];
        mtime[0] = 0xFF;
        var size = new byte[12];
        size[0] = 0x80;
        size[11] = 3;
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("a.tar.gz"), RawTar.Gz(RawTar.Header("m.bin", 0, mtimeField: mtime),
            RawTar.Header("s.bin", sizeField: size), [9, 8, 7], new byte[509], RawTar.End()));
        TarGz.Extract(dir.File("a.tar.gz"), dir.File("out"));
        Assert.Equal(new byte[] { 9, 8, 7 }, File.ReadAllBytes(dir.File("out/s.bin")));

        var negative = Enumerable.Repeat((byte)0xFF, 12).ToArray();
        Assert.Contains("negative size", Refused(RawTar.Gz(RawTar.Header("n.bin", sizeField: negative), RawTar.End())));
        var huge = Enumerable.Repeat((byte)0x7F, 12).ToArray();
        huge[0] = 0xC0;
        Assert.Contains("overflows", Refused(RawTar.Gz(RawTar.Header("h.bin", sizeField: huge), RawTar.End())));
    }

    [Fact]
    public void GnuLongNameClaimingTenGigabytes_IsRefusedBeforeAllocating()
    {
        var archive = RawTar.Gz(RawTar.Header("././@LongLink", 10_000_000_000, 'L', gnu: true));
        Assert.True(archive.Length < 200);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var message = Refused(archive);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4_000_000);
        Assert.Contains("GNU long name of 10000000000 bytes exceeds the limit of 65536", message);
    }

    [Fact]
    public void PaxRecords_AreBoundedAndValidated()
    {
        byte[] Pax(string records) => [.. RawTar.Entry("pax", Encoding.UTF8.GetBytes(records), 'x')];
        Assert.Contains("PAX extended header of", Refused(RawTar.Gz(RawTar.Header("pax", 1 << 20, 'x'))));
        Assert.Contains("per-entry limit", Refused(RawTar.Gz(Pax("26 size=99999999999999999\n"), RawTar.Header("f", 0), RawTar.End())));
        Assert.Contains("malformed PAX record", Refused(RawTar.Gz(Pax("99 path=x\n"), RawTar.Header("f", 0), RawTar.End())));
        Assert.Contains("malformed PAX record", Refused(RawTar.Gz(Pax("-5 a=\n"), RawTar.Header("f", 0), RawTar.End())));

        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("a.tar.gz"), RawTar.Gz(Pax("16 path=renamed\n"), RawTar.Entry("f", [1]), RawTar.End()));
        TarGz.Extract(dir.File("a.tar.gz"), dir.File("out"));
        Assert.True(File.Exists(dir.File("out/renamed")));
    }

    [Theory]
    [InlineData("../escaped.bin")]
    [InlineData("a/../../escaped.bin")]
    [InlineData("/tmp/escaped.bin")]
    [InlineData("a\\..\\..\\escaped.bin")]
    public void PathsLeavingTheDestination_AreRefused(string name)
    {
        using var dir = new TempDir();
        var message = Refused(RawTar.Gz(RawTar.Entry(name, [1]), RawTar.End()), into: dir);
        Assert.Contains(name, message);
        Assert.False(File.Exists(dir.File("escaped.bin")));
        Assert.False(File.Exists("/tmp/escaped.bin"));
    }

    [Theory]
    [InlineData('2', "../outside", "points outside")]
    [InlineData('2', "/etc/passwd", "absolute")]
    [InlineData('1', "../outside", "contains '..'")]
    [InlineData('1', "/etc/passwd", "absolute")]
    public void LinksLeavingTheDestination_AreRefused(char type, string target, string expected)
    {
        Assert.Contains(expected, Refused(RawTar.Gz(RawTar.Entry("link", [], type, target), RawTar.End())));
    }

    [Fact]
    public void LinksInsideTheDestination_AreSkipped()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("a.tar.gz"), RawTar.Gz(RawTar.Entry("f", [1]), RawTar.Entry("d/l", [], '2', "../f"), RawTar.End()));
        TarGz.Extract(dir.File("a.tar.gz"), dir.File("out"));
        Assert.False(File.Exists(dir.File("out/d/l")));
        Assert.True(File.Exists(dir.File("out/f")));
    }

    [Fact]
    public void ExistingSymbolicLinks_AreNeverWrittenThrough()
    {
        using var dir = new TempDir();
        string outside = dir.File("outside.bin");
        File.WriteAllBytes(outside, [42]);
        Directory.CreateDirectory(dir.File("out"));
        File.CreateSymbolicLink(dir.File("out/f"), outside);
        Directory.CreateDirectory(dir.File("elsewhere"));
        Directory.CreateSymbolicLink(dir.File("out/d"), dir.File("elsewhere"));
        File.WriteAllBytes(dir.File("a.tar.gz"), RawTar.Gz(RawTar.Entry("f", [1, 2]), RawTar.End()));
        TarGz.Extract(dir.File("a.tar.gz"), dir.File("out"));
        Assert.Equal(new byte[] { 42 }, File.ReadAllBytes(outside));
        Assert.Equal(new byte[] { 1, 2 }, File.ReadAllBytes(dir.File("out/f")));

        File.WriteAllBytes(dir.File("b.tar.gz"), RawTar.Gz(RawTar.Entry("d/g", [1]), RawTar.End()));
        var e = Assert.Throws<InvalidDataException>(() => TarGz.Extract(dir.File("b.tar.gz"), dir.File("out")));
        Assert.Contains("symbolic link", e.Message);
        Assert.Empty(Directory.GetFiles(dir.File("elsewhere")));
    }

    [Fact]
    public void Limits_AreEnforcedAndNamed()
    {
        var three = RawTar.Gz(RawTar.Entry("a", new byte[600]), RawTar.Entry("b", new byte[600]), RawTar.Entry("c", new byte[600]), RawTar.End());
        Assert.Contains("more than 2 entries", Refused(three, new ArchiveLimits { MaxEntries = 2 }));
        Assert.Contains("entry 'a': the entry declares 600 bytes, more than the per-entry limit of 599", Refused(three, new ArchiveLimits { MaxEntryBytes = 599 }));
        Assert.Contains("entry 'b': the entries declare more than 1000 bytes in all", Refused(three, new ArchiveLimits { MaxTotalBytes = 1000 }));
        Assert.Contains("more than the limit of 10", Refused(RawTar.Gz(RawTar.Entry("abcdefghijk", [1]), RawTar.End()), new ArchiveLimits { MaxPathLength = 10 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => TarGz.Extract(new MemoryStream(three), "x", "unused", new ArchiveLimits { MaxEntries = 0 }));
    }

    [Fact]
    public void DefaultLimits_FitTheCifar10Archive()
    {
        // The official archive: a directory and 8 files, the largest 30,730,000 bytes, about 185 MB in all.
        var limits = ArchiveLimits.Default;
        Assert.True(limits.MaxEntries >= 9);
        Assert.True(limits.MaxEntryBytes >= 30_730_000);
        Assert.True(limits.MaxTotalBytes >= 6 * 30_730_000L + 100_000);
    }

    [Fact]
    public void CorruptOrTruncatedData_IsInvalidDataNamingTheEntry()
    {
        var archive = RawTar.Gz(RawTar.Entry("first.bin", new byte[4000]), RawTar.Entry("second.bin", new byte[4000]), RawTar.End());
        Assert.Contains("header 1: checksum field holds 'zzzzzzzz', not an octal number", Refused(TestFiles.Gzip(Encoding.ASCII.GetBytes(new string('z', 600)))));
        Assert.Contains("corrupt gzip data", Refused(Encoding.ASCII.GetBytes("not gzip at all")));
        Assert.Contains("empty", Refused(TestFiles.Gzip([])));
        var raw = new MemoryStream();
        using (var gz = new GZipStream(new MemoryStream(archive), CompressionMode.Decompress)) gz.CopyTo(raw);
        var truncated = TestFiles.Gzip(raw.ToArray()[..(512 + 4608 + 100)]);
        Assert.Contains("entry 'second.bin': the archive ends inside the entry's data", Refused(truncated));
        var longName = new string('q', 300);
        var message = Refused(RawTar.Gz(RawTar.Entry("././@LongLink", Encoding.ASCII.GetBytes(longName), 'L'), RawTar.Header("x", 5)));
        Assert.Contains("entry '" + new string('q', 200) + "…'", message);
        Assert.DoesNotContain(new string('q', 201), message);
    }

    [Fact]
    public void FailedExtraction_LeavesNoTruncatedFile()
    {
        using var dir = new TempDir();
        var raw = RawTar.Entry("f.bin", new byte[3000]);
        Refused(TestFiles.Gzip(raw[..1500]), into: dir);
        Assert.False(File.Exists(dir.File("out/f.bin")));
    }
}
