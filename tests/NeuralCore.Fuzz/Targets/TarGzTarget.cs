using System.Formats.Tar;
using System.Text;
using NeuralCore.Vision;

namespace NeuralCore.Fuzz.Targets;

/// <summary>
/// The .tar.gz extractor used for CIFAR-10, with small limits, into a scratch folder. Beyond the exception, each case
/// checks that nothing was written beside the destination, no link was created, and the limits held.
/// </summary>
/// <remarks>
/// Inputs are mutated as the uncompressed tar (one leading tag byte 0, compressed again to run) so changes reach
/// the tar headers; inputs that are not valid gzip are kept as they are (tag byte 1).
/// </remarks>
public sealed class TarGzTarget : FuzzTarget
{
    /// <summary>The limits every case runs under.</summary>
    public static readonly ArchiveLimits Limits = new()
    {
        MaxEntries = 32,
        MaxEntryBytes = 1 << 20,
        MaxTotalBytes = 2 << 20,
        MaxMetadataBytes = 16 << 10,
        MaxPathLength = 1024,
    };

    static readonly string[] Names =
    [
        "../x", "/abs", "a/../../b", ".", "./", "", "a//b", "a/./b", "cifar-10-batches-bin/test_batch.bin", "d/", "x\\..\\y",
        new string('n', 99) + "/" + new string('m', 99), new string('z', 300), "\u00e9\u00e8", "a\nb",
    ];

    const string Types = "0125LKxg734S\0";

    /// <inheritdoc/>
    public override string Name => "targz";

    /// <inheritdoc/>
    public override long AllocationBound => 8L << 20;

    /// <inheritdoc/>
    public override IReadOnlyList<byte[]> Seeds() =>
    [
        Archive(TarEntryFormat.Pax), Archive(TarEntryFormat.Gnu), Archive(TarEntryFormat.Ustar), Archive(TarEntryFormat.V7),
    ];

    static byte[] Archive(TarEntryFormat format)
    {
        using var raw = new MemoryStream();
        using (var tar = new TarWriter(raw, format, leaveOpen: true))
        {
            bool v7 = format == TarEntryFormat.V7;
            TarEntry Entry(TarEntryType type, string name) => format switch
            {
                TarEntryFormat.Pax => new PaxTarEntry(type, name),
                TarEntryFormat.Gnu => new GnuTarEntry(type, name),
                TarEntryFormat.Ustar => new UstarTarEntry(type, name),
                _ => new V7TarEntry(type, name),
            };
            tar.WriteEntry(Entry(TarEntryType.Directory, "cifar-10-batches-bin/"));
            var file = Entry(v7 ? TarEntryType.V7RegularFile : TarEntryType.RegularFile, "cifar-10-batches-bin/test_batch.bin");
            file.DataStream = new MemoryStream(Enumerable.Range(0, 700).Select(i => (byte)i).ToArray());
            tar.WriteEntry(file);
            if (!v7)
            {
                var deep = Entry(TarEntryType.RegularFile, "cifar-10-batches-bin/" + new string('p', 60) + "/" + new string('q', 70) + ".txt");
                deep.DataStream = new MemoryStream("airplane\n"u8.ToArray());
                tar.WriteEntry(deep);
            }
            var link = Entry(TarEntryType.SymbolicLink, "cifar-10-batches-bin/link");
            link.LinkName = "test_batch.bin";
            tar.WriteEntry(link);
        }
        return Gzip.Compress(raw.ToArray());
    }

    /// <inheritdoc/>
    public override byte[] Unwrap(byte[] input) => Gzip.TryDecompress(input) is { } tar ? [0, .. tar] : [1, .. input];

    /// <inheritdoc/>
    public override byte[] Wrap(byte[] raw) =>
        raw.Length == 0 ? [] : raw[0] == 0 ? Gzip.Compress(raw[1..]) : raw[1..];

    /// <inheritdoc/>
    public override void Execute(byte[] input, string scratch)
    {
        string destination = Path.Combine(scratch, "out");
        if (Directory.Exists(destination)) Directory.Delete(destination, recursive: true);
        try
        {
            TarGz.Extract(new MemoryStream(input, writable: false), "fuzz.tar.gz", destination, Limits);
        }
        finally
        {
            CheckInvariants(scratch, destination);
        }
    }

    static void CheckInvariants(string scratch, string destination)
    {
        var outside = Directory.EnumerateFileSystemEntries(scratch).Where(p => p != destination).ToList();
        if (outside.Count > 0) throw new InvalidOperationException($"extraction wrote outside the destination: {string.Join(", ", outside)}");
        if (!Directory.Exists(destination)) return;
        long total = 0;
        int count = 0;
        foreach (var path in Directory.EnumerateFileSystemEntries(destination, "*", SearchOption.AllDirectories))
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is not null) throw new InvalidOperationException($"extraction created the link '{path}'");
            if (info.Exists) total += info.Length;
            count++;
        }
        if (total > Limits.MaxTotalBytes) throw new InvalidOperationException($"extraction wrote {total} bytes, over the limit");
        if (count > Limits.MaxEntries * 64) throw new InvalidOperationException($"extraction created {count} files and folders");
    }

    /// <inheritdoc/>
    public override byte[]? MutateStructured(Mutator mutator, byte[] raw)
    {
        var rng = mutator.Random;
        if (raw.Length < 1 + 512 || raw[0] != 0)
            return raw.Length > 1 && raw[0] == 1 && rng.Next(2) == 0 ? [1, .. mutator.Mutate(raw[1..], [])] : null;
        var tar = raw[1..];
        // Header blocks: those whose checksum field parses, at block boundaries.
        var headers = Enumerable.Range(0, tar.Length / 512).Select(i => i * 512)
            .Where(at => tar[at] != 0 && tar[at + 148] is (byte)' ' or (>= (byte)'0' and <= (byte)'7')).ToList();
        if (headers.Count == 0) return null;
        int h = headers[rng.Next(headers.Count)];
        switch (rng.Next(7))
        {
            case 0:
                SetField(tar, h + 124, 12, rng.Next(3) == 0 ? Base256(rng) : Octal(rng, 11));
                break;
            case 1:
                tar[h + 156] = (byte)Types[rng.Next(Types.Length)];
                break;
            case 2:
                SetField(tar, h, 100, Encoding.UTF8.GetBytes(Names[rng.Next(Names.Length)]));
                break;
            case 3:
                SetField(tar, h + 157, 100, Encoding.UTF8.GetBytes(Names[rng.Next(Names.Length)]));
                break;
            case 4:
                SetField(tar, h + 345, 155, Encoding.UTF8.GetBytes(Names[rng.Next(Names.Length)]));
                break;
            case 5:
            {
                // Insert a GNU long-name or PAX header (with a possibly lying size) before this header.
                bool pax = rng.Next(2) == 0;
                string name = Names[rng.Next(Names.Length)];
                var body = Encoding.UTF8.GetBytes(pax ? PaxRecord(rng, name) : name + "\0");
                var header = new byte[512];
                Encoding.ASCII.GetBytes("././@LongLink").CopyTo(header, 0);
                SetField(header, 124, 12, rng.Next(4) == 0 ? Octal(rng, 11) : Encoding.ASCII.GetBytes(Convert.ToString(body.Length, 8).PadLeft(11, '0')));
                header[156] = (byte)(pax ? 'x' : 'L');
                Encoding.ASCII.GetBytes("ustar  \0").CopyTo(header, 257);
                FixChecksum(header, 0);
                var padded = new byte[(body.Length + 511) / 512 * 512];
                body.CopyTo(padded, 0);
                return [0, .. tar.AsSpan(0, h), .. header, .. padded, .. tar.AsSpan(h)];
            }
            default:
                return [0, .. mutator.Mutate(tar, [])];
        }
        if (rng.Next(8) != 0) FixChecksum(tar, h);
        return [0, .. tar];
    }

    static string PaxRecord(Random rng, string path)
    {
        string key = new[] { "path", "linkpath", "size", "mtime", "uid" }[rng.Next(5)];
        string value = key == "size" || rng.Next(4) == 0 ? Mutator.InterestingNumbers[rng.Next(Mutator.InterestingNumbers.Length)] : path;
        string body = $" {key}={value}\n";
        int length = Encoding.UTF8.GetByteCount(body) + 1;
        if (length.ToString().Length + Encoding.UTF8.GetByteCount(body) != length) length++;
        if (rng.Next(6) == 0) length += rng.Next(-3, 4);
        return length + body;
    }

    static byte[] Octal(Random rng, int digits)
    {
        long[] values = [0, 1, 511, 512, 513, 1 << 20, (1 << 20) + 1, 2 << 20, 10_000_000_000, 68_719_476_735];
        return Encoding.ASCII.GetBytes(Convert.ToString(values[rng.Next(values.Length)], 8).PadLeft(digits, '0'));
    }

    static byte[] Base256(Random rng)
    {
        var field = new byte[12];
        rng.NextBytes(field);
        field[0] = rng.Next(3) == 0 ? (byte)0xFF : (byte)0x80;
        if (rng.Next(2) == 0) field.AsSpan(1, 6).Clear();
        return field;
    }

    static void SetField(byte[] block, int at, int width, byte[] value)
    {
        block.AsSpan(at, width).Clear();
        value.AsSpan(0, Math.Min(width, value.Length)).CopyTo(block.AsSpan(at));
    }

    static void FixChecksum(byte[] tar, int h)
    {
        tar.AsSpan(h + 148, 8).Fill((byte)' ');
        int sum = 0;
        for (int i = 0; i < 512; i++) sum += tar[h + i];
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(tar, h + 148);
    }
}
