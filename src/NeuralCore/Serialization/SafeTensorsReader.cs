using System.Buffers.Binary;
using System.Security.Cryptography;

namespace NeuralCore.Serialization;

/// <summary>
/// Reads safetensors files from memory or from a stream. Every length in the file is checked before anything of
/// that length is allocated: against the file size when it is known, and for streams of unknown length by growing
/// buffers only as bytes actually arrive.
/// </summary>
internal static class SafeTensorsReader
{
    const int GrowthChunk = 1 << 20;

    public static SafeTensorsFile Read(ReadOnlySpan<byte> file)
    {
        if (file.Length < 8) throw TooShort(file.Length);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file);
        CheckHeaderLength(n, file.Length - 8);
        int headerLength = (int)n;
        var data = file[(8 + headerLength)..];
        var header = SafeTensorsHeader.Parse(file.Slice(8, headerLength), data.Length);
        CheckTensorSizes(header);
        var tensors = new Dictionary<string, Tensor>(header.Entries.Count, StringComparer.Ordinal);
        foreach (var e in header.Entries)
            tensors.Add(e.Name, TensorBytes.Create(e.DType, e.Dims, data.Slice((int)e.Begin, (int)e.ByteLength)));
        return new SafeTensorsFile(tensors, header.Metadata, Convert.ToHexStringLower(SHA256.HashData(data)), header.Entries);
    }

    /// <summary>Reads and validates the length prefix and header; leaves the stream at the start of the data buffer.</summary>
    public static SafeTensorsHeader ReadHeader(Stream stream, out bool lengthKnown)
    {
        ArgumentNullException.ThrowIfNull(stream);
        long? available = stream.CanSeek ? Math.Max(0, stream.Length - stream.Position) : null;
        lengthKnown = available.HasValue;
        Span<byte> prefix = stackalloc byte[8];
        int got = stream.ReadAtLeast(prefix, 8, throwOnEndOfStream: false);
        if (got < 8) throw TooShort(got);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        available -= 8;
        CheckHeaderLength(n, available);
        var headerBytes = ReadBlock(stream, (int)n, available.HasValue, () => HeaderBeyondEnd(n, null));
        return SafeTensorsHeader.Parse(headerBytes, available - (long)n);
    }

    public static SafeTensorsFile Read(Stream stream)
    {
        var header = ReadHeader(stream, out bool lengthKnown);
        return ReadData(stream, header, lengthKnown);
    }

    /// <summary>Reads the data buffer <paramref name="header"/> describes, from a stream positioned at its start.</summary>
    public static SafeTensorsFile ReadData(Stream stream, SafeTensorsHeader header, bool lengthKnown)
    {
        CheckTensorSizes(header);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var tensors = new Dictionary<string, Tensor>(header.Entries.Count, StringComparer.Ordinal);
        foreach (var e in header.Entries)
        {
            var bytes = ReadBlock(stream, (int)e.ByteLength, lengthKnown, () => SafeTensorsHeader.Invalid(
                $"the data buffer ends inside tensor '{SafeTensorsHeader.Show(e.Name)}' [{e.Begin}, {e.End}]; the file is truncated"));
            var span = bytes.AsSpan(0, (int)e.ByteLength);
            sha.AppendData(span);
            tensors.Add(e.Name, TensorBytes.Create(e.DType, e.Dims, span));
        }
        if (!lengthKnown && stream.ReadByte() >= 0)
            throw SafeTensorsHeader.Invalid($"the data buffer has trailing bytes after the {header.DataLength} bytes its tensors cover");
        return new SafeTensorsFile(tensors, header.Metadata, Convert.ToHexStringLower(sha.GetHashAndReset()), header.Entries);
    }

    /// <summary>
    /// Checks, before any tensor is allocated, that every tensor fits one CPU allocation once loaded: F16 and BF16
    /// are widened to Float32, so a valid file can describe a tensor that does not fit (see <see cref="TensorLimits"/>).
    /// </summary>
    static void CheckTensorSizes(SafeTensorsHeader header)
    {
        foreach (var e in header.Entries)
        {
            var dtype = e.DType.TensorDType;
            long count = ShapeMath.CheckedProduct(e.Dims);
            long bytes = ShapeMath.MulSaturating(count, dtype.SizeOf());
            if (count > TensorLimits.MaxElements || bytes > TensorLimits.CpuMaxBytes)
                throw SafeTensorsHeader.Invalid($"tensor '{SafeTensorsHeader.Show(e.Name)}' of shape {ShapeMath.Format(e.Dims)} and dtype {e.DType.Name} "
                    + $"loads as {count} {dtype} elements ({bytes} bytes), more than one CPU tensor can hold "
                    + $"({TensorLimits.MaxElements} elements, {TensorLimits.CpuMaxBytes} bytes: TensorLimits.MaxElements, TensorLimits.CpuMaxBytes)");
        }
    }

    static InvalidDataException TooShort(int length) =>
        SafeTensorsHeader.Invalid($"the file is only {length} bytes long; it must start with an 8-byte header length");

    static void CheckHeaderLength(ulong n, long? available)
    {
        if (n > SafeTensorsHeader.MaxHeaderLength)
            throw SafeTensorsHeader.Invalid($"the header length {n} exceeds the limit of {SafeTensorsHeader.MaxHeaderLength} bytes");
        if (available is long a && n > (ulong)a) throw HeaderBeyondEnd(n, a);
    }

    static InvalidDataException HeaderBeyondEnd(ulong n, long? available) => SafeTensorsHeader.Invalid(available is long a
        ? $"the header length {n} exceeds the file size ({a} bytes follow the length prefix)"
        : $"the header length {n} exceeds the file size (the stream ends inside the header)");

    // Reads exactly count bytes. When the length was checked against the stream size the buffer is allocated at
    // once; otherwise it grows with the data that actually arrives, so a lying length cannot force a huge allocation.
    static byte[] ReadBlock(Stream stream, int count, bool lengthChecked, Func<InvalidDataException> endedEarly)
    {
        var buffer = new byte[lengthChecked ? count : Math.Min(count, GrowthChunk)];
        int filled = 0;
        while (filled < count)
        {
            if (filled == buffer.Length) Array.Resize(ref buffer, (int)Math.Min(2L * buffer.Length, count));
            int read = stream.Read(buffer, filled, buffer.Length - filled);
            if (read == 0) throw endedEarly();
            filled += read;
        }
        return buffer;
    }
}
