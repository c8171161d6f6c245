using System.Text.Json.Nodes;
using NeuralCore.Text;

namespace NeuralCore.Tests.Text;

public class TokenizerTests
{
    [Fact]
    public void CharTokenizer_RoundTrips_AndOrdersItsAlphabet()
    {
        var tok = CharTokenizer.FromText("hello, wörld 🙂!");
        Assert.Equal(" !,dehlorw", tok.Alphabet[..10]);
        Assert.Equal(12, tok.VocabSize);                               // ö and 🙂 (a surrogate pair) are one token each
        var ids = tok.Encode("world 🙂");
        Assert.Equal(7, ids.Length);
        Assert.Equal("world 🙂", tok.Decode(ids));
        Assert.All(ids, id => Assert.InRange(id, 0, tok.VocabSize - 1));
    }

    [Fact]
    public void CharTokenizer_RejectsUnknownCharactersAndIds()
    {
        var tok = new CharTokenizer("abc");
        var ex = Assert.Throws<ArgumentException>(() => tok.Encode("abxa"));
        Assert.Contains("U+0078", ex.Message);
        Assert.Contains("index 2", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([0, 3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([-1]));
        Assert.Throws<ArgumentException>(() => new CharTokenizer("aba"));
        Assert.Throws<ArgumentException>(() => new CharTokenizer(""));
    }

    [Fact]
    public void Tokenizers_RebuildFromJson_AndRejectMalformedDescriptions()
    {
        var tok = new CharTokenizer("xyz+");
        var again = Assert.IsType<CharTokenizer>(Tokenizers.FromJson(JsonNode.Parse(tok.ToJson().ToJsonString())!.AsObject()));
        Assert.Equal("xyz+", again.Alphabet);
        Assert.Throws<InvalidDataException>(() => Tokenizers.FromJson(new JsonObject { ["type"] = "bpe9" }));
        Assert.Throws<InvalidDataException>(() => Tokenizers.FromJson(new JsonObject()));
        Assert.Throws<InvalidDataException>(() => Tokenizers.FromJson(new JsonObject { ["type"] = "char", ["alphabet"] = 5 }));
        Assert.Throws<InvalidDataException>(() => Tokenizers.FromJson(new JsonObject { ["type"] = "char", ["alphabet"] = "aa" }));
    }
}
