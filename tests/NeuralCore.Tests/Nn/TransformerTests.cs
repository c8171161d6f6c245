using NeuralCore.Nn;
using NeuralCore.Serialization;
using NeuralCore.Testing;
using NeuralCore.Tests.Tensors;
using NeuralCore.Tests.Vision;

namespace NeuralCore.Tests.Nn;

// Initialisation draws from the process-wide default generator, so this class runs in the non-parallel collection.
[Collection("Memory")]
public class TransformerTests
{
    static void Close(Tensor expected, Tensor actual, double tol)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        TensorTestHelpers.AllClose(expected.To(DType.Float64).D(), actual.To(DType.Float64).D(), atol: tol, rtol: tol);
    }

    [Fact]
    public void MultiheadAttention_UsesPyTorchNames_AndMatchesItsDefinition()
    {
        Rng.ManualSeed(2);
        var mha = new MultiheadAttention(8, 2, batchFirst: true);
        Assert.Equal(["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"], mha.StateDict().Keys);
        Assert.Equal(new Shape(24, 8), mha.InProjWeight!.Shape);
        using (Tensor.NoGrad()) mha.InProjBias!.Copy_(Tensor.Randn(24));
        var q = Tensor.Randn(3, 4, 8);
        var kv = Tensor.Randn(3, 6, 8);
        var padding = Functional.PaddingMask([6, 2, 5], 6);
        var y = mha.Forward(q, kv, kv, keyPaddingMask: padding);

        // softmax((xWqᵀ+bq)(xWkᵀ+bk)ᵀ/√d) per head, keys past each length removed, heads concatenated, out_proj.
        var w = mha.InProjWeight!;
        var b = mha.InProjBias!;
        Tensor Proj(Tensor x, int i) => x.MatMul(w.Narrow(0, 8 * i, 8).Transpose(0, 1)) + b.Narrow(0, 8 * i, 8);
        Tensor Heads(Tensor x) => x.Reshape(3, -1, 2, 4).Transpose(1, 2);
        var scores = Heads(Proj(q, 0)).MatMul(Heads(Proj(kv, 1)).Transpose(-1, -2)) * 0.5;
        scores = scores + Tensor.Where(padding, double.NegativeInfinity, Tensor.Zeros(3, 6)).Reshape(3, 1, 1, 6);
        var merged = scores.Softmax(-1).MatMul(Heads(Proj(kv, 2))).Transpose(1, 2).Reshape(3, 4, 8);
        Close(mha.OutProj.Forward(merged), y, 1e-5);

        // Sequence-first inputs give the same result transposed.
        var seqFirst = new MultiheadAttention(8, 2);
        seqFirst.LoadStateDict(mha.StateDict());
        Close(y, seqFirst.Forward(q.Transpose(0, 1), kv.Transpose(0, 1), kv.Transpose(0, 1), keyPaddingMask: padding).Transpose(0, 1), 1e-6);
        Assert.Throws<ArgumentException>(() => new MultiheadAttention(10, 3));
        Assert.Throws<ArgumentException>(() => mha.Forward(q, kv, kv, keyPaddingMask: Functional.PaddingMask([1, 1], 6)));
    }

    [Fact]
    public void MultiheadAttention_BoolMaskTrueMeansMaskedOut()
    {
        Rng.ManualSeed(5);
        var mha = new MultiheadAttention(4, 1, batchFirst: true);
        var x = Tensor.Randn(1, 3, 4);
        // Masking everything but the diagonal makes each position attend to itself only: y_i = out_proj(v_i).
        var notDiagonal = Tensor.Eye(3).Eq(0);
        var y = mha.Forward(x, x, x, attnMask: notDiagonal);
        var v = x.MatMul(mha.InProjWeight!.Narrow(0, 8, 4).Transpose(0, 1)) + mha.InProjBias!.Narrow(0, 8, 4);
        Close(mha.OutProj.Forward(v), y, 1e-6);
    }

    [Fact]
    public void EncoderLayer_HasPyTorchStateKeys_PreAndPostNormDiffer_AndPassesGradCheck()
    {
        Rng.ManualSeed(6);
        var post = new TransformerEncoderLayer(4, 2, dimFeedforward: 6, dropout: 0, batchFirst: true);
        string[] keys =
        [
            "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
            "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias",
        ];
        Assert.Equal(keys, post.StateDict().Keys);
        var pre = new TransformerEncoderLayer(4, 2, dimFeedforward: 6, dropout: 0, batchFirst: true, normFirst: true);
        pre.LoadStateDict(post.StateDict());
        var x = Tensor.Randn(2, 3, 4);
        Assert.NotEqual(post.Forward(x).F(), pre.Forward(x).F());
        // Post-norm output is normalised per position: mean 0 and variance 1 with the initial (1, 0) affine.
        TensorTestHelpers.AllClose(new float[6], post.Forward(x).Mean([-1]).F(), atol: 1e-5);

        post.To(DType.Float64);
        GradCheck.Assert(t => post.Forward(t[0], null, isCausal: true), [Tensor.Randn([2, 3, 4], DType.Float64)]);
    }

    [Fact]
    public void CausalEncoderLayer_EarlierOutputsIgnoreLaterTokens()
    {
        Rng.ManualSeed(7);
        var layer = new TransformerEncoderLayer(8, 2, 16, dropout: 0, activation: "gelu", batchFirst: true, normFirst: true);
        var x = Tensor.Randn(1, 5, 8);
        var changed = x.Clone();
        using (Tensor.NoGrad()) changed.Narrow(1, 3, 2).Copy_(Tensor.Randn(1, 2, 8));
        var a = layer.Forward(x, null, isCausal: true);
        var b = layer.Forward(changed, null, isCausal: true);
        Assert.Equal(a.Narrow(1, 0, 3).F(), b.Narrow(1, 0, 3).F());
        Assert.NotEqual(a.Narrow(1, 3, 1).F(), b.Narrow(1, 3, 1).F());
    }

    [Fact]
    public void DecoderLayerAndStacks_RunAndCopyTheTemplate()
    {
        Rng.ManualSeed(8);
        var dec = new TransformerDecoder(new TransformerDecoderLayer(8, 2, 16, dropout: 0), 2, new LayerNorm(8));
        Assert.Contains("layers.1.multihead_attn.in_proj_weight", dec.StateDict().Keys);
        Assert.Contains("layers.0.norm3.bias", dec.StateDict().Keys);
        Assert.Contains("norm.weight", dec.StateDict().Keys);
        // Like PyTorch's deep copy, every layer starts from the template's weights.
        Assert.Equal(dec.Layers[0].StateDict()["linear1.weight"].F(), dec.Layers[1].StateDict()["linear1.weight"].F());
        var tgt = Tensor.Randn(5, 2, 8);                                 // [T, B, E]
        var memory = Tensor.Randn(7, 2, 8).RequiresGrad_();
        var y = dec.Forward(tgt, memory, tgtIsCausal: true, memoryKeyPaddingMask: Functional.PaddingMask([7, 4], 7));
        Assert.Equal(new Shape(5, 2, 8), y.Shape);
        y.Square().Sum().Backward();
        Assert.True(memory.Grad!.Abs().Sum().Item<float>() > 0);
        // Padded memory positions of the second sequence get no gradient.
        Assert.Equal(0, memory.Grad!.Narrow(0, 4, 3).Select(1, 1).Abs().Sum().Item<float>());
        Assert.Throws<InvalidOperationException>(() => dec.Forward(tgt));

        var enc = new TransformerEncoder(new TransformerEncoderLayer(8, 2, 16, dropout: 0), 3);
        Assert.Equal(3, enc.Layers.Count);
        Assert.Equal(new Shape(4, 2, 8), enc.Forward(Tensor.Randn(4, 2, 8)).Shape);
    }

    [Theory]
    [InlineData(PositionEncoding.Learned)]
    [InlineData(PositionEncoding.Sinusoidal)]
    [InlineData(PositionEncoding.Rotary)]
    public void Gpt_WithCache_GivesTheLogitsOfTheFullForward(PositionEncoding positions)
    {
        Rng.ManualSeed(10);
        var model = new GptModel(11, 12, dModel: 16, nhead: 2, numLayers: 2, positions: positions);
        model.Eval();
        var tokens = Tensor.FromArray(new long[] { 1, 4, 2, 9, 3, 3, 7, 0, 5, 2, 8, 1, 6, 6, 10, 2 }, 2, 8);
        var full = model.Forward(tokens);
        Assert.Equal(new Shape(2, 8, 11), full.Shape);
        var cache = model.NewCache();
        // A prefix of 3, then 1, then a chunk of 2 continuing the cache (a bottom-right causal mask), then 2 singles.
        var parts = new List<Tensor>();
        foreach (var (start, len) in new[] { (0, 3), (3, 1), (4, 2), (6, 1), (7, 1) })
            parts.Add(model.Forward(tokens.Narrow(1, start, len), cache));
        Assert.Equal(8, cache.Length);
        Close(full, Tensor.Cat(parts, 1), 2e-5);
        Assert.Throws<ArgumentException>(() => model.Forward(Tensor.FromArray(new long[12], 1, 12), cache));
    }

    [Fact]
    public void Gpt_TiesWeights_AndTrainsOnAToySequence()
    {
        Rng.ManualSeed(11);
        var model = new GptModel(5, 8, dModel: 16, nhead: 2, numLayers: 1, dropout: 0);
        Assert.DoesNotContain(model.StateDict().Keys, k => k.StartsWith("lm_head", StringComparison.Ordinal));
        Assert.Contains("wte.weight", model.StateDict().Keys);
        Assert.Contains("lm_head.weight", new GptModel(5, 8, 16, 2, 1, tieWeights: false).StateDict().Keys);
        // Learn to continue 0 1 2 3 4 0 1 2 ...: after training the next token is predicted everywhere.
        var seq = Tensor.FromArray(Enumerable.Range(0, 9).Select(i => (long)(i % 5)).ToArray(), 1, 9);
        var x = seq.Narrow(1, 0, 8);
        var y = seq.Narrow(1, 1, 8).Reshape(8);
        var opt = new NeuralCore.Optim.Adam(model.Parameters(), lr: 1e-2);
        double first = 0, last = 0;
        for (int step = 0; step < 60; step++)
        {
            var loss = Functional.CrossEntropy(model.Forward(x).Reshape(8, 5), y);
            opt.ZeroGrad();
            loss.Backward();
            opt.Step();
            if (step == 0) first = loss.Item<float>();
            last = loss.Item<float>();
        }
        Assert.True(last < first / 10, $"loss {first} → {last}");
        Assert.NotNull(model.StateDict()["wte.weight"].Grad);
    }

    [Fact]
    public void Layers_SaveAndLoadThroughTheArchitectureRegistry()
    {
        Rng.ManualSeed(12);
        var seq = new Sequential(new Embedding(7, 8, paddingIdx: 0), new RMSNorm(8), new GELU("tanh"), new SiLU(),
            new LearnedPositionalEmbedding(5, 8), new SinusoidalPositionalEncoding(8, 5),
            new TransformerEncoderLayer(8, 2, 12, dropout: 0, batchFirst: true, normFirst: true, rotary: true),
            new TransformerEncoder(new TransformerEncoderLayer(8, 2, 12, dropout: 0, batchFirst: true), 2, new LayerNorm(8)),
            new MultiheadAttention(8, 4, batchFirst: true));
        seq.Eval();
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "seq.safetensors");
        seq.Save(path);
        var again = Sequential.Load(path);
        again.Eval();
        var tokens = Tensor.FromArray(new long[] { 1, 3, 0, 6, 2, 5 }, 2, 3);
        Assert.Equal(seq.Forward(tokens).F(), again.Forward(tokens).F());
        Assert.Equal("tanh", ((GELU)again[2]).Approximate);
        Assert.Equal(0L, ((Embedding)again[0]).PaddingIdx);
    }

    [Fact]
    public void Gpt_SavesAndLoadsWithItsTokenizer()
    {
        Rng.ManualSeed(13);
        var tokenizer = new NeuralCore.Text.CharTokenizer("abcdef ");
        var model = new GptModel(7, 10, dModel: 8, nhead: 2, numLayers: 1, positions: PositionEncoding.Rotary);
        model.Eval();
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "gpt.safetensors");
        model.Save(path, tokenizer);
        var (loaded, tok) = GptModel.LoadWithTokenizer(path);
        loaded.Eval();
        Assert.Equal("abcdef ", ((NeuralCore.Text.CharTokenizer)tok).Alphabet);
        Assert.Equal(PositionEncoding.Rotary, loaded.Positions);
        var x = Tensor.FromArray(new long[] { 0, 5, 2 }, 1, 3);
        Assert.Equal(model.Forward(x).F(), loaded.Forward(x).F());
        var manifest = ModelManifest.Parse(new ModelManifest { Tokenizer = tokenizer.ToJson() }.ToJson());
        Assert.Equal("char", (string?)manifest.Tokenizer!["type"]);

        string plain = Path.Combine(dir.Path, "plain.safetensors");
        model.Save(plain);
        var ex = Assert.Throws<InvalidDataException>(() => GptModel.LoadWithTokenizer(plain));
        Assert.Contains("no tokenizer", ex.Message);
        Assert.Throws<InvalidDataException>(() => Sequential.Load(plain));
    }
}
