using System.Buffers.Binary;
using System.Text;

namespace NeuralCore.Fuzz.Targets;

/// <summary>Splits and joins safetensors files: an unsigned 64-bit little-endian header length, the JSON header, the data.</summary>
public static class SafeTensorsLayout
{
    /// <summary>The header text and data of a well-formed file, or false.</summary>
    public static bool TrySplit(byte[] file, out string header, out byte[] data)
    {
        header = "";
        data = [];
        if (file.Length < 8) return false;
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (length > (ulong)(file.Length - 8)) return false;
        header = Encoding.UTF8.GetString(file, 8, (int)length);
        data = file[(8 + (int)length)..];
        return true;
    }

    /// <summary>A file with <paramref name="header"/> (UTF-8) and <paramref name="data"/>, the length prefix matching.</summary>
    public static byte[] Join(string header, byte[] data) => Join(Encoding.UTF8.GetBytes(header), data);

    /// <summary>A file with the header bytes and data, the length prefix matching.</summary>
    public static byte[] Join(byte[] header, byte[] data)
    {
        var file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }

    /// <summary>A copy of <paramref name="file"/> with the length prefix replaced.</summary>
    public static byte[] WithHeaderLength(byte[] file, ulong length)
    {
        var copy = (byte[])file.Clone();
        if (copy.Length >= 8) BinaryPrimitives.WriteUInt64LittleEndian(copy, length);
        return copy;
    }
}
