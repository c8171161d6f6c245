using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace NeuralCore.Tests.Tensors;

public class ShapeTests
{
    [Fact]
    public void Shape_ExposesSizesCountAndElementCount()
    {
        var s = new Shape(3, 4, 5);
        Assert.Equal(3, s.Count);
        Assert.Equal(3L, s[0]);
        Assert.Equal(5L, s[2]);
        Assert.Equal(5L, s[-1]);
        Assert.Equal(3L, s[-3]);
        Assert.Equal(60L, s.NumElements);
        Assert.Equal(new long[] { 3, 4, 5 }, s.ToArray());
        Assert.Equal(new long[] { 3, 4, 5 }, s.ToList());
    }

    [Fact]
    public void Shape_PrintsLikeAList()
    {
        Assert.Equal("[3, 4]", new Shape(3, 4).ToString());
        Assert.Equal("[7]", new Shape(7).ToString());
        Assert.Equal("[]", new Shape().ToString());
        Assert.Equal("[]", default(Shape).ToString());
    }

    [Fact]
    public void ZeroDimensionalShape_HasOneElement_AndAZeroSizeHasNone()
    {
        Assert.Equal(1L, new Shape().NumElements);
        Assert.Empty(new Shape());
        Assert.Equal(0L, new Shape(3, 0, 2).NumElements);
    }

    [Fact]
    public void Shape_EqualityIsBySizes()
    {
        Assert.Equal(new Shape(2, 3), new Shape(2, 3));
        Assert.True(new Shape(2, 3) == new Shape(2, 3));
        Assert.True(new Shape(2, 3) != new Shape(3, 2));
        Assert.NotEqual(new Shape(2, 3), new Shape(2, 3, 1));
        Assert.Equal(new Shape(2, 3).GetHashCode(), new Shape(2, 3).GetHashCode());
        Assert.Equal(new Shape(), default);
        Assert.False(new Shape(2).Equals("[2]"));
    }

    [Fact]
    public void Shape_RejectsNegativeAndOversizedSizes()
    {
        var neg = Assert.Throws<ArgumentException>(() => new Shape(2, -1));
        Assert.Contains("-1", neg.Message);
        Assert.Throws<ArgumentException>(() => new Shape((long)int.MaxValue + 1));
        Assert.Throws<ArgumentException>(() => new Shape(1 << 20, 1 << 20));
    }

    [Fact]
    public void Shape_IndexerOutOfRangeThrows()
    {
        var s = new Shape(2, 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => s[2]);
        Assert.Throws<ArgumentOutOfRangeException>(() => s[-3]);
    }

    [Fact]
    public void TensorShape_SizeStrideAndContiguity()
    {
        var t = Tensor.Zeros(2, 3, 4);
        Assert.Equal(new Shape(2, 3, 4), t.Shape);
        Assert.Equal(3, t.Dim);
        Assert.Equal(24L, t.NumElements);
        Assert.Equal(4L, t.Size(-1));
        Assert.Equal(2L, t.Size(0));
        Assert.Equal(new long[] { 12, 4, 1 }, t.Stride());
        Assert.True(t.IsContiguous);
        Assert.False(t.Transpose(0, 2).IsContiguous);
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Size(3));
    }

    [Fact]
    public void SizeOneDimensions_DoNotBreakContiguity()
    {
        // A [3, 1] tensor seen as its transpose [1, 3] is still dense row-major.
        var t = Tensor.Zeros(3, 1).Transpose(0, 1);
        Assert.True(t.IsContiguous);
        Assert.True(Tensor.Zeros(0, 5).Transpose(0, 1).IsContiguous);
    }

    static Arbitrary<long[]> Sizes => Gen.Choose(0, 6).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 5).Select(v => (long)v), n)).ToArbitrary();

    [Property(MaxTest = 200)]
    public Property Shape_RoundTripsThroughItsArray() => Prop.ForAll(Sizes, sizes =>
    {
        var s = new Shape(sizes);
        long product = 1;
        foreach (var v in sizes) product *= v;
        return s.ToArray().SequenceEqual(sizes)
            && s.Count == sizes.Length
            && s.NumElements == product
            && new Shape(s.ToArray()) == s
            && s.ToString() == "[" + string.Join(", ", sizes) + "]";
    });
}
