using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace NeuralCore.Serialization;

/// <summary>
/// Lays out and writes safetensors files byte-for-byte as the reference implementation does: tensors ordered by
/// dtype (descending, in its dtype order) then by name (UTF-8 byte order), <c>__metadata__</c> first, compact JSON
/// escaped as serde_json escapes it, the header padded with spaces to a multiple of 8 bytes, data contiguous.
/// </summary>
internal static class SafeTensorsWriter
{
    /// <summary>A tensor with its place in the data buffer.</summary>
    internal sealed record Item(string Name, byte[] NameUtf8, Tensor Tensor, SafeTensorsDType DType, long Begin, long End);

    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Orders the tensors as they will be written and assigns their data offsets.</summary>
    /// <exception cref="ArgumentException">A name is invalid or reserved, or a tensor is null.</exception>
    public static List<Item> Plan(IReadOnlyDictionary<string, Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var items = new List<Item>(tensors.Count);
        foreach (var (name, tensor) in tensors)
        {
            if (name is null) throw new ArgumentException("SafeTensors: tensor names must not be null.", nameof(tensors));
            if (tensor is null) throw new ArgumentException($"SafeTensors: tensor '{MessageText.Clip(name)}' is null.", nameof(tensors));
            if (name == "__metadata__") throw new ArgumentException("SafeTensors: '__metadata__' is reserved and cannot name a tensor.", nameof(tensors));
            items.Add(new Item(name, Utf8(name, "tensor name"), tensor, SafeTensorsDTypes.ForWriting(tensor.DType), 0, 0));
        }
        items.Sort((a, b) =>
        {
            int c = b.DType.Rank.CompareTo(a.DType.Rank);
            return c != 0 ? c : a.NameUtf8.AsSpan().SequenceCompareTo(b.NameUtf8);
        });
        long offset = 0;
        for (int i = 0; i < items.Count; i++)
        {
            long length = TensorBytes.ByteLength(items[i].Tensor);
            items[i] = items[i] with { Begin = offset, End = offset + length };
            offset += length;
        }
        return items;
    }

    /// <summary>The 8-byte length prefix and the padded JSON header.</summary>
    public static byte[] Header(List<Item> items, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new List<byte>(64 + 96 * items.Count) { (byte)'{' };
        bool first = true;
        if (metadata is { Count: > 0 })
        {
            AppendString(json, "__metadata__"u8);
            json.AddRange(":{"u8);
            var pairs = metadata.Select(kv => (Key: Utf8(kv.Key, "metadata key"), Value: Utf8(kv.Value, $"metadata value of '{MessageText.Clip(kv.Key)}'"))).ToList();
            pairs.Sort((a, b) => a.Key.AsSpan().SequenceCompareTo(b.Key));
            for (int i = 0; i < pairs.Count; i++)
            {
                if (i > 0) json.Add((byte)',');
                AppendString(json, pairs[i].Key);
                json.Add((byte)':');
                AppendString(json, pairs[i].Value);
            }
            json.Add((byte)'}');
            first = false;
        }
        foreach (var item in items)
        {
            if (!first) json.Add((byte)',');
            first = false;
            AppendString(json, item.NameUtf8);
            json.AddRange(":{\"dtype\":"u8);
            AppendString(json, Encoding.ASCII.GetBytes(item.DType.Name));
            json.AddRange(",\"shape\":["u8);
            for (int d = 0; d < item.Tensor.Dim; d++)
            {
                if (d > 0) json.Add((byte)',');
                AppendNumber(json, item.Tensor.Shape[d]);
            }
            json.AddRange("],\"data_offsets\":["u8);
            AppendNumber(json, item.Begin);
            json.Add((byte)',');
            AppendNumber(json, item.End);
            json.AddRange("]}"u8);
        }
        json.Add((byte)'}');
        while (json.Count % 8 != 0) json.Add((byte)' ');
        if (json.Count > SafeTensorsHeader.MaxHeaderLength)
            throw new ArgumentException($"SafeTensors: the header would be {json.Count} bytes, over the {SafeTensorsHeader.MaxHeaderLength}-byte limit readers enforce.");

        var result = new byte[8 + json.Count];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)json.Count);
        json.CopyTo(result, 8);
        return result;
    }

    /// <summary>Writes the data buffer: each tensor's bytes in planned order.</summary>
    public static void WriteData(Stream stream, List<Item> items)
    {
        foreach (var item in items) WithBytes(item, bytes => stream.Write(bytes));
    }

    /// <summary>Lower-case hex SHA-256 of the data buffer the items make.</summary>
    public static string HashData(List<Item> items)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var item in items) WithBytes(item, sha.AppendData);
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    static void WithBytes(Item item, Action<ReadOnlySpan<byte>> use)
    {
        int length = checked((int)(item.End - item.Begin));
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var span = buffer.AsSpan(0, length);
            TensorBytes.CopyTo(item.Tensor, span);
            use(span);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    static byte[] Utf8(string text, string what)
    {
        ArgumentNullException.ThrowIfNull(text, what);
        try
        {
            return StrictUtf8.GetBytes(text);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException($"SafeTensors: the {what} \"{MessageText.Clip(text)}\" is not valid UTF-16 (a lone surrogate at index {e.Index}) and cannot be encoded as UTF-8.", e);
        }
    }

    // serde_json's escaping: quote, backslash and control characters; everything else (including non-ASCII) raw.
    static void AppendString(List<byte> json, ReadOnlySpan<byte> utf8)
    {
        json.Add((byte)'"');
        foreach (byte b in utf8)
        {
            switch (b)
            {
                case (byte)'"': json.AddRange("\\\""u8); break;
                case (byte)'\\': json.AddRange("\\\\"u8); break;
                case (byte)'\b': json.AddRange("\\b"u8); break;
                case (byte)'\t': json.AddRange("\\t"u8); break;
                case (byte)'\n': json.AddRange("\\n"u8); break;
                case (byte)'\f': json.AddRange("\\f"u8); break;
                case (byte)'\r': json.AddRange("\\r"u8); break;
                case < 0x20:
                    json.AddRange("\\u00"u8);
                    json.Add((byte)"0123456789abcdef"[b >> 4]);
                    json.Add((byte)"0123456789abcdef"[b & 15]);
                    break;
                default: json.Add(b); break;
            }
        }
        json.Add((byte)'"');
    }

    static void AppendNumber(List<byte> json, long value)
    {
        Span<byte> digits = stackalloc byte[20];
        value.TryFormat(digits, out int written, provider: System.Globalization.CultureInfo.InvariantCulture);
        json.AddRange(digits[..written]);
    }
}
