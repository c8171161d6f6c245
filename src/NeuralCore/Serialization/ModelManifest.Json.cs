using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NeuralCore.Serialization;

public sealed partial record ModelManifest
{
    /// <summary>The manifest as JSON (camelCase property names; optional members are left out when null).</summary>
    /// <exception cref="ArgumentException">
    /// A string is not valid UTF-16 (an unpaired surrogate), or <see cref="Architecture"/> nests deeper than
    /// <see cref="ModelLoadLimits.MaxRecursionDepth"/> levels.
    /// </exception>
    public string ToJson(bool indented = false)
    {
        CheckWritable();
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, ManifestJson.WriterOptions(indented, ModelLoadLimits.MaxRecursionDepth)))
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
            if (Tokenizer is not null)
            {
                w.WritePropertyName("tokenizer");
                Tokenizer.WriteTo(w);
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
            if (TrainingCost is { } cost)
            {
                w.WriteStartObject("trainingCost");
                w.WriteNumber("flops", cost.Flops);
                w.WriteNumber("energyJoules", cost.EnergyJoules);
                w.WriteNumber("co2eGrams", cost.Co2eGrams);
                w.WriteString("method", cost.Method);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    // Everything a caller put in the manifest must be writable: valid UTF-16 strings and a bounded architecture.
    void CheckWritable()
    {
        const string what = "manifest";
        ManifestJson.CheckString(Name ?? throw new ArgumentException("The manifest's Name is null."), what);
        ManifestJson.CheckString(Version ?? throw new ArgumentException("The manifest's Version is null."), what);
        if (WeightsSha256 is not null) ManifestJson.CheckString(WeightsSha256, what);
        foreach (var (k, v) in TrainingConfig ?? new Dictionary<string, string>())
        {
            ManifestJson.CheckString(k, what);
            ManifestJson.CheckString(v ?? throw new ArgumentException($"The manifest's training setting '{MessageText.Clip(k)}' is null."), what);
        }
        foreach (var k in Metrics?.Keys ?? []) ManifestJson.CheckString(k, what);
        if (Architecture is not null) ManifestJson.CheckNode(Architecture, ModelLoadLimits.MaxRecursionDepth - 1, "manifest's architecture");
        if (Tokenizer is not null) ManifestJson.CheckNode(Tokenizer, ModelLoadLimits.MaxRecursionDepth - 1, "manifest's tokenizer");
        TrainingCost?.Validate();
    }

    static void WriteShape(Utf8JsonWriter w, string name, IReadOnlyList<long>? shape)
    {
        if (shape is null) return;
        w.WriteStartArray(name);
        foreach (var d in shape) w.WriteNumberValue(d);
        w.WriteEndArray();
    }

    /// <summary>
    /// Reads a manifest from JSON. Unknown properties are ignored, so newer minor additions still load. The text is
    /// held to <paramref name="limits"/> (size and JSON nesting; <see cref="ModelLoadLimits.Default"/> when null).
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// The JSON is malformed, too large or too deep, has duplicate keys or invalid Unicode, wrong types, values out of
    /// range, or an unsupported format version; the message names the problem.
    /// </exception>
    /// <exception cref="ArgumentNullException"><paramref name="json"/> is null.</exception>
    public static ModelManifest Parse(string json, ModelLoadLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        limits ??= ModelLoadLimits.Default;
        return ParseUtf8(ManifestJson.Encode(json, limits, "Invalid model manifest"), limits);
    }

    internal static ModelManifest ParseUtf8(byte[] utf8, ModelLoadLimits limits)
    {
        var root = ManifestJson.ParseNode(utf8, limits, "Invalid model manifest") as JsonObject
            ?? throw Invalid("the manifest must be a JSON object");
        long formatVersion = Integer(root, "formatVersion", required: true)!.Value;
        if (formatVersion < 1 || formatVersion > CurrentFormatVersion)
            throw Invalid(string.Create(CultureInfo.InvariantCulture,
                $"format version {formatVersion} is not supported (this library reads versions 1 to {CurrentFormatVersion})"));
        var architecture = Node(root, "architecture") switch
        {
            null => null,
            JsonObject o => o,
            _ => throw Invalid("'architecture' must be an object"),
        };
        root.Remove("architecture");                              // detaches it, so the manifest can own it
        var tokenizer = Node(root, "tokenizer") switch
        {
            null => null,
            JsonObject o => o,
            _ => throw Invalid("'tokenizer' must be an object"),
        };
        root.Remove("tokenizer");
        return new ModelManifest
        {
            FormatVersion = (int)formatVersion,
            Name = Text(root, "name") ?? throw Invalid("'name' is missing"),
            Version = Text(root, "version") ?? throw Invalid("'version' is missing"),
            CreatedUtc = ParseTime(Text(root, "createdUtc") ?? throw Invalid("'createdUtc' is missing")),
            Architecture = architecture,
            Tokenizer = tokenizer,
            WeightsSha256 = Sha(Text(root, "weightsSha256")),
            InputShape = Shape(root, "inputShape", limits),
            OutputShape = Shape(root, "outputShape", limits),
            TrainingConfig = StringMap(root, "trainingConfig"),
            Seed = Integer(root, "seed", required: false),
            Metrics = ReadMetrics(root),
            TrainingCost = ReadTrainingCost(root),
        };
    }

    static RecordedTrainingCost? ReadTrainingCost(JsonObject o)
    {
        var n = Node(o, "trainingCost");
        if (n is null) return null;
        if (n is not JsonObject cost) throw Invalid("'trainingCost' must be an object");
        double Number(string name) => Node(cost, name) is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out double d)
            ? d
            : throw Invalid($"'trainingCost.{name}' must be a number");
        var result = new RecordedTrainingCost(
            Integer(cost, "flops", required: true)!.Value, Number("energyJoules"), Number("co2eGrams"),
            Text(cost, "method") ?? throw Invalid("'trainingCost.method' is missing"));
        try
        {
            result.Validate();
        }
        catch (ArgumentException e)
        {
            throw Invalid(e.Message.TrimEnd('.'));
        }
        return result;
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
        throw Invalid($"'{name}' must be a 64-bit integer, found {Show(n)}");
    }

    static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t.ToUniversalTime()
            : throw Invalid($"'createdUtc' is not a date and time: \"{MessageText.Clip(text)}\"");

    static string? Sha(string? hex)
    {
        if (hex is null) return null;
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit)) throw Invalid($"'weightsSha256' must be 64 hex digits, found \"{MessageText.Clip(hex, 80)}\"");
        return hex.ToLowerInvariant();
    }

    static long[]? Shape(JsonObject o, string name, ModelLoadLimits limits)
    {
        var n = Node(o, name);
        if (n is null) return null;
        if (n is not JsonArray a) throw Invalid($"'{name}' must be an array of integers");
        if (a.Count > limits.MaxShapeRank)
            throw Invalid(ModelLoadLimits.Exceeded($"the number of dimensions of '{name}'", a.Count, nameof(ModelLoadLimits.MaxShapeRank), limits.MaxShapeRank));
        var shape = new long[a.Count];
        for (int i = 0; i < shape.Length; i++)
        {
            if (a[i] is not JsonValue v || v.GetValueKind() != JsonValueKind.Number || !v.TryGetValue(out shape[i]) || shape[i] < -1)
                throw Invalid($"'{name}' must hold 64-bit integers ≥ -1 (-1 for a free size), found {Show(a[i])}");
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
            if (v is not JsonValue s || s.GetValueKind() != JsonValueKind.String) throw Invalid($"'{name}.{MessageText.Clip(k)}' must be a string");
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
                    var other => throw Invalid($"'metrics.{MessageText.Clip(k)}' must be a number, found \"{MessageText.Clip(other)}\""),
                },
                _ => throw Invalid($"'metrics.{MessageText.Clip(k)}' must be a number"),
            };
        }
        return result;
    }

    // A value from the file for a message: scalars as written (clipped), containers by kind.
    static string Show(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray a => $"an array of {a.Count} items",
        _ => MessageText.Clip(node.ToJsonString(), 80),
    };

    static InvalidDataException Invalid(string problem) => new($"Invalid model manifest: {problem}.");
}
