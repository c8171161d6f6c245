using NeuralCore.Tests.Tensors;

namespace NeuralCore.Tests.Autograd;

public class BackwardTests
{
    static Tensor Leaf(params float[] values) => Tensor.FromArray(values).RequiresGrad_();

    [Fact]
    public void SimpleGradient_OfASum()
    {
        var x = Leaf(1, 2, 3);
        (x * x).Sum().Backward();
        Assert.Equal(new[] { 2f, 4f, 6f }, x.Grad!.ToArray<float>());
        Assert.False(x.Grad.RequiresGrad);
        Assert.True(x.Grad.IsLeaf);
    }

    [Fact]
    public void Gradients_AccumulateAcrossBackwardCalls()
    {
        var x = Leaf(1, 2);
        (x * 3).Sum().Backward();
        (x * x).Sum().Backward();
        Assert.Equal(new[] { 3f + 2f, 3f + 4f }, x.Grad!.ToArray<float>());
        x.Grad = null;
        (x * 5).Sum().Backward();
        Assert.Equal(new[] { 5f, 5f }, x.Grad!.ToArray<float>());
    }

    [Fact]
    public void SecondBackward_WithoutRetainGraph_ThrowsMentioningRetainGraph()
    {
        var x = Leaf(1, 2);
        var y = (x * x).Sum();
        y.Backward();
        var ex = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("retainGraph", ex.Message);
    }

    [Fact]
    public void RetainGraph_AllowsASecondBackward_ThatDoublesTheGradient()
    {
        var x = Leaf(1, 2);
        var y = (x * x).Exp().Sum();
        y.Backward(retainGraph: true);
        var once = x.Grad!.ToArray<float>();
        y.Backward();
        var twice = x.Grad!.ToArray<float>();
        Assert.Equal(once.Select(v => 2 * v), twice);
        Assert.Equal(2 * MathF.Exp(1), once[0], 5);
    }

    [Fact]
    public void NoGrad_RecordsNoGraph()
    {
        var x = Leaf(1, 2);
        Assert.True(Tensor.IsGradEnabled);
        Tensor y;
        using (Tensor.NoGrad())
        {
            Assert.False(Tensor.IsGradEnabled);
            using (Tensor.NoGrad()) y = x * 2;
            Assert.False(Tensor.IsGradEnabled); // nested scopes restore correctly
            var z = (x + 1).Sum();
            Assert.False(z.RequiresGrad);
            Assert.Null(z.GradFnName);
        }
        Assert.True(Tensor.IsGradEnabled);
        Assert.False(y.RequiresGrad);
        Assert.True(y.IsLeaf);
        Assert.Throws<InvalidOperationException>(() => y.Sum().Backward());
        Assert.True((x * 2).RequiresGrad);
    }

    [Fact]
    public void Detach_CutsTheGraph()
    {
        var x = Leaf(1, 2, 3);
        var d = (x * 2).Detach();
        Assert.False(d.RequiresGrad);
        Assert.True(d.IsLeaf);
        (d * x).Sum().Backward();
        // d is a constant: the gradient is d itself, not 4x.
        Assert.Equal(new[] { 2f, 4f, 6f }, x.Grad!.ToArray<float>());
    }

    [Fact]
    public void RequiresGrad_OnANonLeaf_Throws()
    {
        var x = Leaf(1);
        var y = x * 2;
        Assert.Equal("MulBackward", y.GradFnName);
        Assert.False(y.IsLeaf);
        var ex = Assert.Throws<InvalidOperationException>(() => y.RequiresGrad_());
        Assert.Contains("leaf", ex.Message);
        Assert.Throws<InvalidOperationException>(() => y.RequiresGrad = false);
    }

    [Theory]
    [InlineData(DType.Int32)]
    [InlineData(DType.Int64)]
    [InlineData(DType.UInt8)]
    [InlineData(DType.Bool)]
    public void IntegerTensors_CannotRequireGrad(DType dtype)
    {
        var t = Tensor.Zeros([2], dtype);
        var ex = Assert.Throws<InvalidOperationException>(() => t.RequiresGrad_());
        Assert.Contains(dtype.ToString(), ex.Message);
        t.RequiresGrad_(false); // turning it off is fine
        Assert.False(t.RequiresGrad);
    }

    [Fact]
    public void BroadcastingGradients_AreSummedBackToTheInputShape()
    {
        var a = Tensor.Ones(3, 1).RequiresGrad_();
        var b = Tensor.Ones(1, 4).RequiresGrad_();
        (a + b).Sum().Backward();
        Assert.Equal(new Shape(3, 1), a.Grad!.Shape);
        Assert.Equal(new Shape(1, 4), b.Grad!.Shape);
        Assert.All(a.Grad.ToArray<float>(), v => Assert.Equal(4f, v));
        Assert.All(b.Grad.ToArray<float>(), v => Assert.Equal(3f, v));
    }

    [Fact]
    public void BroadcastingGradients_ForMulWithLeadingDimensions()
    {
        var w = Tensor.FromArray(new float[] { 1, 2, 3 }).RequiresGrad_();           // [3]
        var x = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }, 2, 2, 3).RequiresGrad_();
        (x * w).Sum().Backward();
        // d/dw = Σ over the broadcast dims of x.
        Assert.Equal(new[] { 1f + 4 + 7 + 10, 2f + 5 + 8 + 11, 3f + 6 + 9 + 12 }, w.Grad!.ToArray<float>());
        Assert.Equal(new[] { 1f, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3 }, x.Grad!.ToArray<float>());
    }

    [Fact]
    public void DiamondGraph_SumsBothPaths()
    {
        var x = Leaf(-1, 0.5f, 2);
        var y = x * x + x * x * x;
        y.Sum().Backward();
        var xs = new[] { -1f, 0.5f, 2f };
        TensorTestHelpers.AllClose(xs.Select(v => 2 * v + 3 * v * v).ToArray(), x.Grad!.ToArray<float>());
    }

    [Fact]
    public void SharedIntermediate_UsedTwice_GetsBothContributions()
    {
        var x = Leaf(3);
        var h = x * 2;           // dh/dx = 2
        var y = h * h + h;       // dy/dh = 2h + 1 = 13
        y.Sum().Backward();
        Assert.Equal(26f, x.Grad!.Item<float>());
    }

    [Fact]
    public void DeepChain_BackpropagatesWithoutStackOverflow()
    {
        var x = Leaf(1);
        var y = x;
        for (int i = 0; i < 10_000; i++) y = y + 1;
        y = y * 2;
        y.Sum().Backward();
        Assert.Equal(2f, x.Grad!.Item<float>());
        Assert.Equal(20_002f, y.Item<float>());
    }

    [Fact]
    public void NonScalarBackward_NeedsAGradient()
    {
        var x = Leaf(1, 2);
        var y = x * 3;
        Assert.Throws<InvalidOperationException>(() => y.Backward());
        y.Backward(Tensor.FromArray(new float[] { 1, 10 }));
        Assert.Equal(new[] { 3f, 30f }, x.Grad!.ToArray<float>());
    }

    [Fact]
    public void OneElementNonScalar_CanBackwardWithoutGradient()
    {
        var x = Leaf(2);
        (x * x).Backward(); // shape [1]
        Assert.Equal(4f, x.Grad!.Item<float>());
    }

    [Fact]
    public void BackwardOnALeaf_AccumulatesItsOwnGradient()
    {
        var x = Leaf(1, 2);
        x.Backward(Tensor.FromArray(new float[] { 5, 6 }));
        Assert.Equal(new[] { 5f, 6f }, x.Grad!.ToArray<float>());
    }

    [Fact]
    public void LeafGradients_AreIndependentCopies()
    {
        // Add hands the same gradient tensor to both inputs; updating one .Grad in place must not touch the other.
        var a = Leaf(1, 2);
        var b = Leaf(3, 4);
        (a + b).Sum().Backward();
        Assert.NotSame(a.Grad!.storage, b.Grad!.storage);
        a.Grad.Mul_(10);
        Assert.Equal(new[] { 1f, 1f }, b.Grad.ToArray<float>());
    }

    [Fact]
    public void ViewGradients_AreEmbeddedBack()
    {
        var x = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3).RequiresGrad_();
        var y = x.Transpose(0, 1)[1..].Narrow(1, 1, 1).Sum() * 10 + x[0, 0] * 100;
        y.Backward();
        // Transpose [3, 2], rows 1.. → x columns 1 and 2, then column 1 of that → x row 1.
        Assert.Equal(new float[] { 100, 0, 0, 0, 10, 10 }, x.Grad!.ToArray<float>());
    }

    [Fact]
    public void ExpandReshapePermuteGradients()
    {
        var x = Leaf(1, 2, 3);
        var e = x.Reshape(3, 1).Expand(3, 4).Permute(1, 0); // [4, 3]
        var weights = Tensor.Arange(12).To(DType.Float32).Reshape(4, 3);
        (e * weights).Sum().Backward();
        // d/dx_j = Σ_i weights[i, j] = 0+3+6+9 + j·4
        Assert.Equal(new[] { 18f, 22f, 26f }, x.Grad!.ToArray<float>());
    }

    [Fact]
    public void MatMulGradients_MatchTheClosedForm()
    {
        var a = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3).RequiresGrad_();
        var b = Tensor.FromArray(new float[] { 1, 0, -1, 2, 0.5f, 1 }, 3, 2).RequiresGrad_();
        a.MatMul(b).Sum().Backward();
        // dA = 1·Bᵀ (row sums of B per column of A), dB = Aᵀ·1 (column sums of A per row of B).
        Assert.Equal(new[] { 1f, 1f, 1.5f, 1f, 1f, 1.5f }, a.Grad!.ToArray<float>());
        Assert.Equal(new[] { 5f, 5f, 7f, 7f, 9f, 9f }, b.Grad!.ToArray<float>());
    }

    [Fact]
    public void MeanAndMaxGradients()
    {
        var x = Leaf(1, 3, 3, 2);
        x.Mean().Backward();
        Assert.All(x.Grad!.ToArray<float>(), v => Assert.Equal(0.25f, v));

        var y = Leaf(1, 3, 3, 2);
        y.Max().Backward(); // ties share the gradient evenly
        Assert.Equal(new[] { 0f, 0.5f, 0.5f, 0f }, y.Grad!.ToArray<float>());

        var z = Tensor.FromArray(new float[] { 1, 3, 3, 2, 5, 4 }, 2, 3).RequiresGrad_();
        z.Max(1).Sum().Backward(); // along a dim: the first maximum gets it
        Assert.Equal(new[] { 0f, 1f, 0f, 0f, 1f, 0f }, z.Grad!.ToArray<float>());
    }

    [Fact]
    public void Float64Gradients_StayFloat64()
    {
        var x = Tensor.FromArray(new[] { 0.5, 1.5 }).RequiresGrad_();
        (x * x).Sum().Backward();
        Assert.Equal(DType.Float64, x.Grad!.DType);
        Assert.Equal(new[] { 1.0, 3.0 }, x.Grad.ToArray<double>());
    }

    [Fact]
    public void CastBetweenFloatingDTypes_IsDifferentiable()
    {
        var x = Leaf(1, 2);
        (x.To(DType.Float64) * 3).Sum().Backward();
        Assert.Equal(DType.Float32, x.Grad!.DType);
        Assert.Equal(new[] { 3f, 3f }, x.Grad.ToArray<float>());
    }

    [Fact]
    public void OnlyInputsThatRequireGrad_GetGradients()
    {
        var x = Leaf(1, 2);
        var c = Tensor.FromArray(new float[] { 5, 6 });
        (x * c).Sum().Backward();
        Assert.Null(c.Grad);
        Assert.Equal(new[] { 5f, 6f }, x.Grad!.ToArray<float>());
    }

    [Fact]
    public void ComparisonsAreNotDifferentiable()
    {
        var x = Leaf(1, 2);
        Assert.False(x.Gt(1).RequiresGrad);
        Assert.False(x.ArgMax().RequiresGrad);
    }
}
