using System.IO.Compression;

namespace NeuralCore.Fuzz.Targets;

/// <summary>Gzip helpers for targets whose files are compressed.</summary>
public static class Gzip
{
    /// <summary>Whether <paramref name="data"/> starts with the gzip magic bytes.</summary>
    public static bool IsGzip(byte[] data) => data.Length >= 2 && data[0] == 0x1f && data[1] == 0x8b;

    /// <summary>Compresses <paramref name="data"/>.</summary>
    public static byte[] Compress(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return output.ToArray();
    }

    /// <summary>The decompressed bytes when <paramref name="data"/> is valid gzip of at most <paramref name="limit"/> bytes, else null.</summary>
    public static byte[]? TryDecompress(byte[] data, int limit = 16 << 20)
    {
        if (!IsGzip(data)) return null;
        try
        {
            using var gz = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
            using var output = new MemoryStream();
            var buffer = new byte[1 << 16];
            int n;
            while ((n = gz.Read(buffer)) > 0)
            {
                if (output.Length + n > limit) return null;
                output.Write(buffer, 0, n);
            }
            return output.ToArray();
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }
}
