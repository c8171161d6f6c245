using NeuralCore.Federated;

namespace NeuralCore.Federated.Tests;

public class PartitioningTests
{
    // 1,000 items, 10 classes of 100 each, in an interleaved order.
    static readonly int[] Labels = [.. Enumerable.Range(0, 1000).Select(i => i * 7 % 10)];

    static void AssertCoversOnce(int[][] parts, int count)
    {
        var all = parts.SelectMany(p => p).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, count), all);
        foreach (var part in parts) Assert.Equal(part.Order(), part);
    }

    [Fact]
    public void Iid_SplitsEvenly()
    {
        var parts = Partitioning.Iid(1003, 10, seed: 3);
        AssertCoversOnce(parts, 1003);
        Assert.Equal([101, 101, 101, 100, 100, 100, 100, 100, 100, 100], parts.Select(p => p.Length));
        Assert.Equal(parts, Partitioning.Iid(1003, 10, seed: 3));
        Assert.NotEqual(parts[0], Partitioning.Iid(1003, 10, seed: 4)[0]);
    }

    [Fact]
    public void ByLabelShards_GivesEachClientTwoShardsOfAtMostTwoLabels()
    {
        var parts = Partitioning.ByLabelShards(Labels, clients: 10, shardsPerClient: 2, seed: 5);
        AssertCoversOnce(parts, 1000);
        // 20 shards of 50 items cut from the label-sorted order: each shard holds one label.
        Assert.All(parts, p => Assert.Equal(100, p.Length));
        Assert.All(parts, p => Assert.InRange(p.Select(i => Labels[i]).Distinct().Count(), 1, 2));
        Assert.All(parts, p => Assert.All(p.GroupBy(i => Labels[i]), g => Assert.True(g.Count() % 50 == 0)));
        Assert.Contains(parts, p => p.Select(i => Labels[i]).Distinct().Count() == 2);
    }

    [Fact]
    public void ByLabelShards_UnevenCountsDifferByAtMostOne()
    {
        var parts = Partitioning.ByLabelShards(Labels.Take(997).ToArray(), clients: 7, shardsPerClient: 3, seed: 1);
        AssertCoversOnce(parts, 997);
        Assert.Equal(997, parts.Sum(p => p.Length));
        Assert.InRange(parts.Max(p => p.Length) - parts.Min(p => p.Length), 0, 3);
    }

    [Fact]
    public void Dirichlet_SmallAlphaSkewsLabels()
    {
        var skewed = Partitioning.Dirichlet(Labels, clients: 10, alpha: 0.1, seed: 2, minPerClient: 5);
        var mixed = Partitioning.Dirichlet(Labels, clients: 10, alpha: 100, seed: 2);
        AssertCoversOnce(skewed, 1000);
        AssertCoversOnce(mixed, 1000);
        Assert.All(skewed, p => Assert.True(p.Length >= 5));
        // Per class, the counts over the clients sum to the class size.
        for (int c = 0; c < 10; c++)
            Assert.Equal(100, skewed.Sum(p => p.Count(i => Labels[i] == c)));
        double Dominant(int[][] parts) => parts.Average(p => p.GroupBy(i => Labels[i]).Max(g => g.Count()) / (double)p.Length);
        Assert.True(Dominant(skewed) > 0.5, $"alpha 0.1: mean share of the dominant label {Dominant(skewed):0.00}");
        Assert.True(Dominant(mixed) < 0.25, $"alpha 100: mean share of the dominant label {Dominant(mixed):0.00}");
        Assert.Equal(skewed, Partitioning.Dirichlet(Labels, clients: 10, alpha: 0.1, seed: 2, minPerClient: 5));
    }

    [Fact]
    public void BadArguments_AreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Partitioning.Iid(5, 6, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Partitioning.ByLabelShards(Labels, 600, 2, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Partitioning.Dirichlet(Labels, 10, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Partitioning.Dirichlet(Labels, 10, 1, 1, minPerClient: 101));
        var e = Assert.Throws<ArgumentException>(() => Partitioning.Labels(Tensor.FromArray(new[] { 0f, 1.5f }, 2)));
        Assert.Contains("1.5", e.Message);
    }
}
