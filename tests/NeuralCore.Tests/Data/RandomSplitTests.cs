using NeuralCore.Data;

namespace NeuralCore.Tests.Data;

public sealed class RandomSplitTests
{
    static TensorDataset Items(int n) =>
        new(Tensor.FromArray(Enumerable.Range(0, n).Select(i => (float)i).ToArray(), n, 1), Tensor.Zeros([n], DType.Int64));

    [Fact]
    public void Lengths_GiveDisjointSubsetsCoveringTheDataset()
    {
        var parts = Dataset.RandomSplit(Items(100), [70, 20, 10], new Generator(5));

        Assert.Equal(new[] { 70, 20, 10 }, parts.Select(p => p.Count));
        var all = parts.SelectMany(p => p.Indices).ToArray();
        Assert.Equal(Enumerable.Range(0, 100), all.Order());
        // The items are the underlying dataset's.
        Assert.Equal(parts[1].Indices[3], (int)parts[1][3].Input.ToArray<float>()[0]);
    }

    [Fact]
    public void SameSeed_SameSplit_OtherSeed_OtherSplit()
    {
        var a = Dataset.RandomSplit(Items(50), [25, 25], new Generator(9));
        var b = Dataset.RandomSplit(Items(50), [25, 25], new Generator(9));
        var c = Dataset.RandomSplit(Items(50), [25, 25], new Generator(10));

        Assert.Equal(a[0].Indices, b[0].Indices);
        Assert.NotEqual(a[0].Indices, c[0].Indices);
        Assert.NotEqual(Enumerable.Range(0, 25), a[0].Indices);
    }

    [Fact]
    public void Fractions_GiveTheRemainderToTheFirstSplitsInTurn()
    {
        var parts = Dataset.RandomSplit(Items(10), [0.33, 0.33, 0.34], new Generator(1));
        Assert.Equal(new[] { 4, 3, 3 }, parts.Select(p => p.Count));

        parts = Dataset.RandomSplit(Items(11), [0.5, 0.5], new Generator(1));
        Assert.Equal(new[] { 6, 5 }, parts.Select(p => p.Count));
    }

    [Fact]
    public void BadLengthsOrFractions_AreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => Dataset.RandomSplit(Items(10), [5, 4]));
        Assert.Contains("add up to 9", e.Message);
        Assert.Throws<ArgumentException>(() => Dataset.RandomSplit(Items(10), [11, -1]));
        Assert.Throws<ArgumentException>(() => Dataset.RandomSplit(Items(10), [0.5, 0.4]));
        Assert.Throws<ArgumentException>(() => Dataset.RandomSplit(Items(10), [1.5, -0.5]));
        Assert.Throws<ArgumentException>(() => Dataset.RandomSplit(Items(10), Array.Empty<int>()));
    }
}
