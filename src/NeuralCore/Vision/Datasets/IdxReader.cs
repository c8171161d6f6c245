using System.Buffers.Binary;
using System.IO.Compression;

namespace NeuralCore.Vision;

/// <summary>
/// Reads the IDX format of MNIST and Fashion-MNIST: a 4-byte magic (0, 0, element type, dimension count),
/// one big-endian 32-bit size per dimension, then the elements. Only unsigned-byte files (type 0x08) are
/// supported: magic 0x00000803 for images [N, rows, columns], 0x00000801 for labels [N]. Gzip-compressed
/// files (starting 1f 8b) are decompressed on the fly.
/// </summary>
/// <remarks>
/// Every defect is an <see cref="InvalidDataException"/> naming the file and the problem. The reader never
/// allocates more than the file can hold: a raw file must be exactly as long as its header declares, and a
/// compressed one is read into a buffer that grows only as decompressed data actually arrives.
/// </remarks>
public static class IdxReader
{
    const int UnsignedByte = 0x08;
    const int ImagesMagic = 0x00000803;
    const int LabelsMagic = 0x00000801;
    // Deflate cannot expand more than about 1032:1, so a gzip file cannot hold more than this many bytes per byte.
    const long MaxDeflateRatio = 1100;

    /// <summary>Reads an image file (magic 0x00000803): dims [N, rows, columns].</summary>
    /// <param name="path">The file, raw or gzip-compressed.</param>
    /// <returns>The dims and pixels.</returns>
    /// <exception cref="InvalidDataException">The file is not a valid IDX image file.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static IdxArray ReadImages(string path) => Read(path, ImagesMagic);

    /// <summary>Reads a label file (magic 0x00000801): dims [N].</summary>
    /// <param name="path">The file, raw or gzip-compressed.</param>
    /// <returns>The dims and labels.</returns>
    /// <exception cref="InvalidDataException">The file is not a valid IDX label file.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static IdxArray ReadLabels(string path) => Read(path, LabelsMagic);

    /// <summary>Reads any unsigned-byte IDX file.</summary>
    /// <param name="path">The file, raw or gzip-compressed.</param>
    /// <returns>The dims and elements.</returns>
    /// <exception cref="InvalidDataException">The file is not a valid unsigned-byte IDX file.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static IdxArray Read(string path) => Read(path, null);

    static IdxArray Read(string path, int? expectedMagic)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            return ReadCore(path, expectedMagic);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(Prefix(path), StringComparison.Ordinal))
        {
            // GZipStream's own errors do not say which file they came from.
            throw new InvalidDataException($"{Prefix(path)}corrupt gzip data ({e.Message}).", e);
        }
    }

    static IdxArray ReadCore(string path, int? expectedMagic)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        long fileLength = file.Length;
        Span<byte> probe = stackalloc byte[2];
        int probed = file.ReadAtLeast(probe, 2, throwOnEndOfStream: false);
        file.Position = 0;
        bool gzip = probed == 2 && probe[0] == 0x1f && probe[1] == 0x8b;
        using Stream data = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;

        Span<byte> word = stackalloc byte[4];
        ReadHeader(data, word, path, "magic number");
        int magic = BinaryPrimitives.ReadInt32BigEndian(word);
        if (word[0] != 0 || word[1] != 0)
            throw Bad(path, $"bad magic number 0x{magic:X8}: an IDX file starts with two zero bytes");
        if (word[2] != UnsignedByte)
            throw Bad(path, $"element type 0x{word[2]:X2} is not supported; only unsigned bytes (0x08) are");
        if (expectedMagic is int expected && magic != expected)
            throw Bad(path, $"magic number 0x{magic:X8} where 0x{expected:X8} ({(expected == ImagesMagic ? "images" : "labels")}, {expected & 0xFF} dimension(s)) was expected");
        int rank = word[3];
        if (rank == 0) throw Bad(path, "the header declares zero dimensions");

        var dims = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            ReadHeader(data, word, path, $"size of dimension {i}");
            int size = BinaryPrimitives.ReadInt32BigEndian(word);
            if (size < 0) throw Bad(path, $"dimension {i} has negative size {size}");
            dims[i] = size;
            count *= size;
            if (count > Array.MaxLength)
                throw Bad(path, $"dimensions [{string.Join(", ", dims.Take(i + 1))}] exceed the largest array .NET can hold");
        }
        string shape = $"[{string.Join(", ", dims)}]";
        long header = 4 + 4L * rank;

        if (!gzip)
        {
            long available = fileLength - header;
            if (available < count)
                throw Bad(path, $"truncated: the header declares {shape} = {count} bytes of data but only {available} follow");
            if (available > count)
                throw Bad(path, $"{available - count} unexpected bytes follow the {count} bytes of data the header declares ({shape})");
        }
        else if (count > fileLength * MaxDeflateRatio)
        {
            throw Bad(path, $"truncated: the header declares {shape} = {count} bytes, more than a {fileLength}-byte gzip file can hold");
        }
        var bytes = ReadBody(data, (int)count, path, shape);
        return new IdxArray(path, dims, bytes);
    }

    static byte[] ReadBody(Stream data, int count, string path, string shape)
    {
        // Grow geometrically instead of trusting the header: a tiny corrupt gzip cannot force a huge allocation.
        var buffer = new byte[Math.Min(count, 1 << 20)];
        int filled = 0;
        while (filled < count)
        {
            if (filled == buffer.Length) Array.Resize(ref buffer, (int)Math.Min(count, 2L * buffer.Length));
            int n = data.Read(buffer, filled, buffer.Length - filled);
            if (n == 0)
                throw Bad(path, $"truncated: the header declares {shape} = {count} bytes of data but only {filled} follow");
            filled += n;
        }
        Span<byte> extra = stackalloc byte[1];
        if (data.Read(extra) != 0)
            throw Bad(path, $"unexpected bytes follow the {count} bytes of data the header declares ({shape})");
        return buffer;
    }

    static void ReadHeader(Stream data, Span<byte> word, string path, string what)
    {
        if (data.ReadAtLeast(word, 4, throwOnEndOfStream: false) < 4)
            throw Bad(path, $"truncated header: the file ends before the {what}");
    }

    static string Prefix(string path) => $"IDX file '{path}': ";

    static InvalidDataException Bad(string path, string problem) => new($"{Prefix(path)}{problem}.");
}
