using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NeuralCore.Serialization;

/// <summary>
/// The JSON plumbing shared by manifests and architectures: reading bytes from files under the load limits (every
/// failure an <see cref="InvalidDataException"/>) and writing objects built by callers (every failure an
/// <see cref="ArgumentException"/>), without recursion deeper than the limits allow.
/// </summary>
internal static class ManifestJson
{
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The writer settings manifests are written with (compact unless indented; non-ASCII kept as is).</summary>
    public static JsonWriterOptions WriterOptions(bool indented, int maxDepth) =>
        new() { Indented = indented, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, MaxDepth = maxDepth + 1 };

    /// <summary>The UTF-8 bytes of manifest text handed over as a string.</summary>
    /// <exception cref="InvalidDataException">The text is longer than the limit or not valid UTF-16.</exception>
    public static byte[] Encode(string json, ModelLoadLimits limits, string context)
    {
        if (json.Length > limits.MaxManifestBytes) throw TooLarge(json.Length, limits, context);
        byte[] bytes;
        try
        {
            bytes = StrictUtf8.GetBytes(json);
        }
        catch (EncoderFallbackException e)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"{context}: the text holds an unpaired UTF-16 surrogate at index {e.Index}; it is not valid Unicode."), e);
        }
        if (bytes.Length > limits.MaxManifestBytes) throw TooLarge(bytes.Length, limits, context);
        return bytes;
    }

    static InvalidDataException TooLarge(long bytes, ModelLoadLimits limits, string context) =>
        new($"{context}: {ModelLoadLimits.Exceeded("its size in bytes", bytes, nameof(ModelLoadLimits.MaxManifestBytes), limits.MaxManifestBytes)}.");

    /// <summary>
    /// Parses UTF-8 JSON from a file: at most <see cref="ModelLoadLimits.MaxManifestBytes"/> bytes and
    /// <see cref="ModelLoadLimits.MaxJsonDepth"/> levels, no duplicate keys, and every string (keys included) valid
    /// Unicode, so nothing read from the document afterwards can fail.
    /// </summary>
    /// <exception cref="InvalidDataException">Any of those is violated; the message starts with <paramref name="context"/>.</exception>
    public static JsonDocument Parse(byte[] utf8, ModelLoadLimits limits, string context) =>
        Checked(utf8, limits, context, options => JsonDocument.Parse(utf8, options));

    /// <summary>Parses like <see cref="Parse"/>, into a mutable node.</summary>
    /// <exception cref="InvalidDataException">The JSON breaks a rule or a limit.</exception>
    public static JsonNode? ParseNode(byte[] utf8, ModelLoadLimits limits, string context) =>
        Checked(utf8, limits, context, options => JsonNode.Parse(utf8, documentOptions: options));

    static T Checked<T>(byte[] utf8, ModelLoadLimits limits, string context, Func<JsonDocumentOptions, T> parse)
    {
        if (utf8.Length > limits.MaxManifestBytes) throw TooLarge(utf8.Length, limits, context);
        var options = new JsonDocumentOptions { MaxDepth = limits.MaxJsonDepth, AllowDuplicateProperties = false };
        try
        {
            CheckStrings(utf8, options, context);
            return parse(options);
        }
        catch (JsonException e)
        {
            string hint = e.Message.Contains("depth", StringComparison.OrdinalIgnoreCase)
                ? string.Create(CultureInfo.InvariantCulture, $" JSON nesting is limited to {limits.MaxJsonDepth} levels (ModelLoadLimits.MaxJsonDepth); if the file is trusted, load it with a larger limit.")
                : "";
            throw new InvalidDataException($"{context}: not valid JSON ({MessageText.Clip(e.Message)}).{hint}", e);
        }
    }

    // JSON escapes can spell an unpaired surrogate ("\ud800"), which System.Text.Json refuses to turn into a string
    // only when asked for it; decode every escaped string once here so the refusal is an InvalidDataException.
    static void CheckStrings(byte[] utf8, JsonDocumentOptions options, string context)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = options.MaxDepth });
        while (reader.Read())
        {
            if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName) || !reader.ValueIsEscaped) continue;
            try
            {
                reader.GetString();
            }
            catch (InvalidOperationException e)
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"{context}: not valid JSON: the {(reader.TokenType == JsonTokenType.PropertyName ? "key" : "string")} at byte {reader.TokenStartIndex} escapes an unpaired UTF-16 surrogate; it is not valid Unicode."), e);
            }
        }
    }

    /// <summary>
    /// Writes a JSON object built by a caller: checked first, without recursion, for nesting deeper than
    /// <paramref name="maxDepth"/> and for strings that are not valid UTF-16.
    /// </summary>
    /// <exception cref="ArgumentException">The object is too deep or holds an invalid string.</exception>
    public static byte[] ToUtf8(JsonNode node, int maxDepth, string what)
    {
        CheckNode(node, maxDepth, what);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions(false, maxDepth))) node.WriteTo(w);
        return buffer.ToArray();
    }

    /// <summary>Checks a caller's JSON tree as <see cref="ToUtf8"/> does, iteratively.</summary>
    /// <exception cref="ArgumentException">The tree is too deep or holds an invalid string.</exception>
    public static void CheckNode(JsonNode node, int maxDepth, string what)
    {
        var pending = new Stack<(JsonNode? Node, int Depth)>();
        pending.Push((node, 1));
        while (pending.Count > 0)
        {
            var (current, depth) = pending.Pop();
            switch (current)
            {
                case JsonObject o:
                    if (depth > maxDepth) throw TooDeep(what, maxDepth);
                    foreach (var (key, value) in o)
                    {
                        CheckString(key, what);
                        pending.Push((value, depth + 1));
                    }
                    break;
                case JsonArray a:
                    if (depth > maxDepth) throw TooDeep(what, maxDepth);
                    foreach (var item in a) pending.Push((item, depth + 1));
                    break;
                case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                    string text;
                    try
                    {
                        text = v.GetValue<string>();
                    }
                    catch (Exception e) when (e is InvalidOperationException or FormatException)
                    {
                        throw new ArgumentException($"The {what} holds a string that is not valid UTF-16 ({MessageText.Clip(e.Message)}).", e);
                    }
                    CheckString(text, what);
                    break;
            }
        }
    }

    static ArgumentException TooDeep(string what, int maxDepth) => new(string.Create(CultureInfo.InvariantCulture,
        $"The {what} nests JSON objects and arrays deeper than {maxDepth} levels (ModelLoadLimits.MaxJsonDepth); model files are read with this bound."));

    /// <summary>Refuses a string with an unpaired UTF-16 surrogate (it has no UTF-8 form).</summary>
    public static void CheckString(string text, string what)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (!char.IsSurrogate(c)) continue;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"The {what} holds a string of {text.Length} characters with an unpaired UTF-16 surrogate at index {i}; it cannot be written as UTF-8."));
        }
    }
}
