namespace NeuralCore.Text;

/// <summary>Maps text to token ids and back.</summary>
public interface ITokenizer
{
    /// <summary>Number of distinct token ids; every id lies in [0, VocabSize).</summary>
    int VocabSize { get; }

    /// <summary>The token ids of <paramref name="text"/>.</summary>
    int[] Encode(string text);

    /// <summary>The text of a sequence of token ids.</summary>
    string Decode(ReadOnlySpan<int> ids);
}
