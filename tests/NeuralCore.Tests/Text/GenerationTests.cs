using NeuralCore.Nn;
using NeuralCore.Text;

namespace NeuralCore.Tests.Text;

// Initialisation draws from the process-wide default generator, so this class runs in the non-parallel collection.
[Collection("Memory")]
public class GenerationTests
{
    static readonly float[] Logits = [1.0f, 3.0f, 0.5f, 2.5f];

    [Fact]
    public void Sampler_GreedyTopKAndTopP_PickTheBestToken()
    {
        var g = new Generator(1);
        Assert.Equal(1, TokenSampler.Sample(Logits, new GenerationOptions { Temperature = 0 }, g));
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(1, TokenSampler.Sample(Logits, new GenerationOptions { Temperature = 5, TopK = 1 }, g));
            Assert.Equal(1, TokenSampler.Sample(Logits, new GenerationOptions { Temperature = 1, TopP = 0.1 }, g));
            Assert.Contains(TokenSampler.Sample(Logits, new GenerationOptions { TopK = 2 }, g), new[] { 1, 3 });
        }
        Assert.Throws<ArgumentException>(() => TokenSampler.Sample([1f, float.NaN], new GenerationOptions(), g));
    }

    [Fact]
    public void Sampler_DrawsFromTheSoftmax_AndIsSeeded()
    {
        var g = new Generator(7);
        var counts = new int[4];
        const int draws = 40_000;
        for (int i = 0; i < draws; i++) counts[TokenSampler.Sample(Logits, new GenerationOptions(), g)]++;
        double total = Logits.Sum(l => Math.Exp(l));
        for (int c = 0; c < 4; c++)
        {
            double p = Math.Exp(Logits[c]) / total, sd = Math.Sqrt(p * (1 - p) / draws);
            Assert.InRange(counts[c] / (double)draws, p - 5 * sd, p + 5 * sd);
        }
        // Top-p 0.9 keeps tokens 1 and 3 (mass 0.88) plus token 0 (0.97): token 2 never appears.
        var kept = Enumerable.Range(0, 2000).Select(_ => TokenSampler.Sample(Logits, new GenerationOptions { TopP = 0.9 }, g)).ToHashSet();
        Assert.Equal(new HashSet<int> { 0, 1, 3 }, kept);
        int[] Draw() { var s = new Generator(3); return Enumerable.Range(0, 20).Select(_ => TokenSampler.Sample(Logits, new GenerationOptions(), s)).ToArray(); }
        Assert.Equal(Draw(), Draw());
    }

    [Fact]
    public void Options_AreValidated()
    {
        var model = new GptModel(4, 8, 8, 2, 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => TextGenerator.GenerateTokens(model, [1], new GenerationOptions { TopP = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => TextGenerator.GenerateTokens(model, [1], new GenerationOptions { Temperature = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => TextGenerator.GenerateTokens(model, [1], new GenerationOptions { TopK = -2 }));
        Assert.Throws<ArgumentException>(() => TextGenerator.GenerateTokens(model, [], null));
    }

    [Fact]
    public void GreedyGenerationWithCache_EqualsRecomputingTheWholeSequence_EvenPastTheContext()
    {
        Rng.ManualSeed(21);
        var model = new GptModel(9, 8, dModel: 16, nhead: 2, numLayers: 2);
        int[] prompt = [3, 1, 4];
        // 20 new tokens with context 8: the cache is refilled from the last half of the context twice on the way.
        var cached = TextGenerator.GenerateTokens(model, prompt, new GenerationOptions { Temperature = 0, MaxNewTokens = 20 }).ToArray();
        Assert.Equal(20, cached.Length);
        Assert.True(model.IsTraining);                                 // the training mode is restored afterwards

        model.Eval();
        var history = new List<int>(prompt);
        using (Tensor.NoGrad())
        {
            int window = prompt.Length;
            for (int i = 0; i < 20; i++)
            {
                // The same windows as the cached run: everything so far until the context is full, then half a context
                // re-run into an emptied cache, extended one token at a time until the context is full again.
                var ids = history.Skip(history.Count - window).Select(t => (long)t).ToArray();
                var logits = model.Forward(Tensor.FromArray(ids, 1, ids.Length)).Select(1, ids.Length - 1).Select(0, 0);
                int next = (int)logits.ArgMax(0).Item<long>();
                Assert.Equal(next, cached[i]);
                history.Add(next);
                window = window == 8 ? 4 : window + 1;
            }
        }
    }

    [Fact]
    public async Task StopTokensEndTheGeneration_AndStreamingConcatenatesToTheDecodedTokens()
    {
        Rng.ManualSeed(22);
        var tokenizer = new CharTokenizer("abcde");
        var model = new GptModel(5, 16, dModel: 16, nhead: 2, numLayers: 1);
        var options = new GenerationOptions { MaxNewTokens = 12, Generator = new Generator(5) };
        var tokens = TextGenerator.GenerateTokens(model, tokenizer.Encode("ab"), options with { Generator = new Generator(5) }).ToArray();
        var pieces = new List<string>();
        await foreach (var piece in TextGenerator.StreamAsync(model, tokenizer, "ab", options)) pieces.Add(piece);
        Assert.Equal(tokenizer.Decode(tokens), string.Concat(pieces));
        Assert.Equal(12, pieces.Count);

        int stop = tokens[4];
        var stopped = TextGenerator.GenerateTokens(model, tokenizer.Encode("ab"),
            options with { Generator = new Generator(5), StopTokens = [stop] }).ToArray();
        int firstStop = Array.IndexOf(tokens, stop);
        Assert.Equal(tokens[..firstStop], stopped);
    }
}
