namespace NeuralCore.Tests.Tensors;

public class TensorViewTests
{
    static Tensor Iota(params long[] shape) => Tensor.Arange(new Shape(shape).NumElements).To(DType.Float32).Reshape(shape);

    [Fact]
    public void WritingThroughAView_IsVisibleInTheBase()
    {
        var x = Tensor.Zeros(3, 4);
        var row = x[1];
        using (Tensor.NoGrad()) row.Copy_(Tensor.Ones(4));
        var col = x.Transpose(0, 1)[2];
        using (Tensor.NoGrad()) col.Copy_(Tensor.FromArray(new float[] { 7, 8, 9 }));
        Assert.Equal(new float[] { 0, 0, 7, 0, 1, 1, 8, 1, 0, 0, 9, 0 }, x.ToArray<float>());
        Assert.Same(x.storage, row.storage);
        Assert.Same(x.storage, col.storage);
    }

    [Fact]
    public void WritingThroughANarrowedAndExpandedSource_Works()
    {
        var x = Iota(2, 3);
        var y = Tensor.Zeros(4, 3);
        y.Narrow(0, 1, 2).Copy_(x.Narrow(0, 1, 1)); // broadcast [1, 3] into [2, 3]
        Assert.Equal(new float[] { 0, 0, 0, 3, 4, 5, 3, 4, 5, 0, 0, 0 }, y.ToArray<float>());
    }

    [Fact]
    public void Copy_FromAnOverlappingViewOfItself_ReadsTheOldValues()
    {
        var x = Tensor.FromArray(new float[] { 1, 2, 3, 4 });
        x.Narrow(0, 1, 3).Copy_(x.Narrow(0, 0, 3));
        Assert.Equal(new float[] { 1, 1, 2, 3 }, x.ToArray<float>());
    }

    [Fact]
    public void View_OfContiguous_SharesStorage()
    {
        var x = Iota(2, 6);
        var v = x.View(3, 4);
        Assert.Same(x.storage, v.storage);
        Assert.Equal(new Shape(3, 4), v.Shape);
        Assert.Equal(new Shape(4, 3), x.View(-1, 3).Shape);
        using (Tensor.NoGrad()) v[0, 0].Fill_(42);
        Assert.Equal(42f, x[0, 0].Item<float>());
    }

    [Fact]
    public void View_OfNonContiguous_Throws_WhileReshapeCopies()
    {
        var t = Iota(2, 3).Transpose(0, 1); // [3, 2], strides [1, 3]
        var ex = Assert.Throws<InvalidOperationException>(() => t.View(6));
        Assert.Contains("View", ex.Message);
        var r = t.Reshape(6);
        Assert.Equal(new float[] { 0, 3, 1, 4, 2, 5 }, r.ToArray<float>());
        Assert.NotSame(t.storage, r.storage);
        using (Tensor.NoGrad()) r.Fill_(-1);
        Assert.Equal(new float[] { 0, 3, 1, 4, 2, 5 }, t.ToArray<float>());
    }

    [Fact]
    public void View_SplittingADimensionOfATransposedTensor_IsAllowed()
    {
        var t = Iota(2, 3, 4).Transpose(0, 1); // [3, 2, 4], strides [4, 12, 1]
        var v = t.View(3, 2, 2, 2);
        Assert.Same(t.storage, v.storage);
        Assert.Equal(t.Contiguous().ToArray<float>(), v.ToArray<float>());
        Assert.Throws<InvalidOperationException>(() => t.View(6, 4));
        Assert.Equal(t.Contiguous().ToArray<float>(), t.Reshape(6, 4).ToArray<float>());
    }

    [Fact]
    public void Reshape_RejectsWrongSizes()
    {
        var t = Iota(2, 3);
        var ex = Assert.Throws<ArgumentException>(() => t.Reshape(4, 2));
        Assert.Contains("[4, 2]", ex.Message);
        Assert.Contains("[2, 3]", ex.Message);
        Assert.Throws<ArgumentException>(() => t.Reshape(-1, -1));
        Assert.Throws<ArgumentException>(() => t.Reshape(-1, 4));
        Assert.Equal(new Shape(), Tensor.Ones(1, 1).Reshape().Shape);
    }

    [Fact]
    public void Transpose_SwapsShapeAndStrides()
    {
        var t = Iota(2, 3, 4).Transpose(0, 2);
        Assert.Equal(new Shape(4, 3, 2), t.Shape);
        Assert.Equal(new long[] { 1, 4, 12 }, t.Stride());
        Assert.Equal(13f, t[1, 0, 1].Item<float>()); // x[1, 0, 1] = 12 + 0 + 1
        Assert.Equal(new Shape(4, 3, 2), Iota(2, 3, 4).Transpose(-1, 0).Shape);
        Assert.Equal(new Shape(3, 2), Iota(2, 3).T.Shape);
        Assert.Throws<InvalidOperationException>(() => Iota(2, 3, 4).T);
    }

    [Fact]
    public void Permute_ReordersDimensions()
    {
        var x = Iota(2, 3, 4);
        var p = x.Permute(2, 0, 1);
        Assert.Equal(new Shape(4, 2, 3), p.Shape);
        Assert.Equal(new long[] { 1, 12, 4 }, p.Stride());
        Assert.Equal(x[1, 2, 3].Item<float>(), p[3, 1, 2].Item<float>());
        Assert.Equal(new Shape(4, 2, 3), x.Permute(-1, 0, 1).Shape);
        Assert.Throws<ArgumentException>(() => x.Permute(0, 0, 1));
        Assert.Throws<ArgumentException>(() => x.Permute(0, 1));
    }

    [Fact]
    public void Narrow_AndSelect_AdjustShapeAndOffset()
    {
        var x = Iota(3, 4);
        var n = x.Narrow(1, 1, 2);
        Assert.Equal(new Shape(3, 2), n.Shape);
        Assert.Equal(new long[] { 4, 1 }, n.Stride());
        Assert.Equal(new float[] { 1, 2, 5, 6, 9, 10 }, n.ToArray<float>());
        Assert.Equal(new float[] { 2, 3, 6, 7, 10, 11 }, x.Narrow(-1, -2, 2).ToArray<float>());
        var s = x.Select(1, -1);
        Assert.Equal(new Shape(3), s.Shape);
        Assert.Equal(new float[] { 3, 7, 11 }, s.ToArray<float>());
        Assert.Equal(new float[] { 8, 9, 10, 11 }, x.Select(0, 2).ToArray<float>());
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Narrow(1, 3, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Select(0, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Select(0, -4));
    }

    [Fact]
    public void Expand_UsesZeroStrides()
    {
        var x = Tensor.FromArray(new float[] { 1, 2, 3 }, 3, 1);
        var e = x.Expand(2, 3, 4);
        Assert.Equal(new Shape(2, 3, 4), e.Shape);
        Assert.Equal(new long[] { 0, 1, 0 }, e.Stride());
        Assert.Same(x.storage, e.storage);
        var values = e.ToArray<float>();
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 4; k++)
                    Assert.Equal(j + 1, values[i * 12 + j * 4 + k]);
        Assert.Equal(new Shape(3, 5), x.Expand(-1, 5).Shape);
        Assert.Equal(new Shape(2, 3, 1), x.ExpandAs(Tensor.Zeros(2, 3, 1)).Shape);
        Assert.Throws<ArgumentException>(() => x.Expand(4, 4));
        Assert.Throws<ArgumentException>(() => x.Expand(4));
    }

    [Fact]
    public void SqueezeUnsqueezeFlatten()
    {
        var x = Tensor.Zeros(2, 1, 3, 1);
        Assert.Equal(new Shape(2, 3), x.Squeeze().Shape);
        Assert.Equal(new Shape(2, 3, 1), x.Squeeze(1).Shape);
        Assert.Equal(new Shape(2, 1, 3), x.Squeeze(-1).Shape);
        Assert.Same(x, x.Squeeze(0)); // size 2: nothing to remove
        Assert.Equal(new Shape(1, 2, 1, 3, 1), x.Unsqueeze(0).Shape);
        Assert.Equal(new Shape(2, 1, 3, 1, 1), x.Unsqueeze(-1).Shape);
        Assert.Equal(new Shape(2, 1, 3, 1, 1), x.Unsqueeze(4).Shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Unsqueeze(5));

        var y = Iota(2, 3, 4);
        Assert.Equal(new Shape(24), y.Flatten().Shape);
        Assert.Equal(new Shape(2, 12), y.Flatten(1).Shape);
        Assert.Equal(new Shape(6, 4), y.Flatten(0, 1).Shape);
        Assert.Equal(new Shape(1), Tensor.Scalar(1).Flatten().Shape);
        Assert.Equal(y.Transpose(0, 2).Contiguous().ToArray<float>(), y.Transpose(0, 2).Flatten().ToArray<float>());
        Assert.Same(y.storage, y.Flatten(1).storage);
    }

    [Fact]
    public void Indexers_SliceLeadingDimensions()
    {
        var x = Iota(10, 3);
        var head = x[..8];
        Assert.Equal(new Shape(8, 3), head.Shape);
        Assert.Same(x.storage, head.storage);

        var col = x[1.., 2];
        Assert.Equal(new Shape(9), col.Shape);
        Assert.Equal(Enumerable.Range(1, 9).Select(i => i * 3f + 2), col.ToArray<float>());

        Assert.Equal(new float[] { 27, 28, 29 }, x[^1].ToArray<float>());
        Assert.Equal(new float[] { 27, 28, 29 }, x[-1].ToArray<float>());
        Assert.Equal(new float[] { 24, 25, 26 }, x[-2].ToArray<float>());
        Assert.Equal(28f, x[^1, 1].Item<float>());
        Assert.Equal(28f, x[9, -2].Item<float>());
        Assert.Equal(new Shape(7, 3), x[2..^1].Shape);
        Assert.Equal(new Shape(10, 2), x[.., 1..].Shape);
        Assert.Equal(new float[] { 4, 5, 7, 8 }, x[1..3, 1..].ToArray<float>());
    }

    [Fact]
    public void Indexers_OutOfRange_Throw()
    {
        var x = Iota(4, 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => x[4]);
        Assert.Throws<ArgumentOutOfRangeException>(() => x[-5]);
        Assert.Throws<ArgumentOutOfRangeException>(() => x[..5]);
        Assert.Throws<ArgumentOutOfRangeException>(() => x[0, 2]);
        Assert.Throws<ArgumentException>(() => x[0, 0, 0]);
    }

    [Fact]
    public void Contiguous_ReturnsTheSameObjectWhenAlreadyContiguous()
    {
        var x = Iota(3, 4);
        Assert.Same(x, x.Contiguous());
        var n = x.Narrow(0, 1, 2); // rows are contiguous: still dense
        Assert.Same(n, n.Contiguous());
        var t = x.Transpose(0, 1);
        var c = t.Contiguous();
        Assert.NotSame(t, c);
        Assert.True(c.IsContiguous);
        Assert.Equal(new long[] { 3, 1 }, c.Stride());
        Assert.Equal(new float[] { 0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11 }, c.ToArray<float>());
    }

    [Fact]
    public void Clone_HasItsOwnStorage()
    {
        var x = Iota(3);
        var c = x.Clone();
        Assert.NotSame(x.storage, c.storage);
        c.Fill_(5);
        Assert.Equal(new float[] { 0, 1, 2 }, x.ToArray<float>());
    }

    [Fact]
    public void Split_AndChunk_ProduceViews()
    {
        var x = Iota(10);
        var parts = x.Split(3);
        Assert.Equal(new long[] { 3, 3, 3, 1 }, parts.Select(p => p.Shape[0]));
        Assert.Equal(new float[] { 9 }, parts[3].ToArray<float>());
        Assert.All(parts, p => Assert.Same(x.storage, p.storage));

        var chunks = x.Chunk(3);
        Assert.Equal(new long[] { 4, 4, 2 }, chunks.Select(p => p.Shape[0]));
        Assert.Equal(new float[] { 4, 5, 6, 7 }, chunks[1].ToArray<float>());
        Assert.Equal(3, Iota(6).Chunk(4).Length); // as torch.chunk: pieces of ceil(6/4) = 2

        var m = Iota(2, 5);
        var cols = m.Split(2, dim: 1);
        Assert.Equal(3, cols.Length);
        Assert.Equal(new float[] { 4, 9 }, cols[2].ToArray<float>());
        Assert.Throws<ArgumentException>(() => x.Split(0));
        Assert.Throws<ArgumentException>(() => x.Chunk(0));
    }

    [Fact]
    public void CatAndStack()
    {
        var a = Iota(2, 2);
        var b = Iota(1, 2) + 10;
        Assert.Equal(new float[] { 0, 1, 2, 3, 10, 11 }, Tensor.Cat([a, b]).ToArray<float>());
        Assert.Equal(new Shape(2, 3), Tensor.Cat([a, Tensor.Zeros(2, 1)], dim: 1).Shape);
        var s = Tensor.Stack([Iota(3), Iota(3) * 2], dim: 1);
        Assert.Equal(new Shape(3, 2), s.Shape);
        Assert.Equal(new float[] { 0, 0, 1, 2, 2, 4 }, s.ToArray<float>());
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Cat([a, Tensor.Zeros(2, 3)]));
        Assert.Contains("[2, 2]", ex.Message);
        Assert.Contains("[2, 3]", ex.Message);
    }

    [Fact]
    public void Detach_SharesStorage()
    {
        var x = Tensor.Ones(3).RequiresGrad_();
        var d = x.Detach();
        Assert.Same(x.storage, d.storage);
        Assert.False(d.RequiresGrad);
    }
}
