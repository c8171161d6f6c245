using NeuralCore.Optim;
using static NeuralCore.Tests.Optim.OptimTestHelpers;

namespace NeuralCore.Tests.Optim;

public class WarmupCosineLRTests
{
    [Fact]
    public void Rates_RiseLinearlyThenFollowTheCosineToTheFloor()
    {
        var optimizer = new AdamW([Param(W0)], lr: 0.1);
        var schedule = new WarmupCosineLR(optimizer, warmupSteps: 2, totalSteps: 6, etaMin: 0.01);
        var rates = new List<double> { schedule.LastLr };
        for (int s = 1; s <= 9; s++)
        {
            schedule.Step();
            rates.Add(optimizer.Lr);
        }
        // Warmup: 0, 0.05; then p = 0, 1/4, 1/2, 3/4, 1 over steps 2..6; the floor afterwards.
        double[] expected =
        [
            0, 0.05, 0.1,
            0.01 + 0.09 * (1 + Math.Sqrt(0.5)) / 2, 0.055, 0.01 + 0.09 * (1 - Math.Sqrt(0.5)) / 2,
            0.01, 0.01, 0.01, 0.01,
        ];
        Assert.Equal(expected.Length, rates.Count);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - rates[i]) < 1e-15, $"step {i}: {expected[i]} vs {rates[i]}");
    }

    [Fact]
    public void NoWarmup_StartsAtTheBaseRate_AndGroupsKeepTheirOwnBase()
    {
        var own = new ParamGroup([Param(W0)]) { Lr = 0.4 };
        var optimizer = new Sgd([own, new ParamGroup([Param(W0)])], lr: 0.2);
        var schedule = new WarmupCosineLR(optimizer, warmupSteps: 0, totalSteps: 2);
        Assert.Equal([0.4, 0.2], schedule.LastLrs);
        schedule.Step();
        Assert.Equal(0.2, schedule.LastLrs[0], 15);
        Assert.Equal(0.1, schedule.LastLrs[1], 15);
    }

    [Fact]
    public void BadSettings_Throw()
    {
        var optimizer = new Sgd([Param(W0)], lr: 0.1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new WarmupCosineLR(optimizer, -1, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WarmupCosineLR(optimizer, 5, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WarmupCosineLR(optimizer, 0, 5, etaMin: -1));
    }
}
