using NeuralCore.Compression;

namespace NeuralCore.Compression.Tests;

public class ObserverTests
{
    [Fact]
    public void MinMaxCoversTheObservedRangeAndZero()
    {
        var o = new MinMaxObserver();
        o.Observe(Tensor.FromArray([-1f, 0.5f]));
        o.Observe(Tensor.FromArray([3f, float.NaN, float.PositiveInfinity]));
        Assert.Equal(-1f, o.Min);
        Assert.Equal(3f, o.Max);
        Assert.Equal(3, o.Count);
        var p = o.ComputeParams();
        Assert.Equal(4f / 255, p.Scale, 6);
        Assert.Equal(64, p.ZeroPoint); // round(1 / (4 / 255)) = round(63.75)
        Assert.Equal(0f, p.FakeQuantize(0f)); // zero is exact

        var positive = new MinMaxObserver();
        positive.Observe([2f, 5f]);
        var q = positive.ComputeParams();
        Assert.Equal(0, q.ZeroPoint); // the range is widened to include 0
        Assert.Equal(5f / 255, q.Scale, 6);
    }

    [Fact]
    public void PercentileIgnoresRareOutliers()
    {
        var values = Enumerable.Range(0, 10_000).Select(i => (float)i).Append(1e6f).ToArray();
        var o = new PercentileObserver(percentile: 99);
        o.Observe(values);
        Assert.Equal(1e6f, o.Max);
        var p = o.ComputeParams();
        // The 99th percentile of 0 … 9999 plus one outlier: rank 0.99 · 10000 = 9900, value 9900.
        Assert.Equal(9900f, p.Max, 9900f * 0.01f);
        Assert.Equal(0, p.ZeroPoint);
        var full = new MinMaxObserver();
        full.Observe(values);
        Assert.True(full.ComputeParams().Scale > 50 * p.Scale);
    }

    [Fact]
    public void PercentileRejectsBadSettings()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PercentileObserver(percentile: 40));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PercentileObserver(percentile: 100.5));
    }

    [Fact]
    public void MseClipsTheTailsOfAGaussianAndKeepsUniformRanges()
    {
        // At 8 bits the rounding error of a wider step outweighs clipping only far out in a light tail: the extremes of
        // 60,000 Gaussian samples (about ±4.3σ) are clipped, and the clipped range scores better than min-max.
        var random = new Random(1);
        var gaussian = Enumerable.Range(0, 60_000).Select(_ => (float)Normal(random)).ToArray();
        var mse = new MseObserver();
        mse.Observe(gaussian);
        var chosen = mse.ComputeParams();
        var minMax = QuantParams.FromRange(gaussian.Min(), gaussian.Max());
        Assert.True(chosen.Max < 0.97f * minMax.Max, $"MSE range max {chosen.Max} vs min-max {minMax.Max}");
        double minMaxError = gaussian.Average(v => Math.Pow(v - minMax.FakeQuantize(v), 2));
        double chosenError = gaussian.Average(v => Math.Pow(v - chosen.FakeQuantize(v), 2));
        Assert.True(chosenError < minMaxError, $"{chosenError} vs {minMaxError}");
        Assert.Equal(chosenError, mse.ChosenError, 1e-9);

        var uniform = new MseObserver();
        uniform.Observe(Enumerable.Range(0, 10_000).Select(_ => (float)random.NextDouble()).ToArray());
        Assert.True(uniform.ComputeParams().Max > 0.9f, "clipping a uniform distribution costs more than it saves");
    }

    [Fact]
    public void SamplingObserversKeepBoundedMemory()
    {
        var o = new PercentileObserver(percentile: 100, sampleCapacity: 1000);
        var random = new Random(2);
        for (int b = 0; b < 20; b++) o.Observe(Enumerable.Range(0, 10_000).Select(_ => (float)random.NextDouble()).ToArray());
        Assert.Equal(200_000, o.Count);
        Assert.Equal(1000, o.SampleCapacity);
        var p = o.ComputeParams();
        Assert.InRange(p.Max, 0.99f, 1f); // the sample's maximum of a uniform [0, 1)
    }

    [Fact]
    public void ObserversWithoutDataRefuseToProposeParameters()
    {
        foreach (var kind in Enum.GetValues<ObserverKind>())
        {
            var e = Assert.Throws<InvalidOperationException>(() => Observer.Create(kind).ComputeParams());
            Assert.Contains("calibration", e.Message);
        }
        Assert.Throws<ArgumentException>(() => new MinMaxObserver().Observe(Tensor.FromArray([1, 2])));
    }

    [Fact]
    public void QuantParamsRejectBadRanges()
    {
        Assert.Throws<ArgumentException>(() => QuantParams.FromRange(2, 1));
        Assert.Throws<ArgumentException>(() => QuantParams.FromRange(float.NaN, 1));
        Assert.Equal(new QuantParams(1f, 0), QuantParams.FromRange(0, 0));
    }

    static double Normal(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
}
