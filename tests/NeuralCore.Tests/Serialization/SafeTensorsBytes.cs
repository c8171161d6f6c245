using System.Buffers.Binary;
using System.Text;

namespace NeuralCore.Tests.Serialization;

/// <summary>
/// Builds safetensors files byte by byte, independently of the library's writer, following the format spec
/// (https://huggingface.co/docs/safetensors, huggingface/safetensors README "Format"): an unsigned 64-bit
/// little-endian header length N, N bytes of UTF-8 JSON, then the data buffer. The reference writer pads the JSON
/// with spaces (0x20) to a multiple of 8 bytes so the data starts aligned.
/// </summary>
internal static class SafeTensorsBytes
{
    /// <summary>The file for <paramref name="headerJson"/> (padded to 8 bytes when <paramref name="pad"/>) and data.</summary>
    public static byte[] File(string headerJson, byte[] data, bool pad = true)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        int padded = pad ? (header.Length + 7) / 8 * 8 : header.Length;
        var file = new byte[8 + padded + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)padded);
        header.CopyTo(file, 8);
        file.AsSpan(8 + header.Length, padded - header.Length).Fill((byte)' ');
        data.CopyTo(file, 8 + padded);
        return file;
    }

    /// <summary>Little-endian bytes of float32 values.</summary>
    public static byte[] F32(params float[] values)
    {
        var b = new byte[4 * values.Length];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(4 * i), values[i]);
        return b;
    }

    /// <summary>Little-endian bytes of int64 values.</summary>
    public static byte[] I64(params long[] values)
    {
        var b = new byte[8 * values.Length];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(8 * i), values[i]);
        return b;
    }

    /// <summary>Concatenates byte arrays.</summary>
    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>Replaces the 8-byte length prefix.</summary>
    public static byte[] WithHeaderLength(byte[] file, ulong length)
    {
        var copy = (byte[])file.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(copy, length);
        return copy;
    }
}
