namespace NeuralCore.Tests.Tensors;

public class TensorErrorTests
{
    [Fact]
    public void MatMul_InnerMismatch_NamesTheOpAndBothShapes()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(64, 784).MatMul(Tensor.Zeros(100, 10)));
        Assert.Contains("MatMul", ex.Message);
        Assert.Contains("[64, 784] x [100, 10]", ex.Message);
    }

    [Fact]
    public void MatMul_OtherShapeErrors()
    {
        var v = Assert.Throws<ArgumentException>(() => Tensor.Zeros(3).MatMul(Tensor.Zeros(4)));
        Assert.Contains("[3] x [4]", v.Message);
        var mv = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3).MatMul(Tensor.Zeros(4)));
        Assert.Contains("[2, 3] x [4]", mv.Message);
        var batch = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3, 4).MatMul(Tensor.Zeros(5, 4, 6)));
        Assert.Contains("MatMul", batch.Message);
        Assert.Contains("[2, 3, 4] x [5, 4, 6]", batch.Message);
        Assert.Throws<ArgumentException>(() => Tensor.Scalar(1).MatMul(Tensor.Zeros(1)));
    }

    [Theory]
    [InlineData("Add")]
    [InlineData("Sub")]
    [InlineData("Mul")]
    [InlineData("Div")]
    public void BroadcastFailures_NameTheOpAndBothShapes(string op)
    {
        var a = Tensor.Zeros(2, 3);
        var b = Tensor.Zeros(4);
        var ex = Assert.Throws<ArgumentException>(() => op switch
        {
            "Add" => a + b,
            "Sub" => a - b,
            "Mul" => a * b,
            _ => a / b,
        });
        Assert.Contains(op, ex.Message);
        Assert.Contains("[2, 3]", ex.Message);
        Assert.Contains("[4]", ex.Message);
    }

    [Fact]
    public void OtherShapeErrors_NameTheOpAndShapes()
    {
        var w = Assert.Throws<ArgumentException>(() => Tensor.Where(Tensor.Zeros([3], DType.Bool), Tensor.Zeros(2), Tensor.Zeros(2)));
        Assert.Contains("Where", w.Message);
        var e = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3).Expand(2, 4));
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[2, 4]", e.Message);
        var c = Assert.Throws<ArgumentException>(() => Tensor.Zeros(3).Copy_(Tensor.Zeros(2)));
        Assert.Contains("Copy_", c.Message);
        var i = Assert.Throws<ArgumentException>(() => Tensor.Zeros(3).Add_(Tensor.Zeros(2, 3)));
        Assert.Contains("Add_", i.Message);
        var g = Assert.Throws<ArgumentException>(() => (Tensor.Ones(2).RequiresGrad_() * 2).Backward(Tensor.Ones(3)));
        Assert.Contains("[3]", g.Message);
        Assert.Contains("[2]", g.Message);
    }

    [Fact]
    public void OutOfRangeDimensions_Throw()
    {
        var t = Tensor.Zeros(2, 3);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => t.Sum(2));
        Assert.Contains("Sum", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Sum(-3));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Transpose(0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Mean(5));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.ArgMax(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Max(-3));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Softmax(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Narrow(2, 0, 1));
        Assert.Throws<ArgumentException>(() => t.Sum([0, 0]));
    }

    [Fact]
    public void Item_OnMultiElement_Throws()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Tensor.Zeros(3).Item<float>());
        Assert.Contains("Item", ex.Message);
        Assert.Contains("[3]", ex.Message);
    }

    [Fact]
    public void InPlaceOnALeafRequiringGrad_Throws_UnlessGradIsOff()
    {
        var w = Tensor.Ones(3).RequiresGrad_();
        var ex = Assert.Throws<InvalidOperationException>(() => w.Add_(1));
        Assert.Contains("NoGrad", ex.Message);
        Assert.Throws<InvalidOperationException>(() => w.Copy_(Tensor.Zeros(3)));
        Assert.Throws<InvalidOperationException>(() => w.Fill_(0));
        Assert.Throws<InvalidOperationException>(() => w.Zero_());
        Assert.Throws<InvalidOperationException>(() => w.Mul_(2));
        Assert.Equal(new[] { 1f, 1f, 1f }, w.ToArray<float>());
        using (Tensor.NoGrad()) w.Add_(1);
        Assert.Equal(new[] { 2f, 2f, 2f }, w.ToArray<float>());
    }

    [Fact]
    public void IntegerInPlaceDivision_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => Tensor.Ones([2], DType.Int64).Div_(2));
    }

    [Fact]
    public void UsingADisposedTensor_ThrowsObjectDisposedException()
    {
        var t = Tensor.Ones(3);
        t.Dispose();
        Assert.True(t.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => t + t);
        Assert.Throws<ObjectDisposedException>(() => t.ToArray<float>());
        Assert.Throws<ObjectDisposedException>(() => t.Sum());
        Assert.Throws<ObjectDisposedException>(() => t.Transpose(0, 0));
        Assert.Throws<ObjectDisposedException>(() => t.Exp());
        Assert.Throws<ObjectDisposedException>(() => Tensor.Ones(3).Add(t));
        t.Dispose(); // twice is fine
    }

    [Fact]
    public void BackwardErrors()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Tensor.Ones(2).Sum().Backward());
        Assert.Contains("does not require grad", ex.Message);
        var x = Tensor.Ones(2).RequiresGrad_();
        var nonScalar = Assert.Throws<InvalidOperationException>(() => (x * 2).Backward());
        Assert.Contains("[2]", nonScalar.Message);
    }

    [Fact]
    public void InvalidCreationArguments_Throw()
    {
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(-1));
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(1 << 16, 1 << 16));
        Assert.Throws<ArgumentException>(() => Tensor.Ones(2).Clamp(min: 2, max: 1));
        Assert.Throws<ArgumentException>(() => Tensor.Ones(2).Clamp());
    }
}
