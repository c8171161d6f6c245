using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace NeuralCore.Text;

/// <summary>
/// A byte-level byte-pair-encoding tokenizer (as GPT-2's): text is UTF-8 encoded, split into chunks by a pre-tokenizer
/// (letters with an optional leading space, digits, punctuation runs, whitespace; merges never cross chunks), and every
/// chunk's bytes are merged pairwise by learned rules, lowest rank first. Any string round-trips exactly through
/// <see cref="Encode"/> and <see cref="Decode"/>, since the 256 byte values are tokens of their own.
/// </summary>
/// <remarks>
/// Ids: 0–255 are the bytes; 256 + k is the k-th merge (the concatenation of its two parts); the special tokens follow,
/// in the order given at training. <see cref="Save"/> writes the merges and special tokens as JSON (format described
/// there), to keep beside a model. A lone UTF-16 surrogate, which UTF-8 cannot represent, is encoded as U+FFFD, and
/// decoding ids that end inside a multi-byte character gives U+FFFD for it (see <see cref="DecodeBytes"/>).
/// </remarks>
public sealed partial class BytePairTokenizer : ITokenizer
{
    /// <summary>The largest vocabulary <see cref="Train"/> builds and <see cref="Load"/> accepts.</summary>
    public const int MaxVocabSize = 1 << 20;

    /// <summary>The most special tokens, and the longest one in characters.</summary>
    public const int MaxSpecialTokens = 1 << 12, MaxSpecialTokenLength = 256;

    const int CacheLimit = 1 << 16;

    readonly (int Left, int Right)[] merges;
    readonly Dictionary<long, int> ranks;
    readonly byte[][] tokenBytes;
    readonly string[] specials;
    readonly Dictionary<string, int> specialIds;
    readonly ConcurrentDictionary<string, int[]> cache = new(StringComparer.Ordinal);

    BytePairTokenizer(IReadOnlyList<(int Left, int Right)> merges, IReadOnlyList<string> specialTokens)
    {
        this.merges = [.. merges];
        ranks = new Dictionary<long, int>(this.merges.Length);
        tokenBytes = new byte[256 + this.merges.Length][];
        for (int b = 0; b < 256; b++) tokenBytes[b] = [(byte)b];
        for (int k = 0; k < this.merges.Length; k++)
        {
            var (l, r) = this.merges[k];
            ranks[BytePairTrainer.Key(l, r)] = k;
            tokenBytes[256 + k] = [.. tokenBytes[l], .. tokenBytes[r]];
        }
        specials = [.. specialTokens];
        specialIds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < specials.Length; i++) specialIds[specials[i]] = tokenBytes.Length + i;
    }

    /// <summary>
    /// Learns a vocabulary of <paramref name="vocabSize"/> tokens from <paramref name="text"/>: the 256 bytes, then
    /// merges of the most frequent adjacent pair (ties to the smallest pair of ids, so training is deterministic) until
    /// the size is reached or no pair occurs <paramref name="minFrequency"/> times, then the special tokens.
    /// </summary>
    /// <param name="text">Training text.</param>
    /// <param name="vocabSize">Target size including the 256 bytes and the special tokens.</param>
    /// <param name="specialTokens">Strings kept whole by <see cref="Encode"/> (e.g. <c>&lt;|endoftext|&gt;</c>), each its own id.</param>
    /// <param name="minFrequency">Fewest occurrences for a pair to be merged (≥ 1).</param>
    /// <exception cref="ArgumentException">The vocabulary cannot hold the bytes and special tokens, or a special token is empty, too long or repeated.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="vocabSize"/> exceeds <see cref="MaxVocabSize"/> or <paramref name="minFrequency"/> is below 1.</exception>
    public static BytePairTokenizer Train(string text, int vocabSize, IEnumerable<string>? specialTokens = null, int minFrequency = 2)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(vocabSize, MaxVocabSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(minFrequency, 1);
        var special = CheckSpecialTokens(specialTokens?.ToArray() ?? [], s => new ArgumentException(s, nameof(specialTokens)));
        if (vocabSize < 256 + special.Length)
            throw new ArgumentException($"BytePairTokenizer: vocabSize {vocabSize} cannot hold the 256 byte tokens and {special.Length} special tokens.", nameof(vocabSize));
        return new BytePairTokenizer(BytePairTrainer.Learn(text, vocabSize - 256 - special.Length, minFrequency), special);
    }

    /// <summary>Learns a vocabulary from the UTF-8 text file at <paramref name="path"/>; see <see cref="Train"/>.</summary>
    /// <param name="path">The text file.</param>
    /// <param name="vocabSize">Target size including the 256 bytes and the special tokens.</param>
    /// <param name="specialTokens">Strings kept whole by <see cref="Encode"/>.</param>
    /// <param name="minFrequency">Fewest occurrences for a pair to be merged.</param>
    public static BytePairTokenizer TrainFromFile(string path, int vocabSize, IEnumerable<string>? specialTokens = null, int minFrequency = 2) =>
        Train(File.ReadAllText(path, Encoding.UTF8), vocabSize, specialTokens, minFrequency);

    /// <inheritdoc />
    public int VocabSize => tokenBytes.Length + specials.Length;

    /// <summary>The merge rules in rank order: merge k joins ids (Left, Right) into id 256 + k.</summary>
    public IReadOnlyList<(int Left, int Right)> Merges => merges;

    /// <summary>The special tokens in id order; the first has id 256 + <see cref="Merges"/>.Count.</summary>
    public IReadOnlyList<string> SpecialTokens => specials;

    /// <summary>The id of special token <paramref name="token"/>.</summary>
    /// <exception cref="KeyNotFoundException">It is not a special token of this tokenizer.</exception>
    public int SpecialTokenId(string token) =>
        specialIds.TryGetValue(token, out int id) ? id : throw new KeyNotFoundException($"BytePairTokenizer: \"{MessageText.Clip(token)}\" is not a special token.");

    /// <summary>The token ids of <paramref name="text"/>; occurrences of special tokens become their ids.</summary>
    public int[] Encode(string text) => EncodeWith(text, allowSpecial: true);

    /// <summary>The token ids of <paramref name="text"/>, reading special-token strings as ordinary text.</summary>
    public int[] EncodeOrdinary(string text) => EncodeWith(text, allowSpecial: false);

    int[] EncodeWith(string text, bool allowSpecial)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 2 + 1);
        int start = 0;
        while (start < text.Length)
        {
            var (at, special) = allowSpecial ? NextSpecial(text, start) : (text.Length, null);
            foreach (var chunk in PreTokenize(text[start..at])) ids.AddRange(EncodeChunk(chunk));
            if (special is null) break;
            ids.Add(specialIds[special]);
            start = at + special.Length;
        }
        return [.. ids];
    }

    // The earliest special token at or after start (the longest one where several begin at the same place).
    (int At, string? Token) NextSpecial(string text, int start)
    {
        int best = text.Length;
        string? token = null;
        foreach (var s in specials)
        {
            int i = text.IndexOf(s, start, StringComparison.Ordinal);
            if (i >= 0 && (i < best || (i == best && s.Length > token!.Length))) (best, token) = (i, s);
        }
        return (best, token);
    }

    int[] EncodeChunk(string chunk)
    {
        if (cache.TryGetValue(chunk, out var cached)) return cached;
        var word = Encoding.UTF8.GetBytes(chunk).Select(b => (int)b).ToList();
        while (word.Count > 1)
        {
            int bestRank = int.MaxValue;
            for (int i = 0; i + 1 < word.Count; i++)
                if (ranks.TryGetValue(BytePairTrainer.Key(word[i], word[i + 1]), out int rank) && rank < bestRank) bestRank = rank;
            if (bestRank == int.MaxValue) break;
            var (l, r) = merges[bestRank];
            BytePairTrainer.Merge(word, l, r, 256 + bestRank);
        }
        int[] ids = [.. word];
        if (cache.Count >= CacheLimit) cache.Clear();
        cache[chunk] = ids;
        return ids;
    }

    /// <summary>The text of <paramref name="ids"/> (UTF-8 decoded; special tokens as their strings).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, <see cref="VocabSize"/>).</exception>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var sb = new StringBuilder();
        var pending = new List<byte>();
        foreach (int id in ids)
        {
            CheckId(id);
            if (id < tokenBytes.Length)
            {
                pending.AddRange(tokenBytes[id]);
                continue;
            }
            sb.Append(Encoding.UTF8.GetString([.. pending]));
            pending.Clear();
            sb.Append(specials[id - tokenBytes.Length]);
        }
        return sb.Append(Encoding.UTF8.GetString([.. pending])).ToString();
    }

    /// <summary>
    /// The raw bytes of <paramref name="ids"/> (special tokens as their UTF-8 strings), for streaming output that must
    /// not split a multi-byte character.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, <see cref="VocabSize"/>).</exception>
    public byte[] DecodeBytes(ReadOnlySpan<int> ids)
    {
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            CheckId(id);
            bytes.AddRange(id < tokenBytes.Length ? tokenBytes[id] : Encoding.UTF8.GetBytes(specials[id - tokenBytes.Length]));
        }
        return [.. bytes];
    }

    void CheckId(int id)
    {
        if ((uint)id >= (uint)VocabSize)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"BytePairTokenizer: token id {id} is outside the vocabulary of {VocabSize}.");
    }

    // GPT-2's pre-tokenizer: English contractions, letters or digits with an optional leading space, runs of other
    // characters with an optional leading space, and whitespace (a run before a word leaves its last space to the word).
    [GeneratedRegex(@"'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", RegexOptions.CultureInvariant)]
    private static partial Regex PreTokenizer();

    internal static IEnumerable<string> PreTokenize(string text)
    {
        foreach (Match m in PreTokenizer().Matches(text)) yield return m.Value;
    }

    static string[] CheckSpecialTokens(string[] tokens, Func<string, Exception> error)
    {
        if (tokens.Length > MaxSpecialTokens) throw error($"BytePairTokenizer: {tokens.Length} special tokens exceed the limit of {MaxSpecialTokens}.");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in tokens)
        {
            if (string.IsNullOrEmpty(t)) throw error("BytePairTokenizer: a special token is null or empty.");
            if (t.Length > MaxSpecialTokenLength)
                throw error($"BytePairTokenizer: special token \"{MessageText.Clip(t)}\" is longer than {MaxSpecialTokenLength.ToString(CultureInfo.InvariantCulture)} characters.");
            if (!seen.Add(t)) throw error($"BytePairTokenizer: special token \"{MessageText.Clip(t)}\" is listed twice.");
        }
        return tokens;
    }
}
