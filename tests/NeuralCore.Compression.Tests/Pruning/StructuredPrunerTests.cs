using NeuralCore.Compression.Pruning;
using NeuralCore.Nn;

namespace NeuralCore.Compression.Tests.Pruning;

[Collection(SeededCollection.Name)]
public sealed class StructuredPrunerTests
{
    public static TheoryData<string, double, ChannelNorm> Cases => new()
    {
        { "cnn", 0.5, ChannelNorm.L1 },
        { "cnn", 0.25, ChannelNorm.L2 },
        { "mlp", 0.5, ChannelNorm.L1 },
        { "mlp", 0.7, ChannelNorm.L2 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ShrunkModel_IsSmallerAndEqualsTheMaskedModel(string kind, double fraction, ChannelNorm norm)
    {
        var model = kind == "cnn" ? TestModels.Cnn(21) : TestModels.Mlp(21);
        var x = kind == "cnn" ? Tensor.Randn(5, 1, 6, 6) : Tensor.Randn(5, 2, 3, 3);
        var pruner = new StructuredPruner(model, fraction, norm);
        var smaller = pruner.Shrink();
        pruner.ApplyMask();
        model.Eval();
        smaller.Eval();
        Tensor masked, shrunk;
        using (Tensor.NoGrad())
        {
            masked = model.Forward(x);
            shrunk = smaller.Forward(x);
        }
        Assert.Equal(masked.Shape, shrunk.Shape);
        var a = TestModels.Values(masked);
        var b = TestModels.Values(shrunk);
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-5, $"output {i}: masked {a[i]}, shrunk {b[i]}");
        Assert.True(smaller.ParameterCount < model.ParameterCount, $"{smaller.ParameterCount} parameters after pruning, {model.ParameterCount} before");

        // Exact expected size: each pruned layer keeps round-half-up of (1 - fraction) of its channels.
        foreach (var s in pruner.Selections)
        {
            Assert.Equal(s.Channels - (int)Math.Round(fraction * s.Channels, MidpointRounding.AwayFromZero), s.Kept.Count);
            var prunedNorms = Enumerable.Range(0, s.Channels).Except(s.Kept).Select(c => s.Norms[c]).DefaultIfEmpty(0).Max();
            Assert.True(prunedNorms <= s.Kept.Min(c => s.Norms[c]), "a pruned channel has a larger norm than a kept one");
        }
        Assert.Equal(2 + (kind == "cnn" ? 1 : 0), pruner.Selections.Count);
    }

    [Fact]
    public void ShrunkCnn_CutsBatchNormAndTheFlattenedFeatures()
    {
        var model = TestModels.Cnn(22);
        var smaller = StructuredPruner.Prune(model, 0.5);
        Assert.Equal(3, ((Conv2d)smaller[0]).OutChannels);
        Assert.Equal(3, ((BatchNorm2d)smaller[1]).NumFeatures);
        Assert.Equal(3, ((Conv2d)smaller[4]).InChannels);
        Assert.Equal(4, ((Conv2d)smaller[4]).OutChannels);
        Assert.Equal(4 * 3 * 3, ((Linear)smaller[7]).InFeatures);
        Assert.Equal(5, ((Linear)smaller[7]).OutFeatures);
        Assert.Equal(3, ((Linear)smaller[9]).OutFeatures);
        // The original model is untouched.
        Assert.Equal(6, ((Conv2d)model[0]).OutChannels);
        Assert.Equal(0, SparsityReport.Of(model).Zeros);
    }

    [Fact]
    public void ShrunkModel_SavesSmallerAndLoadsBack()
    {
        var model = TestModels.Mlp(23);
        var smaller = StructuredPruner.Prune(model, 0.5);
        var dir = Directory.CreateTempSubdirectory("structured-");
        try
        {
            string full = Path.Combine(dir.FullName, "full.safetensors"), cut = Path.Combine(dir.FullName, "cut.safetensors");
            model.Save(full);
            smaller.Save(cut);
            Assert.True(new FileInfo(cut).Length < new FileInfo(full).Length);
            var loaded = Sequential.Load(cut);
            var x = Tensor.Randn(3, 2, 3, 3);
            using (Tensor.NoGrad())
                Assert.Equal(TestModels.Values(smaller.Eval().Forward(x)), TestModels.Values(loaded.Eval().Forward(x)));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void UnsupportedModels_AreRejectedWithTheLayerNamed()
    {
        var sigmoid = new Sequential(new Linear(4, 6), new Sigmoid(), new Linear(6, 2));
        var e = Assert.Throws<NotSupportedException>(() => new StructuredPruner(sigmoid, 0.5));
        Assert.Contains("layer 1 (Sigmoid)", e.Message);
        var dense = new Sequential(new Dense(4, 6, Activation.Sigmoid), new Dense(6, 2));
        Assert.Contains("Sigmoid", Assert.Throws<NotSupportedException>(() => new StructuredPruner(dense, 0.5)).Message);
        var noFlatten = new Sequential(new Conv2d(1, 4, 3), new Linear(4, 2));
        Assert.Throws<NotSupportedException>(() => new StructuredPruner(noFlatten, 0.5));
        var plainNorm = new Sequential(new Conv2d(1, 4, 3), new BatchNorm2d(4, affine: false), new Conv2d(4, 2, 3));
        Assert.Contains("affine", Assert.Throws<NotSupportedException>(() => new StructuredPruner(plainNorm, 0.5)).Message);
        Assert.Throws<ArgumentException>(() => new StructuredPruner(new Sequential(new Linear(3, 2)), 0.5));
        Assert.Throws<ArgumentException>(() => new StructuredPruner(new Sequential(new Flatten(), new Dense(4), new Dense(2)), 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StructuredPruner(TestModels.Mlp(1), 1.0));
    }
}
