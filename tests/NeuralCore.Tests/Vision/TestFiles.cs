using System.Buffers.Binary;
using System.Formats.Tar;
using System.IO.Compression;

namespace NeuralCore.Tests.Vision;

/// <summary>A temporary directory deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "neuralcore-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>Writers for the real on-disk formats (IDX, CIFAR-10 binary batches, .tar.gz archives).</summary>
public static class TestFiles
{
    /// <summary>An IDX file: magic bytes (0, 0, type, rank), big-endian dims, then the data.</summary>
    public static byte[] Idx(int[] dims, byte[] data, byte type = 0x08, int? rank = null, byte first = 0)
    {
        var header = new byte[4 + 4 * dims.Length];
        header[0] = first;
        header[2] = type;
        header[3] = (byte)(rank ?? dims.Length);
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), dims[i]);
        return [.. header, .. data];
    }

    public static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(data);
        return ms.ToArray();
    }

    /// <summary>Deterministic pseudo-random bytes (labels reduced mod <paramref name="modulo"/> when given).</summary>
    public static byte[] Bytes(int n, int seed, int modulo = 256)
    {
        var r = new System.Random(seed);
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)r.Next(modulo);
        return b;
    }

    /// <summary>Writes an images/labels pair for a split, gzip-compressed or raw.</summary>
    public static void WriteIdxSplit(string dir, bool train, int n, int rows, int cols, bool gz, int seed, int labelCount = -1)
    {
        string prefix = train ? "train" : "t10k";
        var images = Idx([n, rows, cols], Bytes(n * rows * cols, seed));
        var labels = Idx([labelCount < 0 ? n : labelCount], Bytes(labelCount < 0 ? n : labelCount, seed + 1, 10));
        images[3] = 3;
        string suffix = gz ? ".gz" : "";
        File.WriteAllBytes(Path.Combine(dir, $"{prefix}-images-idx3-ubyte{suffix}"), gz ? Gzip(images) : images);
        File.WriteAllBytes(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte{suffix}"), gz ? Gzip(labels) : labels);
    }

    /// <summary>A CIFAR-10 batch of <paramref name="records"/> records with known labels and pixels.</summary>
    public static byte[] CifarBatch(int records, int seed, out byte[] labels, out byte[] pixels)
    {
        labels = Bytes(records, seed, 10);
        pixels = Bytes(records * 3072, seed + 100);
        var file = new byte[records * 3073];
        for (int r = 0; r < records; r++)
        {
            file[r * 3073] = labels[r];
            Array.Copy(pixels, r * 3072, file, r * 3073 + 1, 3072);
        }
        return file;
    }

    /// <summary>A .tar.gz holding <paramref name="entries"/> (name → content; null content makes a directory).</summary>
    public static byte[] TarGz(IEnumerable<(string Name, byte[]? Content)> entries)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gz, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                if (content is null)
                {
                    tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, name));
                    continue;
                }
                var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) };
                tar.WriteEntry(entry);
            }
        }
        return ms.ToArray();
    }
}
