using System.Text.Json.Nodes;

namespace NeuralCore.Text;

/// <summary>
/// Turns text into token ids and back. Implementations describe themselves as JSON (<see cref="ToJson"/>) so a model
/// file's manifest can record the tokenizer it was trained with, and <see cref="Tokenizers.FromJson"/> rebuilds them.
/// </summary>
public interface ITokenizer
{
    /// <summary>The number of token ids; every id is in [0, VocabSize).</summary>
    int VocabSize { get; }

    /// <summary>The ids of <paramref name="text"/>.</summary>
    /// <exception cref="ArgumentException">The text holds something the tokenizer cannot represent (the message says what and where).</exception>
    int[] Encode(string text);

    /// <summary>The text of <paramref name="tokens"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, VocabSize).</exception>
    string Decode(ReadOnlySpan<int> tokens);

    /// <summary>The tokenizer as JSON: a <c>"type"</c> name and whatever rebuilds it.</summary>
    JsonObject ToJson();
}
