using NeuralCore.Nn;

namespace NeuralCore.Tests.Nn;

public class UtilsTests
{
    static Tensor WithGrad(double[] grad)
    {
        var p = Tensor.Zeros([grad.Length], DType.Float64).RequiresGrad_();
        p.Grad = Tensor.FromArray((double[])grad.Clone(), grad.Length);
        return p;
    }

    [Fact]
    public void ClipGradNorm_ScalesByMaxNormOverTotalPlusEpsilon()
    {
        // Joint 2-norm of (3, 4) and (12) is √169 = 13; PyTorch multiplies by maxNorm/(13 + 1e-6).
        var a = WithGrad([3, 4]);
        var b = WithGrad([12]);
        var noGrad = Tensor.Zeros(2).RequiresGrad_();
        double total = Utils.ClipGradNorm([a, b, noGrad], maxNorm: 6.5);
        Assert.Equal(13, total, 12);
        double coef = 6.5 / (13 + 1e-6);
        Assert.Equal([3 * coef, 4 * coef], a.Grad!.ToArray<double>());
        Assert.Equal([12 * coef], b.Grad!.ToArray<double>());
        Assert.Null(noGrad.Grad);
    }

    [Fact]
    public void ClipGradNorm_BelowTheLimit_LeavesGradientsUnchanged()
    {
        var a = WithGrad([3, -4]);
        Assert.Equal(5, Utils.ClipGradNorm([a], maxNorm: 5.1), 12);
        Assert.Equal([3.0, -4.0], a.Grad!.ToArray<double>());
    }

    [Fact]
    public void ClipGradNorm_AtTheLimit_StillScales_AsPyTorch()
    {
        // maxNorm/(total + 1e-6) < 1 when total == maxNorm, so PyTorch's clamped coefficient shrinks the gradient slightly.
        var a = WithGrad([3, -4]);
        Utils.ClipGradNorm([a], maxNorm: 5);
        Assert.Equal([3 * (5 / (5 + 1e-6)), -4 * (5 / (5 + 1e-6))], a.Grad!.ToArray<double>());
    }

    [Theory]
    [InlineData(double.PositiveInfinity, 12.0)]
    [InlineData(1.0, 19.0)]
    [InlineData(3.0, 12.207054953820636)]   // (27 + 64 + 1728)^(1/3)
    public void ClipGradNorm_OtherNorms(double normType, double expected)
    {
        var a = WithGrad([3, -4]);
        var b = WithGrad([-12]);
        double total = Utils.ClipGradNorm([a, b], maxNorm: 1, normType: normType);
        Assert.Equal(expected, total, 10);
        double coef = 1 / (expected + 1e-6);
        Assert.Equal(-12 * coef, b.Grad!.Item<double>(), 12);
    }

    [Fact]
    public void ClipGradNorm_NonFiniteNorm_FollowsPyTorchOrThrowsOnRequest()
    {
        var a = WithGrad([double.NaN, 1]);
        Assert.True(double.IsNaN(Utils.ClipGradNorm([a], maxNorm: 1)));
        Assert.All(a.Grad!.ToArray<double>(), g => Assert.True(double.IsNaN(g)));
        var b = WithGrad([double.PositiveInfinity, 1]);
        Assert.Throws<ArgumentException>(() => Utils.ClipGradNorm([b], maxNorm: 1, errorIfNonfinite: true));
        Assert.Equal([double.PositiveInfinity, 1], b.Grad!.ToArray<double>());
        Assert.Equal(0, Utils.ClipGradNorm([Tensor.Zeros(2).RequiresGrad_()], maxNorm: 1));
    }

    [Fact]
    public void ClipGradNorm_InfinityNorm_PropagatesANaNFromAnyGradient()
    {
        // As torch.stack(norms).max(): one NaN gradient makes the total NaN even when another is finite.
        var a = WithGrad([1, -3]);
        var b = WithGrad([double.NaN, 0.5]);
        Assert.True(double.IsNaN(Utils.ClipGradNorm([a, b], maxNorm: 1, normType: double.PositiveInfinity)));
        Assert.True(double.IsNaN(Utils.ClipGradNorm([WithGrad([double.NaN]), WithGrad([2])], maxNorm: 1, normType: double.PositiveInfinity)));
        Assert.Equal(3, Utils.ClipGradNorm([WithGrad([1, -3]), WithGrad([2])], maxNorm: 10, normType: double.PositiveInfinity));
    }

    [Fact]
    public void ClipGradValue_ClampsEveryElement()
    {
        var a = WithGrad([-3, 0.5, 2, -0.1]);
        Utils.ClipGradValue([a], clipValue: 1);
        Assert.Equal([-1, 0.5, 1, -0.1], a.Grad!.ToArray<double>());
        Assert.Throws<ArgumentOutOfRangeException>(() => Utils.ClipGradValue([a], -1));
    }

    [Fact]
    public void ClampWeights_ClampsInPlace_KeepingIdentityAndGradTracking()
    {
        var w = Tensor.FromArray(new double[] { -2, -0.5, 0.3, 4 }, 2, 2).RequiresGrad_();
        Utils.ClampWeights([w], -1, 1);
        Assert.Equal([-1, -0.5, 0.3, 1], w.ToArray<double>());
        Assert.True(w.RequiresGrad);
        Assert.True(w.IsLeaf);
        Assert.Throws<ArgumentException>(() => Utils.ClampWeights([w], 1, -1));
    }
}
