using System.Text.Json.Nodes;

namespace NeuralCore.Text;

/// <summary>Rebuilds tokenizers from the JSON they describe themselves with (<see cref="ITokenizer.ToJson"/>).</summary>
public static class Tokenizers
{
    /// <summary>The tokenizer <paramref name="json"/> describes, chosen by its <c>"type"</c>.</summary>
    /// <exception cref="InvalidDataException">The type is missing or unknown, or the description is malformed.</exception>
    public static ITokenizer FromJson(JsonObject json)
    {
        ArgumentNullException.ThrowIfNull(json);
        string? type = json["type"] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
        return type switch
        {
            CharTokenizer.TypeName => CharTokenizer.FromJson(json),
            BytePairTokenizer.TypeName => BytePairTokenizer.FromJson(json),
            null => throw new InvalidDataException("Tokenizers: the description has no 'type' string."),
            _ => throw new InvalidDataException($"Tokenizers: unknown tokenizer type '{MessageText.Clip(type)}'."),
        };
    }
}
