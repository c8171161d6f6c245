using NeuralCore.Optim;
using static NeuralCore.Tests.Optim.OptimTestHelpers;

namespace NeuralCore.Tests.Optim;

/// <summary>Each schedule's rates against PyTorch's documented closed forms.</summary>
public class LRSchedulerTests
{
    const double Base = 0.1;

    static Sgd MakeOptimizer() => new([Param(W0)], lr: Base);

    /// <summary>Rates after construction (epoch 0) and after each of <paramref name="steps"/> steps.</summary>
    static double[] Rates(LRScheduler s, int steps)
    {
        var r = new double[steps + 1];
        Assert.Equal(0, s.LastEpoch);
        r[0] = s.LastLr;
        for (int e = 1; e <= steps; e++)
        {
            s.Step();
            Assert.Equal(e, s.LastEpoch);
            r[e] = s.LastLr;
            Assert.Equal(r[e], s.Optimizer.EffectiveLr(s.Optimizer.ParamGroups[0]));
        }
        return r;
    }

    static void AssertRates(Func<int, double> expected, double[] actual)
    {
        for (int e = 0; e < actual.Length; e++)
            Assert.True(Math.Abs(expected(e) - actual[e]) <= 1e-15 + 1e-12 * Math.Abs(expected(e)), $"epoch {e}: expected {expected(e):R}, got {actual[e]:R}");
    }

    [Fact]
    public void StepLR_DecaysEveryStepSizeEpochs()
    {
        var rates = Rates(new StepLR(MakeOptimizer(), stepSize: 3, gamma: 0.5), 10);
        AssertRates(e => Base * Math.Pow(0.5, e / 3), rates);
        Assert.Equal(Base, rates[2]);
        Assert.Equal(Base * 0.5, rates[3], 15);
    }

    [Fact]
    public void MultiStepLR_DecaysAtMilestones_CountingRepeats()
    {
        var rates = Rates(new MultiStepLR(MakeOptimizer(), [6, 2, 6], gamma: 0.1), 8);
        double[] powers = [0, 0, 1, 1, 1, 1, 3, 3, 3];
        AssertRates(e => Base * Math.Pow(0.1, powers[e]), rates);
    }

    [Fact]
    public void ExponentialLR_DecaysEveryEpoch()
    {
        AssertRates(e => Base * Math.Pow(0.9, e), Rates(new ExponentialLR(MakeOptimizer(), gamma: 0.9), 7));
    }

    [Fact]
    public void CosineAnnealingLR_FollowsTheClosedForm_AndRisesAfterTMax()
    {
        const double etaMin = 0.01;
        var rates = Rates(new CosineAnnealingLR(MakeOptimizer(), tMax: 5, etaMin: etaMin), 12);
        AssertRates(e => etaMin + (Base - etaMin) * (1 + Math.Cos(Math.PI * e / 5)) / 2, rates);
        Assert.Equal(etaMin, rates[5], 15);
        Assert.Equal(Base, rates[10], 15);
    }

    // PyTorch's OneCycleLR (two phases): initial = maxLr/div, min = initial/finalDiv; phase ends at
    // pctStart·total − 1 and total − 1; rate = anneal(start, end, (step − phaseStart)/(phaseEnd − phaseStart)).
    static double OneCycle(int step, double maxLr, int total, double pct, bool cos, double div, double finalDiv)
    {
        double initial = maxLr / div, min = initial / finalDiv, end1 = pct * total - 1, end2 = total - 1;
        double Anneal(double a, double b, double p) => cos ? b + (a - b) / 2 * (Math.Cos(Math.PI * p) + 1) : (b - a) * p + a;
        return step <= end1 ? Anneal(initial, maxLr, step / end1) : Anneal(maxLr, min, (step - end1) / (end2 - end1));
    }

    [Theory]
    [InlineData("cos")]
    [InlineData("linear")]
    public void OneCycleLR_FollowsPyTorchsPhases(string strategy)
    {
        var s = new OneCycleLR(MakeOptimizer(), maxLr: 1.0, totalSteps: 20, pctStart: 0.3, annealStrategy: strategy);
        var rates = Rates(s, 19);
        AssertRates(e => OneCycle(e, 1.0, 20, 0.3, strategy == "cos", 25, 1e4), rates);
        Assert.Equal(1.0 / 25, rates[0], 15);
        Assert.Equal(1.0, rates[5], 15);
        Assert.Equal(1.0 / 25 / 1e4, rates[19], 15);
        s.Step();
        Assert.Throws<InvalidOperationException>(s.Step);
        Assert.Equal(20, s.LastEpoch);
    }

    [Fact]
    public void Schedulers_RespectPerGroupRates()
    {
        var a = Param(W0);
        var b = Param(W0);
        var c = Param(W0);
        var opt = new Sgd([new ParamGroup([a]), new ParamGroup([b]) { Lr = 1.0 }, new ParamGroup([c]) { Lr = 0.5 }], lr: Base);
        var s = new StepLR(opt, stepSize: 1, gamma: 0.5);
        Assert.Equal([Base, 1.0, 0.5], s.LastLrs);
        Assert.Equal([Base, 1.0, 0.5], s.BaseLrs);
        s.Step();
        s.Step();
        Assert.Equal([Base / 4, 0.25, 0.125], s.LastLrs);
        Assert.Equal(Base / 4, opt.Lr);
        Assert.Null(opt.ParamGroups[0].Lr);
    }

    [Fact]
    public void Scheduler_OnAnUnboundOptimizer_DrivesTheDefaultRate()
    {
        var opt = new Adam(lr: 0.01);
        var s = new ExponentialLR(opt, gamma: 0.5);
        s.Step();
        Assert.Equal(0.005, s.LastLr);
        opt.Bind([Param(W0)]);
        s.Step();
        Assert.Equal([0.0025], s.LastLrs);
    }

    [Fact]
    public void InvalidSettings_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepLR(MakeOptimizer(), stepSize: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineAnnealingLR(MakeOptimizer(), tMax: 0));
        Assert.Throws<ArgumentException>(() => new OneCycleLR(MakeOptimizer(), 1.0, 10, annealStrategy: "exp"));
        Assert.Throws<ArgumentException>(() => new OneCycleLR(MakeOptimizer(), 1.0, 3, pctStart: 0.3));
    }
}
