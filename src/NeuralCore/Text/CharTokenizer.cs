using System.Text;
using System.Text.Json.Nodes;

namespace NeuralCore.Text;

/// <summary>
/// A character-level tokenizer: one id per Unicode scalar value of a fixed alphabet, in the alphabet's order.
/// Build it from a training text with <see cref="FromText"/> (the distinct characters, sorted by code point).
/// </summary>
public sealed class CharTokenizer : ITokenizer
{
    /// <summary>The <c>"type"</c> name in <see cref="ToJson"/>.</summary>
    public const string TypeName = "char";

    readonly Rune[] alphabet;
    readonly Dictionary<Rune, int> ids;

    /// <summary>Creates the tokenizer over <paramref name="alphabet"/>: the i-th character gets id i.</summary>
    /// <exception cref="ArgumentException">The alphabet is empty or repeats a character.</exception>
    public CharTokenizer(string alphabet)
    {
        ArgumentNullException.ThrowIfNull(alphabet);
        this.alphabet = [.. alphabet.EnumerateRunes()];
        if (this.alphabet.Length == 0) throw new ArgumentException("CharTokenizer: the alphabet is empty.", nameof(alphabet));
        ids = new Dictionary<Rune, int>(this.alphabet.Length);
        for (int i = 0; i < this.alphabet.Length; i++)
        {
            if (!ids.TryAdd(this.alphabet[i], i))
                throw new ArgumentException($"CharTokenizer: the alphabet repeats '{this.alphabet[i]}' (U+{this.alphabet[i].Value:X4}).", nameof(alphabet));
        }
    }

    /// <summary>The tokenizer of the distinct characters of <paramref name="text"/>, sorted by code point.</summary>
    /// <exception cref="ArgumentException">The text is empty.</exception>
    public static CharTokenizer FromText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var set = new SortedSet<int>();
        foreach (var r in text.EnumerateRunes()) set.Add(r.Value);
        var sb = new StringBuilder();
        foreach (int v in set) sb.Append(new Rune(v).ToString());
        return new CharTokenizer(sb.ToString());
    }

    /// <summary>The alphabet, in id order.</summary>
    public string Alphabet => string.Concat(alphabet.Select(r => r.ToString()));

    /// <inheritdoc />
    public int VocabSize => alphabet.Length;

    /// <summary>The id of one character, or -1 when it is not in the alphabet.</summary>
    public int IdOf(Rune c) => ids.TryGetValue(c, out int id) ? id : -1;

    /// <inheritdoc />
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new List<int>(text.Length);
        int index = 0;
        foreach (var r in text.EnumerateRunes())
        {
            if (!ids.TryGetValue(r, out int id))
                throw new ArgumentException($"CharTokenizer: the character U+{r.Value:X4} at index {index} is not in the alphabet of {alphabet.Length} characters.", nameof(text));
            result.Add(id);
            index += r.Utf16SequenceLength;
        }
        return [.. result];
    }

    /// <inheritdoc />
    public string Decode(ReadOnlySpan<int> tokens)
    {
        var sb = new StringBuilder(tokens.Length);
        foreach (int t in tokens)
        {
            if ((uint)t >= (uint)alphabet.Length)
                throw new ArgumentOutOfRangeException(nameof(tokens), $"CharTokenizer: token {t} is outside [0, {alphabet.Length}).");
            sb.Append(alphabet[t].ToString());
        }
        return sb.ToString();
    }

    /// <inheritdoc />
    public JsonObject ToJson() => new() { ["type"] = TypeName, ["alphabet"] = Alphabet };

    /// <summary>Rebuilds the tokenizer from <see cref="ToJson"/>'s output.</summary>
    /// <exception cref="InvalidDataException">The JSON is not a character tokenizer's description.</exception>
    public static CharTokenizer FromJson(JsonObject json)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (json["alphabet"] is not JsonValue v || !v.TryGetValue(out string? alphabet))
            throw new InvalidDataException("CharTokenizer: the description has no 'alphabet' string.");
        try
        {
            return new CharTokenizer(alphabet);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException(e.Message, e);
        }
    }
}
