using NeuralCore.Optim;
using static NeuralCore.Tests.Optim.OptimTestHelpers;

namespace NeuralCore.Tests.Optim;

public class AdamWTests
{
    [Theory]
    [InlineData(0.1, 0.01, false, true)]
    [InlineData(0.1, 0.01, false, false)]
    [InlineData(0.1, 0.5, false, true)]
    [InlineData(0.1, 0.5, false, false)]
    [InlineData(0.9, 0.2, true, true)]
    [InlineData(0.9, 0.2, true, false)]
    public void FirstThreeSteps_MatchLoshchilovHutter(double lr, double wd, bool amsgrad, bool fused)
    {
        var (b1, b2) = amsgrad ? (0.5, 0.6) : (0.9, 0.999);
        var w = Param(W0);
        var opt = new AdamW([w], lr: lr, betas: (b1, b2), eps: 1e-8, weightDecay: wd, amsgrad: amsgrad) { UseFusedKernels = fused };
        var actual = Trajectory(w, opt, 3);
        var expected = AdamTests.Reference(3, lr, b1, b2, 1e-8, wd, amsgrad, decoupled: true, out _);
        AssertMoved(expected);
        AssertClose(expected, actual);
        var coupled = AdamTests.Reference(3, lr, b1, b2, 1e-8, wd, amsgrad, decoupled: false, out _);
        Assert.True(Math.Abs(coupled[2][0] - expected[2][0]) > 1e-6, "decoupled decay must differ from Adam's coupled decay");
    }

    [Fact]
    public void DefaultWeightDecay_IsOneHundredth()
    {
        Assert.Equal(1e-2, new AdamW([Param(W0)]).WeightDecay);
        Assert.Equal(1e-2, new AdamW().WeightDecay);
    }

    [Fact]
    public void ZeroGradient_StillDecaysTheWeights()
    {
        // With g = 0 the Adam term is 0/(0 + eps) = 0, so one step is exactly w·(1 − lr·wd).
        var w = Param(W0);
        var opt = new AdamW([w], lr: 0.1, weightDecay: 0.5);
        w.Grad = Tensor.ZerosLike(w);
        opt.Step();
        AssertClose([W0.Select(x => x * (1 - 0.1 * 0.5)).ToArray()], [w.ToArray<double>()], 1e-15);
    }
}
