using NeuralCore.Optim;
using static NeuralCore.Tests.Optim.OptimTestHelpers;

namespace NeuralCore.Tests.Optim;

public class ReduceLROnPlateauTests
{
    [Fact]
    public void MinMode_ReducesAfterPatience_ThenCoolsDown()
    {
        var opt = new Sgd([Param(W0)], lr: 1.0);
        var s = new ReduceLROnPlateau(opt, mode: "min", factor: 0.5, patience: 2, cooldown: 1);
        // Worked by hand from PyTorch's rules: a reduction happens when the bad-epoch count exceeds patience (2),
        // then one cooldown epoch resets the count.
        double[] metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.8];
        double[] expected = [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25];
        for (int e = 0; e < metrics.Length; e++)
        {
            s.Step(metrics[e]);
            Assert.True(expected[e] == s.LastLr, $"epoch {e + 1}: expected {expected[e]}, got {s.LastLr}");
        }
        Assert.Equal(0.8, s.Best);
        Assert.Equal(10, s.LastEpoch);
    }

    [Fact]
    public void RelativeThreshold_TreatsTinyImprovementsAsBad()
    {
        var opt = new Sgd([Param(W0)], lr: 1.0);
        var s = new ReduceLROnPlateau(opt, factor: 0.1, patience: 0, threshold: 0.01);
        s.Step(1.0);
        s.Step(0.995);   // not below 1.0·(1 − 0.01)
        Assert.Equal(0.1, s.LastLr, 15);
        Assert.Equal(1.0, s.Best);
    }

    [Fact]
    public void MaxMode_RespectsMinLr_AndPerGroupRates()
    {
        var opt = new Sgd([new ParamGroup([Param(W0)]), new ParamGroup([Param(W0)]) { Lr = 0.3 }], lr: 1.0);
        var s = new ReduceLROnPlateau(opt, mode: "max", factor: 0.1, patience: 0, minLr: 0.05);
        s.Step(0.5);
        s.Step(0.4);
        Assert.Equal([0.1, 0.05], s.LastLrs);
        s.Step(0.4);
        Assert.Equal([0.05, 0.05], s.LastLrs);
        s.Step(0.9);
        Assert.Equal([0.05, 0.05], s.LastLrs);
        Assert.Equal(0.9, s.Best);
    }

    [Fact]
    public void InvalidSettings_Throw()
    {
        var opt = new Sgd([Param(W0)], lr: 1.0);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLROnPlateau(opt, factor: 1.0));
        Assert.Throws<ArgumentException>(() => new ReduceLROnPlateau(opt, mode: "lowest"));
        Assert.Throws<ArgumentException>(() => new ReduceLROnPlateau(opt, thresholdMode: "pct"));
    }
}
