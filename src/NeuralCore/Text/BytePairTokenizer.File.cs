using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NeuralCore.Text;

public sealed partial class BytePairTokenizer
{
    const string FormatName = "NeuralCore.BytePairTokenizer";
    const string PreTokenizerName = "gpt2";

    /// <summary>The largest tokenizer file <see cref="Load"/> reads.</summary>
    public const int MaxFileBytes = 64 << 20;

    /// <summary>The <c>"type"</c> name in <see cref="ToJson"/>.</summary>
    public const string TypeName = "bpe";

    /// <summary>
    /// The tokenizer as JSON, as <see cref="Save"/> writes it and a model file's manifest records it:
    /// <c>{"type": "bpe", "format": "NeuralCore.BytePairTokenizer", "version": 1, "preTokenizer": "gpt2",
    /// "merges": [[l, r], ...], "specialTokens": ["...", ...]}</c>. Merge k (0-based) joins ids l and r into id 256 + k,
    /// so l and r are below 256 + k; ids 0–255 are the bytes; special token i has id 256 + merges + i.
    /// </summary>
    public JsonObject ToJson()
    {
        var mergeArray = new JsonArray();
        foreach (var (l, r) in merges) mergeArray.Add((JsonNode)new JsonArray(JsonValue.Create(l), JsonValue.Create(r)));
        var specialArray = new JsonArray();
        foreach (var s in specials) specialArray.Add((JsonNode?)JsonValue.Create(s));
        return new JsonObject
        {
            ["type"] = TypeName,
            ["format"] = FormatName,
            ["version"] = 1,
            ["preTokenizer"] = PreTokenizerName,
            ["merges"] = mergeArray,
            ["specialTokens"] = specialArray,
        };
    }

    /// <summary>Writes <see cref="ToJson"/> to <paramref name="path"/> as UTF-8 JSON.</summary>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = File.Create(path);
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false });
        ToJson().WriteTo(writer);
    }

    /// <summary>Reads a tokenizer written by <see cref="Save"/>, validating it before building anything.</summary>
    /// <exception cref="InvalidDataException">
    /// The file is larger than <see cref="MaxFileBytes"/>, not JSON, of another format or version, or holds an invalid
    /// merge (an id not yet defined), too many tokens, or a bad special token; the message names the problem.
    /// </exception>
    public static BytePairTokenizer Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = File.OpenRead(path);
        if (stream.Length > MaxFileBytes)
            throw new InvalidDataException($"BytePairTokenizer: {path} is {stream.Length} bytes, over the limit of {MaxFileBytes}.");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 8 }); }
        catch (JsonException e) { throw new InvalidDataException($"BytePairTokenizer: {path} is not valid JSON: {e.Message}", e); }
        using (doc) return FromElement(doc.RootElement, path);
    }

    /// <summary>Rebuilds the tokenizer from <see cref="ToJson"/>'s output (as recorded in a model file's manifest).</summary>
    /// <exception cref="InvalidDataException">The description is malformed (the same checks as <see cref="Load"/>).</exception>
    public static BytePairTokenizer FromJson(JsonObject json)
    {
        ArgumentNullException.ThrowIfNull(json);
        using var doc = JsonDocument.Parse(json.ToJsonString(), new JsonDocumentOptions { MaxDepth = 8 });
        return FromElement(doc.RootElement, "the tokenizer description");
    }

    static BytePairTokenizer FromElement(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object) throw Invalid(path, "the root is not a JSON object");
        if (root.TryGetProperty("type", out var type) && (type.ValueKind != JsonValueKind.String || type.GetString() != TypeName))
            throw Invalid(path, $"\"type\" is not \"{TypeName}\"");
        if (String(root, "format", path) != FormatName) throw Invalid(path, $"\"format\" is not \"{FormatName}\"");
        if (!root.TryGetProperty("version", out var version) || version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out int v) || v != 1)
            throw Invalid(path, "\"version\" must be 1");
        if (String(root, "preTokenizer", path) != PreTokenizerName) throw Invalid(path, $"\"preTokenizer\" is not \"{PreTokenizerName}\"");
        var merges = ReadMerges(Array(root, "merges", path), path);
        var specialJson = Array(root, "specialTokens", path);
        var specials = new List<string>();
        foreach (var s in specialJson.EnumerateArray())
        {
            if (s.ValueKind != JsonValueKind.String) throw Invalid(path, "a special token is not a string");
            specials.Add(s.GetString()!);
            if (specials.Count > MaxSpecialTokens) break;
        }
        CheckSpecialTokens([.. specials], m => Invalid(path, m));
        if (256L + merges.Count + specials.Count > MaxVocabSize)
            throw Invalid(path, $"the vocabulary of {256L + merges.Count + specials.Count} tokens exceeds {MaxVocabSize}");
        return new BytePairTokenizer(merges, specials);
    }

    static List<(int, int)> ReadMerges(JsonElement array, string path)
    {
        int count = array.GetArrayLength();
        if (count > MaxVocabSize - 256) throw Invalid(path, $"{count} merges exceed the vocabulary limit of {MaxVocabSize}");
        var merges = new List<(int, int)>(count);
        foreach (var pair in array.EnumerateArray())
        {
            int k = merges.Count;
            if (pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2)
                throw Invalid(path, $"merge {k} is not a pair of ids");
            int l = Id(pair[0]), r = Id(pair[1]);
            if (l < 0 || r < 0 || l >= 256 + k || r >= 256 + k)
                throw Invalid(path, $"merge {k} joins ids [{pair[0].GetRawText()}, {pair[1].GetRawText()}]; each must be a defined id below {256 + k}");
            merges.Add((l, r));
        }
        return merges;
    }

    static int Id(JsonElement e) => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int id) ? id : -1;

    static string? String(JsonElement root, string name, string path) =>
        root.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : throw Invalid(path, $"\"{name}\" is missing or not a string");

    static JsonElement Array(JsonElement root, string name, string path) =>
        root.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.Array ? e : throw Invalid(path, $"\"{name}\" is missing or not an array");

    static InvalidDataException Invalid(string path, string problem) => new($"BytePairTokenizer: {MessageText.Clip(path)}: {problem}.");
}
