using NeuralCore.Compression.Pruning;
using NeuralCore.Nn;
using NeuralCore.Optim;

namespace NeuralCore.Compression.Tests.Pruning;

[Collection(SeededCollection.Name)]
public sealed class PruningCallbackTests
{
    [Fact]
    public void PolynomialSchedule_FollowsZhuGupta()
    {
        var s = new PolynomialSchedule(0.1, 0.8, beginStep: 10, endStep: 50, frequency: 10);
        Assert.Null(s.SparsityAt(9));
        Assert.Equal(0.1, s.SparsityAt(10)!.Value, 12);
        Assert.Null(s.SparsityAt(15));
        // t = 30: progress 1/2, s = 0.8 + (0.1 - 0.8)·(1/2)³.
        Assert.Equal(0.8 - 0.7 / 8, s.SparsityAt(30)!.Value, 12);
        Assert.Equal(0.8, s.SparsityAt(50)!.Value, 12);
        Assert.Null(s.SparsityAt(51));
        Assert.Equal(0.8, s.Sparsity(1000), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolynomialSchedule(0, 0.5, 10, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PolynomialSchedule(0, 1.5, 0, 10));
    }

    static (Tensor X, Tensor Y) Data()
    {
        var x = Tensor.Randn(96, 2, 3, 3);
        var y = x.Flatten(1).Sum(1).Gt(0).To(DType.Int64).Add(x.Flatten(1).Narrow(1, 0, 1).Squeeze(1).Gt(0).To(DType.Int64));
        return (x, y);
    }

    [Fact]
    public void GradualPruningInFit_ReachesTheFinalSparsityAndKeepsMasksUnderAdamWeightDecay()
    {
        var model = TestModels.Mlp(11);
        var (x, y) = Data();
        model.Compile(new Adam(lr: 0.01, weightDecay: 1e-2), Training.Loss.CrossEntropy, ["accuracy"]);
        using var pruner = new MagnitudePruner(model);
        var schedule = new PolynomialSchedule(0, 0.75, beginStep: 0, endStep: 20, frequency: 4);
        var callback = new PruningCallback(pruner, schedule);
        var seen = new List<double>();
        model.Fit(x, y, epochs: 4, batchSize: 16, verbose: 0, callbacks: [callback, new Probe(() => seen.Add(pruner.Sparsity))]);
        Assert.Equal(24, callback.Steps);
        // Sparsity only rises, step by step as the schedule says, and ends at the target on every layer.
        for (int i = 1; i < seen.Count; i++) Assert.True(seen[i] >= seen[i - 1] - 1e-12, $"sparsity fell at step {i}");
        Assert.Equal(schedule.Sparsity(8), seen[8], 2);
        foreach (var w in pruner.Weights) Assert.Equal(0.75, w.Sparsity, 2);
        foreach (var w in pruner.Weights)
        {
            var values = TestModels.Values(w.Layer.Weight);
            var mask = TestModels.Values(w.Mask);
            Assert.All(Enumerable.Range(0, values.Length).Where(j => mask[j] == 0), j => Assert.Equal(0f, values[j]));
        }
    }

    [Fact]
    public void OneShotInFit_PrunesOnceThenFineTunesWithMasks()
    {
        var model = TestModels.Mlp(12);
        var (x, y) = Data();
        model.Compile(new Sgd(lr: 0.05, momentum: 0.9), Training.Loss.CrossEntropy);
        using var pruner = new MagnitudePruner(model, PruningScope.Global);
        model.Fit(x, y, epochs: 2, batchSize: 16, verbose: 0, callbacks: [new PruningCallback(pruner, new OneShotSchedule(0.5, step: 2))]);
        Assert.Equal(0.5, pruner.Sparsity, 3);
        Assert.True(pruner.Report().Zeros >= pruner.Weights.Sum(w => w.Pruned));
    }

    sealed class Probe(Action action) : Training.Callback
    {
        public override void OnBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) => action();
    }
}
