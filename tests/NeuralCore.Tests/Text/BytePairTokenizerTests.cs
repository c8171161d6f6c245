using System.Text;
using NeuralCore.Text;

namespace NeuralCore.Tests.Text;

public sealed class BytePairTokenizerTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("nc-bpe-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    const string Corpus = """
        It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness,
        it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it was the season of
        Darkness, it was the spring of hope, it was the winter of despair. Numbers 1234 and 5678; naïve café, 東京, 😀!
        """;

    // Strings mixing ASCII, accented Latin, CJK, emoji (surrogate pairs), whitespace runs and a special token's text.
    static IEnumerable<string> RandomTexts(int count, int seed)
    {
        string[] pieces = ["a", "b", "the", " ", "  ", "\n", "\t", "é", "ß", "東", "京", "😀", "🎉", "1", "42", ".", ",", "'s", "'ll", "<|end|>", "<|", "\r\n", "Ω", "\u0301"];
        var rng = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            var sb = new StringBuilder();
            int n = rng.Next(0, 30);
            for (int j = 0; j < n; j++) sb.Append(pieces[rng.Next(pieces.Length)]);
            yield return sb.ToString();
        }
    }

    [Fact]
    public void Train_LearnsTheMostFrequentPairsInOrder()
    {
        // Chunks "abab", " abab", " ab": (a, b) occurs 5 times; then (" ", ab) and (ab, ab) twice each, the tie going
        // to the smaller pair of ids; after that every pair occurs once.
        var tokenizer = BytePairTokenizer.Train("abab abab ab", vocabSize: 300);

        Assert.Equal([((int)'a', (int)'b'), ((int)' ', 256)], tokenizer.Merges);
        Assert.Equal(258, tokenizer.VocabSize);
        Assert.Equal([256, 256, 257], tokenizer.Encode("abab ab"));
        Assert.Equal([(int)'b', (int)'a'], tokenizer.Encode("ba"));
    }

    [Fact]
    public void Train_FillsTheRequestedVocabularyAndNeverMergesAcrossChunks()
    {
        var tokenizer = BytePairTokenizer.Train(Corpus, vocabSize: 256 + 40 + 1, specialTokens: ["<|end|>"], minFrequency: 1);

        Assert.Equal(297, tokenizer.VocabSize);
        Assert.Equal(40, tokenizer.Merges.Count);
        Assert.Equal(296, tokenizer.SpecialTokenId("<|end|>"));
        foreach (var id in Enumerable.Range(256, 40))
        {
            var text = Encoding.UTF8.GetString(tokenizer.DecodeBytes([id]));
            // A chunk with text may start with one space; no such token holds a space after that.
            if (!string.IsNullOrWhiteSpace(text)) Assert.True(text.IndexOf(' ', 1) < 0, $"token {id} is \"{text}\"");
        }
        int bytes = Encoding.UTF8.GetByteCount(Corpus);
        Assert.True(tokenizer.Encode(Corpus).Length < bytes * 0.7, $"{tokenizer.Encode(Corpus).Length} tokens for {bytes} bytes");
        Assert.Equal(tokenizer.Merges, BytePairTokenizer.Train(Corpus, 297, ["<|end|>"], minFrequency: 1).Merges);
        // With the default minimum frequency of 2 training stops early on this short text.
        var frequent = BytePairTokenizer.Train(Corpus, 297, ["<|end|>"]);
        Assert.InRange(frequent.Merges.Count, 1, 39);
        Assert.Equal(tokenizer.Merges.Take(frequent.Merges.Count), frequent.Merges);
    }

    [Fact]
    public void EncodeDecode_RoundTripsAnyText()
    {
        var tokenizer = BytePairTokenizer.Train(Corpus + string.Concat(RandomTexts(50, 1)), vocabSize: 400, specialTokens: ["<|end|>"]);
        foreach (var text in RandomTexts(500, 2).Append("").Append(Corpus))
        {
            var ids = tokenizer.Encode(text);
            Assert.All(ids, id => Assert.InRange(id, 0, tokenizer.VocabSize - 1));
            Assert.Equal(text, tokenizer.Decode(ids));
            Assert.Equal(text, tokenizer.Decode(tokenizer.EncodeOrdinary(text)));
            Assert.Equal(Encoding.UTF8.GetBytes(text), tokenizer.DecodeBytes(tokenizer.EncodeOrdinary(text)));
        }
    }

    [Fact]
    public void SpecialTokens_AreKeptWholeUnlessReadAsOrdinaryText()
    {
        var tokenizer = BytePairTokenizer.Train(Corpus, vocabSize: 300, specialTokens: ["<|end|>", "<|endoftext|>"]);
        int end = tokenizer.SpecialTokenId("<|end|>"), eot = tokenizer.SpecialTokenId("<|endoftext|>");

        var ids = tokenizer.Encode("it was<|endoftext|>the<|end|>");
        Assert.Equal(1, ids.Count(i => i == eot));
        Assert.Equal(end, ids[^1]);
        Assert.DoesNotContain(end, tokenizer.EncodeOrdinary("it was<|endoftext|>the<|end|>"));
        Assert.DoesNotContain(eot, tokenizer.EncodeOrdinary("it was<|endoftext|>the<|end|>"));
        Assert.Equal("<|endoftext|>", tokenizer.Decode([eot]));
        Assert.Throws<KeyNotFoundException>(() => tokenizer.SpecialTokenId("<|nope|>"));
    }

    [Fact]
    public void SaveLoad_RoundTripsTheVocabulary()
    {
        var tokenizer = BytePairTokenizer.Train(Corpus, vocabSize: 330, specialTokens: ["<|end|>"]);
        string path = Path.Combine(dir, "tokenizer.json");
        tokenizer.Save(path);
        var loaded = BytePairTokenizer.Load(path);

        Assert.Equal(tokenizer.Merges, loaded.Merges);
        Assert.Equal(tokenizer.SpecialTokens, loaded.SpecialTokens);
        Assert.Equal(tokenizer.VocabSize, loaded.VocabSize);
        foreach (var text in RandomTexts(50, 3)) Assert.Equal(tokenizer.Encode(text), loaded.Encode(text));
        Assert.StartsWith("{\"type\":\"bpe\",\"format\":\"NeuralCore.BytePairTokenizer\",\"version\":1,\"preTokenizer\":\"gpt2\",\"merges\":[[", File.ReadAllText(path));
    }

    [Fact]
    public void ToJson_RebuildsThroughTokenizersFromJson()
    {
        var tokenizer = BytePairTokenizer.Train(Corpus, vocabSize: 320, specialTokens: ["<|end|>"]);
        var rebuilt = Assert.IsType<BytePairTokenizer>(Tokenizers.FromJson(tokenizer.ToJson()));

        Assert.Equal(tokenizer.Merges, rebuilt.Merges);
        Assert.Equal(tokenizer.SpecialTokens, rebuilt.SpecialTokens);
        foreach (var text in RandomTexts(30, 5)) Assert.Equal(tokenizer.Encode(text), rebuilt.Encode(text));

        var tampered = tokenizer.ToJson();
        tampered["merges"]!.AsArray()[0] = new System.Text.Json.Nodes.JsonArray(5000, 1);
        var e = Assert.Throws<InvalidDataException>(() => Tokenizers.FromJson(tampered));
        Assert.Contains("merge 0", e.Message);
    }

    [Fact]
    public void TrainFromFile_ReadsUtf8Text()
    {
        string path = Path.Combine(dir, "corpus.txt");
        File.WriteAllText(path, Corpus, new UTF8Encoding(false));
        Assert.Equal(BytePairTokenizer.Train(Corpus, 280).Merges, BytePairTokenizer.TrainFromFile(path, 280).Merges);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("[]", "not a JSON object")]
    [InlineData("""{"format":"other","version":1,"preTokenizer":"gpt2","merges":[],"specialTokens":[]}""", "\"format\"")]
    [InlineData("""{"format":"NeuralCore.BytePairTokenizer","version":2,"preTokenizer":"gpt2","merges":[],"specialTokens":[]}""", "\"version\" must be 1")]
    [InlineData("""{"format":"NeuralCore.BytePairTokenizer","version":1,"preTokenizer":"gpt2","merges":[[97,256]],"specialTokens":[]}""", "merge 0 joins ids [97, 256]")]
    [InlineData("""{"format":"NeuralCore.BytePairTokenizer","version":1,"preTokenizer":"gpt2","merges":[[97,-1]],"specialTokens":[]}""", "merge 0")]
    [InlineData("""{"format":"NeuralCore.BytePairTokenizer","version":1,"preTokenizer":"gpt2","merges":[[97]],"specialTokens":[]}""", "not a pair")]
    [InlineData("""{"format":"NeuralCore.BytePairTokenizer","version":1,"preTokenizer":"gpt2","merges":[],"specialTokens":["x","x"]}""", "listed twice")]
    [InlineData("""{"format":"NeuralCore.BytePairTokenizer","version":1,"preTokenizer":"gpt2","merges":[],"specialTokens":[""]}""", "empty")]
    [InlineData("""{"format":"NeuralCore.BytePairTokenizer","version":1,"preTokenizer":"gpt2","merges":[]}""", "\"specialTokens\" is missing")]
    public void Load_RejectsMalformedFiles(string content, string message)
    {
        string path = Path.Combine(dir, "bad.json");
        File.WriteAllText(path, content);
        var e = Assert.Throws<InvalidDataException>(() => BytePairTokenizer.Load(path));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void BadArguments_GetClearErrors()
    {
        var tokenizer = BytePairTokenizer.Train("abc", 260);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([tokenizer.VocabSize]));
        Assert.Contains($"token id {tokenizer.VocabSize} is outside the vocabulary of {tokenizer.VocabSize}", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([-1]));
        Assert.Throws<ArgumentException>(() => BytePairTokenizer.Train("abc", 256, ["<s>"]));
        Assert.Throws<ArgumentException>(() => BytePairTokenizer.Train("abc", 300, ["<s>", "<s>"]));
        Assert.Throws<ArgumentOutOfRangeException>(() => BytePairTokenizer.Train("abc", BytePairTokenizer.MaxVocabSize + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => BytePairTokenizer.Train("abc", 300, minFrequency: 0));
    }
}
