using NeuralCore.Compression.Pruning;
using NeuralCore.Nn;
using NeuralCore.Optim;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Compression.Tests.Pruning;

[Collection(SeededCollection.Name)]
public sealed class MagnitudePrunerTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.37)]
    [InlineData(0.5)]
    [InlineData(0.8)]
    [InlineData(1.0)]
    public void PerLayer_PrunesExactlyTheSmallestOfEachLayer(double sparsity)
    {
        var model = TestModels.Cnn(1);
        using var pruner = new MagnitudePruner(model, PruningScope.PerLayer);
        var before = pruner.Weights.Select(w => TestModels.Values(w.Layer.Weight)).ToArray();
        pruner.Prune(sparsity);
        for (int l = 0; l < before.Length; l++)
        {
            var after = TestModels.Values(pruner.Weights[l].Layer.Weight);
            var mask = TestModels.Values(pruner.Weights[l].Mask);
            long expected = (long)Math.Round(sparsity * after.Length, MidpointRounding.AwayFromZero);
            Assert.Equal(expected, mask.Count(m => m == 0));
            Assert.Equal(expected, pruner.Weights[l].Pruned);
            for (int i = 0; i < after.Length; i++) Assert.Equal(mask[i] == 0 ? 0f : before[l][i], after[i]);
            AssertSmallestPruned([before[l]], [mask]);
        }
        Assert.Equal(pruner.Weights.Sum(w => w.Pruned), pruner.Report().Zeros);
    }

    [Theory]
    [InlineData(0.3)]
    [InlineData(0.8)]
    public void Global_PrunesExactlyTheSmallestOverAllLayers(double sparsity)
    {
        var model = TestModels.Cnn(2);
        using var pruner = new MagnitudePruner(model, PruningScope.Global);
        var before = pruner.Weights.Select(w => TestModels.Values(w.Layer.Weight)).ToArray();
        pruner.Prune(sparsity);
        var masks = pruner.Weights.Select(w => TestModels.Values(w.Mask)).ToArray();
        long total = before.Sum(b => (long)b.Length);
        Assert.Equal((long)Math.Round(sparsity * total, MidpointRounding.AwayFromZero), masks.Sum(m => m.LongCount(v => v == 0)));
        AssertSmallestPruned(before, masks);
        // Layers of different scales end at different sparsities: the global choice is not per-layer.
        var perLayer = pruner.Weights.Select(w => w.Sparsity).ToArray();
        Assert.True(perLayer.Max() - perLayer.Min() > 0.05, $"per-layer sparsities {string.Join(", ", perLayer)} are all alike");
        Assert.Equal(sparsity, pruner.Report().Sparsity, 3);
    }

    static void AssertSmallestPruned(float[][] weights, float[][] masks)
    {
        var pruned = weights.SelectMany((w, l) => w.Where((_, i) => masks[l][i] == 0)).Select(MathF.Abs).DefaultIfEmpty(0).Max();
        var kept = weights.SelectMany((w, l) => w.Where((_, i) => masks[l][i] != 0)).Select(MathF.Abs).DefaultIfEmpty(float.MaxValue).Min();
        Assert.True(pruned <= kept, $"a pruned weight of magnitude {pruned} exceeds a kept one of {kept}");
    }

    public static TheoryData<string> Optimizers => new() { "sgd-momentum", "adam-weight-decay", "adamw" };

    static Optimizer Make(string name, IEnumerable<Tensor> parameters) => name switch
    {
        "sgd-momentum" => new Sgd(parameters, lr: 0.05, momentum: 0.9, weightDecay: 1e-3),
        "adam-weight-decay" => new Adam(parameters, lr: 0.01, weightDecay: 1e-2),
        _ => new AdamW(parameters, lr: 0.01, weightDecay: 1e-2),
    };

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void MasksStayZeroThroughOptimizerSteps(string optimizerName)
    {
        var model = TestModels.Cnn(3);
        var optimizer = Make(optimizerName, model.Parameters());
        var x = Tensor.Randn(8, 1, 6, 6);
        var y = Tensor.FromArray(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 }, 8);
        void Backward()
        {
            optimizer.ZeroGrad();
            F.CrossEntropy(model.Forward(x), y).Backward();
        }
        // Steps before pruning leave momentum and Adam moments behind that would move pruned weights again.
        for (int i = 0; i < 3; i++)
        {
            Backward();
            optimizer.Step();
        }
        using var pruner = new MagnitudePruner(model, PruningScope.Global);
        pruner.Prune(0.6);
        var kept = pruner.Weights.Select(w => TestModels.Values(w.Layer.Weight)).ToArray();
        for (int i = 0; i < 5; i++)
        {
            Backward();
            foreach (var w in pruner.Weights)
            {
                var grad = TestModels.Values(w.Layer.Weight.Grad!);
                var mask = TestModels.Values(w.Mask);
                Assert.All(grad.Where((_, j) => mask[j] == 0), g => Assert.Equal(0f, g));
            }
            pruner.Step(optimizer);
            AssertMasked(pruner);
        }
        // Training went on: kept weights moved.
        Assert.Contains(pruner.Weights.Select((w, l) => (w, l)), p => !TestModels.Values(p.w.Layer.Weight).SequenceEqual(kept[p.l]));
        Assert.Equal(0.6, pruner.Sparsity, 3);
    }

    static void AssertMasked(MagnitudePruner pruner)
    {
        foreach (var w in pruner.Weights)
        {
            var values = TestModels.Values(w.Layer.Weight);
            var mask = TestModels.Values(w.Mask);
            for (int j = 0; j < values.Length; j++)
                if (mask[j] == 0) Assert.True(values[j] == 0, $"{w.Layer.Name}[{j}] = {values[j]} is pruned but not zero");
        }
    }

    [Fact]
    public void MakePermanent_KeepsZerosAndRemovesHooksAndMasks()
    {
        var model = TestModels.Mlp(4);
        var pruner = new MagnitudePruner(model);
        pruner.Prune(0.5);
        pruner.MakePermanent();
        var zeros = SparsityReport.Of(model).Zeros;
        Assert.True(zeros >= pruner.Weights.Sum(w => w.Pruned));
        F.CrossEntropy(model.Forward(Tensor.Randn(4, 2, 3, 3)), Tensor.FromArray(new long[] { 0, 1, 2, 3 }, 4)).Backward();
        // Without the hook, gradients of pruned weights are no longer zeroed.
        var grad = TestModels.Values(pruner.Weights[0].Layer.Weight.Grad!);
        var weight = TestModels.Values(pruner.Weights[0].Layer.Weight);
        Assert.Contains(grad.Where((_, j) => weight[j] == 0), g => g != 0);
        Assert.Throws<InvalidOperationException>(() => pruner.Prune(0.6));
        pruner.MakePermanent();
    }

    [Fact]
    public void BadArguments_AreRejectedWithClearErrors()
    {
        var unbuilt = new Sequential(new Flatten(), new Dense(4));
        var e = Assert.Throws<ArgumentException>(() => new MagnitudePruner(unbuilt));
        Assert.Contains("not built", e.Message);
        using var pruner = new MagnitudePruner(TestModels.Mlp(5));
        Assert.Throws<ArgumentOutOfRangeException>(() => pruner.Prune(1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => pruner.Prune(double.NaN));
        Assert.Throws<ArgumentException>(() => new MagnitudePruner(TestModels.Mlp(5), include: _ => false));
    }

    [Fact]
    public void Include_PrunesOnlyTheChosenLayers()
    {
        var model = TestModels.Mlp(6);
        using var pruner = new MagnitudePruner(model, include: name => name != "3.linear");
        pruner.Prune(0.5);
        Assert.Equal(["1.linear", "2.linear"], pruner.Weights.Select(w => w.Layer.Name));
        var report = SparsityReport.Of(model);
        Assert.Equal(0, report.Layers.Single(l => l.Name == "3.linear").Zeros);
        Assert.Equal(0.5, report.Layers.Single(l => l.Name == "1.linear").Sparsity, 3);
        var table = report.ToString();
        Assert.Contains("1.linear", table);
        Assert.Contains("50.0%", table.Replace(" ", ""));
        Assert.Contains("total", table);
    }
}
