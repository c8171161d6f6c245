using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NeuralCore.Serialization;

public sealed partial record ModelManifest
{
    /// <summary>The manifest as JSON (camelCase property names; optional members are left out when null).</summary>
    public string ToJson(bool indented = false)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteNumber("formatVersion", FormatVersion);
            w.WriteString("name", Name);
            w.WriteString("version", Version);
            w.WriteString("createdUtc", CreatedUtc.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
            if (Architecture is not null)
            {
                w.WritePropertyName("architecture");
                Architecture.WriteTo(w);
            }
            if (WeightsSha256 is not null) w.WriteString("weightsSha256", WeightsSha256);
            WriteShape(w, "inputShape", InputShape);
            WriteShape(w, "outputShape", OutputShape);
            if (TrainingConfig is not null)
            {
                w.WriteStartObject("trainingConfig");
                foreach (var (k, v) in TrainingConfig) w.WriteString(k, v);
                w.WriteEndObject();
            }
            if (Seed is long seed) w.WriteNumber("seed", seed);
            if (Metrics is not null)
            {
                w.WriteStartObject("metrics");
                foreach (var (k, v) in Metrics)
                {
                    // JSON has no NaN or infinities; they are written as the strings .NET and Python print.
                    if (double.IsFinite(v)) w.WriteNumber(k, v);
                    else w.WriteString(k, double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    static void WriteShape(Utf8JsonWriter w, string name, IReadOnlyList<long>? shape)
    {
        if (shape is null) return;
        w.WriteStartArray(name);
        foreach (var d in shape) w.WriteNumberValue(d);
        w.WriteEndArray();
    }

    /// <summary>Reads a manifest from JSON. Unknown properties are ignored, so newer minor additions still load.</summary>
    /// <exception cref="InvalidDataException">The JSON is malformed, has duplicate keys, wrong types, or a newer format version.</exception>
    public static ModelManifest Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonObject root;
        try
        {
            // Deep enough for architectures nested ModuleConfigs.MaxDepth levels (an object and an array per level).
            var options = new JsonDocumentOptions { AllowDuplicateProperties = false, MaxDepth = 4 * ModuleConfigs.MaxDepth + 8 };
            root = JsonNode.Parse(json, documentOptions: options) as JsonObject
                ?? throw Invalid("the manifest must be a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Invalid model manifest: not valid JSON ({e.Message}).", e);
        }
        try
        {
            int formatVersion = (int)Integer(root, "formatVersion", required: true)!;
            if (formatVersion < 1 || formatVersion > CurrentFormatVersion)
                throw Invalid($"format version {formatVersion} is not supported (this library reads versions 1 to {CurrentFormatVersion})");
            return new ModelManifest
            {
                FormatVersion = formatVersion,
                Name = Text(root, "name") ?? throw Invalid("'name' is missing"),
                Version = Text(root, "version") ?? throw Invalid("'version' is missing"),
                CreatedUtc = ParseTime(Text(root, "createdUtc") ?? throw Invalid("'createdUtc' is missing")),
                Architecture = Node(root, "architecture") switch
                {
                    null => null,
                    JsonObject o => (JsonObject)o.DeepClone(),
                    _ => throw Invalid("'architecture' must be an object"),
                },
                WeightsSha256 = Sha(Text(root, "weightsSha256")),
                InputShape = Shape(root, "inputShape"),
                OutputShape = Shape(root, "outputShape"),
                TrainingConfig = StringMap(root, "trainingConfig"),
                Seed = Integer(root, "seed", required: false),
                Metrics = ReadMetrics(root),
            };
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"Invalid model manifest: {e.Message}", e);
        }
    }

    static JsonNode? Node(JsonObject o, string name) => o.TryGetPropertyValue(name, out var n) ? n : null;

    static string? Text(JsonObject o, string name) => Node(o, name) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        var other => throw Invalid($"'{name}' must be a string, found {other.GetValueKind()}"),
    };

    static long? Integer(JsonObject o, string name, bool required)
    {
        var n = Node(o, name);
        if (n is null) return required ? throw Invalid($"'{name}' is missing") : null;
        if (n is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out long l)) return l;
        throw Invalid($"'{name}' must be an integer, found {n.ToJsonString()}");
    }

    static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t.ToUniversalTime()
            : throw Invalid($"'createdUtc' is not a date and time: \"{text}\"");

    static string? Sha(string? hex)
    {
        if (hex is null) return null;
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit)) throw Invalid($"'weightsSha256' must be 64 hex digits, found \"{hex}\"");
        return hex.ToLowerInvariant();
    }

    static long[]? Shape(JsonObject o, string name)
    {
        var n = Node(o, name);
        if (n is null) return null;
        if (n is not JsonArray a) throw Invalid($"'{name}' must be an array of integers");
        var shape = new long[a.Count];
        for (int i = 0; i < shape.Length; i++)
        {
            if (a[i] is not JsonValue v || v.GetValueKind() != JsonValueKind.Number || !v.TryGetValue(out shape[i]) || shape[i] < -1)
                throw Invalid($"'{name}' must hold integers ≥ -1 (-1 for a free size), found {a[i]?.ToJsonString() ?? "null"}");
        }
        return shape;
    }

    static Dictionary<string, string>? StringMap(JsonObject o, string name)
    {
        var n = Node(o, name);
        if (n is null) return null;
        if (n is not JsonObject map) throw Invalid($"'{name}' must be an object of strings");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in map)
        {
            if (v is not JsonValue s || s.GetValueKind() != JsonValueKind.String) throw Invalid($"'{name}.{k}' must be a string");
            result[k] = s.GetValue<string>();
        }
        return result;
    }

    static Dictionary<string, double>? ReadMetrics(JsonObject o)
    {
        var n = Node(o, "metrics");
        if (n is null) return null;
        if (n is not JsonObject map) throw Invalid("'metrics' must be an object of numbers");
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (k, v) in map)
        {
            result[k] = v switch
            {
                JsonValue num when num.GetValueKind() == JsonValueKind.Number && num.TryGetValue(out double d) => d,
                JsonValue s when s.GetValueKind() == JsonValueKind.String => s.GetValue<string>() switch
                {
                    "NaN" => double.NaN,
                    "Infinity" => double.PositiveInfinity,
                    "-Infinity" => double.NegativeInfinity,
                    var other => throw Invalid($"'metrics.{k}' must be a number, found \"{other}\""),
                },
                _ => throw Invalid($"'metrics.{k}' must be a number"),
            };
        }
        return result;
    }

    static InvalidDataException Invalid(string problem) => new($"Invalid model manifest: {problem}.");
}
