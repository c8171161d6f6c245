using NeuralCore.Federated;

namespace NeuralCore.Federated.Tests;

public class DpFedAvgTests
{
    [Fact]
    public void Clip_BoundsTheNorm_AndLeavesSmallUpdatesAlone()
    {
        var rng = new Generator(4);
        var big = new float[10_001];
        rng.FillNormal(big, 0, 3);
        double before = DpFedAvg.Clip(big, 0.7);
        Assert.True(before > 100);
        Assert.True(DpFedAvg.Norm(big) <= 0.7, $"norm after clipping {DpFedAvg.Norm(big)}");
        Assert.True(DpFedAvg.Norm(big) > 0.7 * (1 - 1e-5));
        float[] small = [0.1f, -0.2f];
        DpFedAvg.Clip(small, 1);
        Assert.Equal([0.1f, -0.2f], small);
        Assert.Throws<ArgumentOutOfRangeException>(() => DpFedAvg.Clip(small, 0));
        Assert.Throws<ArgumentException>(() => DpFedAvg.Clip([float.PositiveInfinity], 1));
    }

    [Fact]
    public void AddNoise_HasTheRequestedDeviation()
    {
        var sum = new double[200_000];
        DpFedAvg.AddNoise(sum, 0.3, new Generator(5));
        double mean = sum.Average(), std = Math.Sqrt(sum.Sum(v => (v - mean) * (v - mean)) / sum.Length);
        Assert.InRange(mean, -0.003, 0.003);
        Assert.InRange(std, 0.297, 0.303);
    }
}
