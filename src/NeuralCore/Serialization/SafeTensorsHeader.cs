using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace NeuralCore.Serialization;

/// <summary>One tensor described by a safetensors header; offsets are relative to the start of the data buffer.</summary>
internal sealed record SafeTensorsEntry(string Name, SafeTensorsDType DType, int[] Dims, long Begin, long End)
{
    /// <summary>Bytes of this tensor in the file.</summary>
    public long ByteLength => End - Begin;
}

/// <summary>
/// A parsed and fully validated safetensors header: the tensors ordered by their position in the data buffer
/// (which they cover exactly, without gaps or overlaps) and the <c>__metadata__</c> map.
/// </summary>
internal sealed class SafeTensorsHeader
{
    /// <summary>The reference implementation's cap on the header length (100 MB).</summary>
    public const int MaxHeaderLength = 100_000_000;

    const string MetadataKey = "__metadata__";

    SafeTensorsHeader(List<SafeTensorsEntry> entries, Dictionary<string, string> metadata, long dataLength)
    {
        Entries = entries;
        Metadata = metadata;
        DataLength = dataLength;
    }

    /// <summary>The tensors in data-buffer order.</summary>
    public IReadOnlyList<SafeTensorsEntry> Entries { get; }

    /// <summary>The free-form string map under <c>__metadata__</c> (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Length of the data buffer the tensors cover.</summary>
    public long DataLength { get; }

    /// <summary>
    /// Parses and validates <paramref name="header"/>. With <paramref name="dataLength"/> the tensors must cover
    /// exactly that many bytes; without (a stream of unknown length) they must cover a contiguous prefix starting at 0.
    /// </summary>
    /// <exception cref="InvalidDataException">Anything in the header breaks the format; the message names it.</exception>
    public static SafeTensorsHeader Parse(ReadOnlySpan<byte> header, long? dataLength)
    {
        if (!Utf8.IsValid(header)) throw Invalid("the header is not valid UTF-8");
        if (header.Length == 0 || header[0] != (byte)'{')
            throw Invalid(header.Length == 0
                ? "the header is empty; it must be a JSON object starting with '{'"
                : $"the header must start with '{{' but starts with byte 0x{header[0]:X2}");

        var entries = new List<SafeTensorsEntry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        Dictionary<string, string>? metadata = null;
        var reader = new Utf8JsonReader(header, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            Next(ref reader);
            while (Next(ref reader) != JsonTokenType.EndObject)
            {
                string name = reader.GetString()!;
                Next(ref reader);
                if (name == MetadataKey)
                {
                    if (metadata is not null) throw Invalid("the header has more than one '__metadata__' entry");
                    metadata = ReadMetadata(ref reader);
                }
                else
                {
                    if (!names.Add(name)) throw Invalid($"duplicate tensor name '{Show(name)}' in the header");
                    entries.Add(ReadEntry(ref reader, name, dataLength));
                }
            }
            if (reader.Read()) throw Invalid("the header has content after its JSON object");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"Invalid safetensors data: the header is not valid JSON ({e.Message})", e);
        }
        long covered = CheckLayout(entries);
        if (dataLength is long length && covered != length)
            throw Invalid($"the data buffer has {length - covered} trailing bytes not covered by any tensor (tensors cover {covered} of {length} bytes)");
        return new SafeTensorsHeader(entries, metadata ?? [], covered);
    }

    // Advances to the next token. The reader throws on truncated JSON; the check keeps loops finite regardless.
    static JsonTokenType Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read()) throw Invalid("the header JSON ends unexpectedly");
        return reader.TokenType;
    }

    static Dictionary<string, string>? ReadMetadata(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Invalid($"'__metadata__' must be an object mapping strings to strings, found {Describe(reader.TokenType)}");
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            string key = reader.GetString()!;
            Next(ref reader);
            if (reader.TokenType != JsonTokenType.String)
                throw Invalid($"'__metadata__' value of '{Show(key)}' must be a string, found {Describe(reader.TokenType)}");
            if (!map.TryAdd(key, reader.GetString()!)) throw Invalid($"duplicate key '{Show(key)}' in '__metadata__'");
        }
        return map;
    }

    static SafeTensorsEntry ReadEntry(ref Utf8JsonReader reader, string name, long? dataLength)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Invalid($"the entry of tensor '{Show(name)}' must be an object, found {Describe(reader.TokenType)}");
        SafeTensorsDType? dtype = null;
        List<ulong>? shape = null, offsets = null;
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            string field = reader.GetString()!;
            Next(ref reader);
            switch (field)
            {
                case "dtype":
                    if (dtype is not null) throw Invalid($"tensor '{Show(name)}' has more than one 'dtype'");
                    dtype = ReadDType(ref reader, name);
                    break;
                case "shape":
                    if (shape is not null) throw Invalid($"tensor '{Show(name)}' has more than one 'shape'");
                    shape = ReadIntegers(ref reader, name, "shape");
                    break;
                case "data_offsets":
                    if (offsets is not null) throw Invalid($"tensor '{Show(name)}' has more than one 'data_offsets'");
                    offsets = ReadIntegers(ref reader, name, "data_offsets");
                    break;
                default:
                    // Unknown fields are ignored, as the reference implementation does.
                    reader.Skip();
                    break;
            }
        }
        if (dtype is null) throw Invalid($"tensor '{Show(name)}' has no 'dtype'");
        if (shape is null) throw Invalid($"tensor '{Show(name)}' has no 'shape'");
        if (offsets is null) throw Invalid($"tensor '{Show(name)}' has no 'data_offsets'");
        return Validate(name, dtype.Value, shape, offsets, dataLength);
    }

    static SafeTensorsDType ReadDType(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType != JsonTokenType.String)
            throw Invalid($"the dtype of tensor '{Show(name)}' must be a string, found {Describe(reader.TokenType)}");
        string text = reader.GetString()!;
        if (!SafeTensorsDTypes.TryParse(text, out var dtype))
            throw Invalid($"tensor '{Show(name)}' has unsupported dtype '{Show(text)}'; supported: {SafeTensorsDTypes.SupportedList}");
        return dtype;
    }

    static List<ulong> ReadIntegers(ref Utf8JsonReader reader, string name, string field)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw Invalid($"the {field} of tensor '{Show(name)}' must be an array of non-negative integers, found {Describe(reader.TokenType)}");
        var values = new List<ulong>();
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number)
                throw Invalid($"the {field} of tensor '{Show(name)}' must hold only non-negative integers, found {Describe(reader.TokenType)}");
            if (!reader.TryGetUInt64(out ulong v))
                throw Invalid($"the {field} of tensor '{Show(name)}' holds {Show(Encoding.UTF8.GetString(reader.ValueSpan))}, which is not a non-negative integer");
            values.Add(v);
        }
        return values;
    }

    static SafeTensorsEntry Validate(string name, SafeTensorsDType dtype, List<ulong> shape, List<ulong> offsets, long? dataLength)
    {
        string n = Show(name);
        if (offsets.Count != 2)
            throw Invalid($"the data_offsets of tensor '{n}' must be [begin, end], found {offsets.Count} numbers");
        ulong begin = offsets[0], end = offsets[1];
        if (begin > end) throw Invalid($"tensor '{n}' has data_offsets [{begin}, {end}] with begin after end");
        if (dataLength is long length ? end > (ulong)length : end > long.MaxValue)
            throw Invalid($"the data_offsets [{begin}, {end}] of tensor '{n}' lie outside the data buffer of {(dataLength is long l ? l.ToString(CultureInfo.InvariantCulture) : "unknown")} bytes");

        // Element and byte counts in checked unsigned 64-bit arithmetic, as the reference implementation does.
        ulong elements = 1, bytes;
        try
        {
            foreach (var d in shape) elements = checked(elements * d);
            bytes = checked(elements * (ulong)dtype.FileElementSize);
        }
        catch (OverflowException)
        {
            throw Invalid($"the shape {FormatShape(shape)} of tensor '{n}' overflows 64-bit arithmetic when multiplied out");
        }
        if (bytes != end - begin)
            throw Invalid($"tensor '{n}' ({dtype.Name} {FormatShape(shape)}) needs {bytes} bytes but its data_offsets [{begin}, {end}] span {end - begin}");

        // Limits of NeuralCore tensors (int sizes, one managed array of storage), checked only for valid entries.
        if (elements > int.MaxValue || (long)elements * dtype.TensorDType.SizeOf() > Array.MaxLength || shape.Exists(d => d > int.MaxValue))
            throw Invalid($"tensor '{n}' ({dtype.Name} {FormatShape(shape)}) is larger than a NeuralCore tensor can be (at most {int.MaxValue} elements and {Array.MaxLength} bytes)");
        var dims = new int[shape.Count];
        for (int i = 0; i < dims.Length; i++) dims[i] = (int)shape[i];
        return new SafeTensorsEntry(name, dtype, dims, (long)begin, (long)end);
    }

    // Sorts the entries by position and checks that they tile the buffer from 0; returns the covered length.
    static long CheckLayout(List<SafeTensorsEntry> entries)
    {
        entries.Sort((a, b) =>
        {
            int c = a.Begin.CompareTo(b.Begin);
            if (c == 0) c = a.End.CompareTo(b.End);
            return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
        });
        long expected = 0;
        SafeTensorsEntry? previous = null;
        foreach (var e in entries)
        {
            if (e.Begin < expected)
                throw Invalid($"tensors '{Show(previous!.Name)}' [{previous.Begin}, {previous.End}] and '{Show(e.Name)}' [{e.Begin}, {e.End}] overlap in the data buffer");
            if (e.Begin > expected)
                throw Invalid($"the data buffer has a gap of {e.Begin - expected} bytes before tensor '{Show(e.Name)}' [{e.Begin}, {e.End}]; tensors must cover it contiguously");
            expected = e.End;
            previous = e;
        }
        return expected;
    }

    static string FormatShape(List<ulong> shape) => "[" + string.Join(", ", shape) + "]";

    static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };

    // Names come from untrusted files: keep messages short.
    internal static string Show(string text) => MessageText.Clip(text);

    internal static InvalidDataException Invalid(string problem) => new($"Invalid safetensors data: {problem}.");
}
