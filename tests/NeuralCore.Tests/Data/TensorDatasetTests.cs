using NeuralCore.Data;

namespace NeuralCore.Tests.Data;

public class TensorDatasetTests
{
    sealed class AddOne : ITransform
    {
        public Tensor Apply(Tensor input) => input + 1f;
    }

    [Fact]
    public void Indexer_And_GetBatch_ReturnMatchingRows()
    {
        var x = Tensor.Arange(12).Reshape(4, 3).Float();
        var y = Tensor.FromArray(new long[] { 7, 8, 9, 10 });
        var ds = new TensorDataset(x, y);
        Assert.Equal(4, ds.Count);
        Assert.False(ds.HasItemTransform);
        var (input, target) = ds[2];
        Assert.Equal(new float[] { 6, 7, 8 }, input.ToArray<float>());
        Assert.Equal(9, target.Item<long>());
        var (xs, ys) = ds.GetBatch([3, 0]);
        Assert.Equal(new float[] { 9, 10, 11, 0, 1, 2 }, xs.ToArray<float>());
        Assert.Equal(new long[] { 10, 7 }, ys.ToArray<long>());
    }

    [Fact]
    public void Transform_AppliesPerItem_InIndexerAndBatch()
    {
        var ds = new TensorDataset(Tensor.Arange(6).Reshape(3, 2).Float(), Tensor.Arange(3), new AddOne());
        Assert.True(ds.HasItemTransform);
        Assert.Equal(new float[] { 3, 4 }, ds[1].Input.ToArray<float>());
        Assert.Equal(new float[] { 5, 6, 1, 2 }, ds.GetBatch([2, 0]).Inputs.ToArray<float>());
    }

    [Fact]
    public void BadArguments_Throw()
    {
        Assert.Throws<ArgumentException>(() => new TensorDataset(Tensor.Zeros(3, 2), Tensor.Arange(4)));
        Assert.Throws<ArgumentException>(() => new TensorDataset(Tensor.Scalar(1), Tensor.Arange(1)));
        var ds = new TensorDataset(Tensor.Zeros(3, 2), Tensor.Arange(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => ds[3]);
        Assert.Throws<ArgumentOutOfRangeException>(() => ds[-1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => ds.GetBatch([0, 3]));
        Assert.Throws<ArgumentException>(() => ds.GetBatch([]));
    }

    [Fact]
    public void Subset_MapsIndices_AndForwardsBatches()
    {
        var ds = new TensorDataset(Tensor.Arange(10).Float().Reshape(10, 1), Tensor.Arange(10));
        var sub = new Subset(ds, [9, 2, 5]);
        Assert.Equal(3, sub.Count);
        Assert.Equal(2, sub[1].Target.Item<long>());
        Assert.Equal(new long[] { 5, 9 }, sub.GetBatch([2, 0]).Targets.ToArray<long>());
        var all = new DataLoader(sub, batchSize: 2).SelectMany(b => b.Targets.ToArray<long>());
        Assert.Equal(new long[] { 9, 2, 5 }, all);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Subset(ds, [10]));
    }
}
