using NeuralCore.Nn;
using NeuralCore.Testing;
using static NeuralCore.Tests.Nn.LossReference;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Tests.Nn;

public class BatchNormTests
{
    static Tensor T(double[] data, params long[] shape) => Tensor.FromArray(data, shape);

    static void Close(double expected, double actual, double tol = 1e-9, string what = "") =>
        Assert.True(Math.Abs(expected - actual) <= tol * (1 + Math.Abs(expected)), $"{what}: expected {expected}, got {actual}.");

    static void CloseAll(double[] expected, double[] actual, double tol = 1e-9, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Close(expected[i], actual[i], tol, $"{what}[{i}]");
    }

    // Values of channel c of an [N, C, *] tensor given as a flat row-major array.
    static double[] Channel(double[] x, long[] shape, int c)
    {
        int channels = (int)shape[1], inner = (int)(x.Length / shape[0] / channels);
        var r = new List<double>();
        for (int n = 0; n < shape[0]; n++)
            for (int i = 0; i < inner; i++) r.Add(x[(n * channels + c) * inner + i]);
        return r.ToArray();
    }

    [Fact]
    public void TrainingOutput_HasZeroMeanAndUnitVariancePerChannel()
    {
        var r = new System.Random(21);
        long[] shape = [4, 3, 5, 2];
        var raw = Rand(r, 120, -1, 1);
        for (int i = 0; i < raw.Length; i++) raw[i] = raw[i] * (1 + (i / 10 % 3) * 4) + 7; // channels with different scales
        var bn = new BatchNorm2d(3, eps: 0);
        bn.To(DType.Float64);
        var y = bn.Forward(T(raw, shape)).ToArray<double>();
        for (int c = 0; c < 3; c++)
        {
            var v = Channel(y, shape, c);
            double mean = v.Average();
            Close(0, mean, 1e-12, $"mean of channel {c}");
            Close(1, v.Select(a => (a - mean) * (a - mean)).Average(), 1e-12, $"biased variance of channel {c}");
        }
    }

    [Fact]
    public void RunningStatistics_FollowPyTorchsFormula_WithTheUnbiasedVariance()
    {
        // Channel 0 holds 1, 2, 3, 4 (mean 2.5, unbiased variance 5/3); channel 1 holds 2, 2, 6, 6 (mean 4, unbiased 16/3).
        var x = T([1, 2, 2, 2, 3, 6, 4, 6], 4, 2);
        var bn = new BatchNorm1d(2, momentum: 0.1);
        bn.To(DType.Float64);
        bn.Forward(x);
        CloseAll([0.9 * 0 + 0.1 * 2.5, 0.9 * 0 + 0.1 * 4], bn.RunningMean!.ToArray<double>());
        CloseAll([0.9 * 1 + 0.1 * 5.0 / 3, 0.9 * 1 + 0.1 * 16.0 / 3], bn.RunningVar!.ToArray<double>());
        Assert.Equal(1L, bn.NumBatchesTracked!.Item<long>());
        bn.Forward(x);
        CloseAll([0.9 * 0.25 + 0.1 * 2.5, 0.9 * 0.4 + 0.1 * 4], bn.RunningMean!.ToArray<double>());
        Assert.Equal(2L, bn.NumBatchesTracked!.Item<long>());
    }

    [Fact]
    public void NullMomentum_KeepsACumulativeAverage()
    {
        var bn = new BatchNorm1d(1, momentum: null);
        bn.Forward(Tensor.FromArray(new float[] { 1, 3 }, 2, 1));
        bn.Forward(Tensor.FromArray(new float[] { 5, 7, 9 }, 3, 1));
        Close((2 + 7) / 2.0, bn.RunningMean!.Item<float>(), 1e-6);
        Close((2 + 4) / 2.0, bn.RunningVar!.Item<float>(), 1e-6); // unbiased variances 2 and 4
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void NullMomentum_GivesTheSameBitsAsTheHostFactorOneOverBatchCount(DType dtype)
    {
        // The layer keeps 1/num_batches_tracked on the tensor's device; the functional form with the factor
        // computed on the host is the reference, bit for bit.
        var bn = new BatchNorm2d(3, momentum: null);
        bn.To(dtype);
        var mean = Tensor.Zeros([3], dtype);
        var variance = Tensor.Ones([3], dtype);
        var g = new Generator(21);
        for (int k = 1; k <= 5; k++)
        {
            var x = Tensor.Randn([2 + k, 3, 2, 3], dtype, g);
            bn.Forward(x);
            using (Tensor.NoGrad()) F.BatchNorm(x, mean, variance, training: true, momentum: 1.0 / k);
            Assert.Equal(mean.ToArray<double>(), bn.RunningMean!.ToArray<double>());
            Assert.Equal(variance.ToArray<double>(), bn.RunningVar!.ToArray<double>());
        }
    }

    [Fact]
    public void EvalMode_UsesRunningStatistics_AndLeavesThemUnchanged()
    {
        var bn = new BatchNorm1d(2, eps: 1e-3);
        bn.To(DType.Float64);
        using (Tensor.NoGrad())
        {
            bn.RunningMean!.Copy_(T([1, -2], 2));
            bn.RunningVar!.Copy_(T([4, 0.25], 2));
            bn.Weight!.Copy_(T([2, 3], 2));
            bn.Bias!.Copy_(T([0.5, -1], 2));
        }
        bn.Eval();
        double[] x = [3, 0, -1, 1, 5, -2];
        var y = bn.Forward(T(x, 3, 2, 1)).ToArray<double>();
        double[] m = [1, -2], v = [4, 0.25], w = [2, 3], b = [0.5, -1];
        CloseAll(x.Select((a, i) => (a - m[i % 2]) / Math.Sqrt(v[i % 2] + 1e-3) * w[i % 2] + b[i % 2]).ToArray(), y);
        CloseAll(m, bn.RunningMean!.ToArray<double>());
        Assert.Equal(0L, bn.NumBatchesTracked!.Item<long>());
    }

    [Fact]
    public void WithoutRunningStatistics_EvalModeNormalisesWithTheBatch()
    {
        var bn = new BatchNorm1d(2, affine: false, trackRunningStats: false);
        Assert.Empty(bn.StateDict());
        Assert.Null(bn.RunningMean);
        bn.Eval();
        var y = bn.Forward(Tensor.FromArray(new float[] { 1, 10, 3, 30 }, 2, 2)).ToArray<float>();
        Assert.Equal(-1, y[0], 3);
        Assert.Equal(1, y[2], 3);
    }

    [Fact]
    public void StateDict_UsesPyTorchKeys_AndNumBatchesTrackedIsInt64()
    {
        var model = new Sequential(new Linear(3, 4), new BatchNorm1d(4));
        Assert.Equal(["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked"], model.StateDict().Keys);
        Assert.Equal(["0.weight", "0.bias", "1.weight", "1.bias"], model.NamedParameters().Select(p => p.Name));
        var bn = (BatchNorm1d)model[1];
        Assert.Equal(DType.Int64, bn.NumBatchesTracked!.DType);
        Assert.Equal(0, bn.NumBatchesTracked.Dim);
        model.To(DType.Float64);
        Assert.Equal(DType.Float64, bn.RunningMean!.DType);
        Assert.Equal(DType.Int64, bn.NumBatchesTracked.DType);
    }

    [Fact]
    public void LoadStateDict_RestoresRunningStatistics()
    {
        var a = new BatchNorm2d(2);
        a.Forward(Tensor.Randn(3, 2, 2, 2));
        var b = new BatchNorm2d(2);
        b.LoadStateDict(a.StateDict());
        Assert.Equal(a.RunningMean!.ToArray<float>(), b.RunningMean!.ToArray<float>());
        Assert.Equal(a.RunningVar!.ToArray<float>(), b.RunningVar!.ToArray<float>());
        Assert.Equal(1L, b.NumBatchesTracked!.Item<long>());
    }

    [Fact]
    public void GradCheck_FunctionalBatchNorm_InTrainingAndEvalMode()
    {
        var r = new System.Random(22);
        foreach (var shape in new[] { new long[] { 4, 3 }, [2, 3, 2, 2] })
        {
            int n = (int)shape.Aggregate(1L, (a, b) => a * b);
            var running = (Mean: T(Rand(r, 3, -1, 1), 3), Var: T(Rand(r, 3, 0.5, 2), 3));
            GradCheck.Assert(a => F.BatchNorm(a[0], null, null, a[1], a[2], training: true),
                [T(Rand(r, n, -2, 2), shape), T(Rand(r, 3, 0.5, 2), 3), T(Rand(r, 3, -1, 1), 3)]);
            GradCheck.Assert(a => F.BatchNorm(a[0], running.Mean, running.Var, a[1], a[2], training: true, momentum: 0.2),
                [T(Rand(r, n, -2, 2), shape), T(Rand(r, 3, 0.5, 2), 3), T(Rand(r, 3, -1, 1), 3)]);
            GradCheck.Assert(a => F.BatchNorm(a[0], running.Mean, running.Var, a[1], a[2], training: false),
                [T(Rand(r, n, -2, 2), shape), T(Rand(r, 3, 0.5, 2), 3), T(Rand(r, 3, -1, 1), 3)]);
        }
    }

    [Fact]
    public void GradCheck_BatchNorm2dLayer()
    {
        var r = new System.Random(23);
        var bn = new BatchNorm2d(2);
        bn.To(DType.Float64);
        GradCheck.Assert(a => bn.Forward(a[0]), [T(Rand(r, 24, -2, 2), 3, 2, 2, 2)]);
    }

    [Fact]
    public void BadInputs_GiveClearErrors()
    {
        var rank = Assert.Throws<ArgumentException>(() => new BatchNorm2d(3).Forward(Tensor.Zeros(2, 3)));
        Assert.Contains("[2, 3]", rank.Message);
        var channels = Assert.Throws<ArgumentException>(() => new BatchNorm1d(3).Forward(Tensor.Zeros(2, 4)));
        Assert.Contains("3 channels", channels.Message);
        Assert.Throws<ArgumentException>(() => new BatchNorm1d(3).Forward(Tensor.Zeros(1, 3)));
        Assert.Throws<ArgumentException>(() => F.BatchNorm(Tensor.Zeros(2, 3), null, null, training: false));
        var weight = Assert.Throws<ArgumentException>(() => F.BatchNorm(Tensor.Zeros(2, 3), null, null, weight: Tensor.Ones(4), training: true));
        Assert.Contains("[3]", weight.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNorm1d(0));
    }

    [Fact]
    public void ToString_ShowsTheOptions()
    {
        Assert.Equal("BatchNorm2d(numFeatures: 16, eps: 1E-05, momentum: 0.1, affine: True, trackRunningStats: True)", new BatchNorm2d(16).ToString());
    }

    [Fact]
    public void LayerNorm_NormalisesTrailingDimensions_MatchesTheReference_AndPassesGradCheck()
    {
        var r = new System.Random(24);
        var x = Rand(r, 24, -3, 3);
        var ln = new LayerNorm([3, 4], eps: 1e-5);
        ln.To(DType.Float64);
        using (Tensor.NoGrad())
        {
            ln.Weight!.Copy_(T(Rand(r, 12, 0.5, 2), 3, 4));
            ln.Bias!.Copy_(T(Rand(r, 12, -1, 1), 3, 4));
        }
        var y = ln.Forward(T(x, 2, 3, 4)).ToArray<double>();
        double[] w = ln.Weight!.ToArray<double>(), b = ln.Bias!.ToArray<double>();
        for (int s = 0; s < 2; s++)
        {
            var row = x.Skip(s * 12).Take(12).ToArray();
            double mean = row.Average(), var = row.Select(v => (v - mean) * (v - mean)).Average();
            for (int i = 0; i < 12; i++)
                Close((row[i] - mean) / Math.Sqrt(var + 1e-5) * w[i] + b[i], y[s * 12 + i]);
        }
        GradCheck.Assert(a => F.LayerNorm(a[0], [4], a[1], a[2]), [T(Rand(r, 12, -2, 2), 3, 4), T(Rand(r, 4, 0.5, 2), 4), T(Rand(r, 4, -1, 1), 4)]);
        var e = Assert.Throws<ArgumentException>(() => ln.Forward(Tensor.Zeros(2, 4, 3)));
        Assert.Contains("[2, 4, 3]", e.Message);
    }
}

public sealed class GroupNormTests
{
    static Tensor T(double[] data, params long[] shape) => Tensor.FromArray(data, shape);

    static double[] Rand(System.Random r, int n, double lo, double hi) => Enumerable.Range(0, n).Select(_ => lo + (hi - lo) * r.NextDouble()).ToArray();

    [Fact]
    public void Normalises_each_group_of_each_sample_and_matches_the_reference()
    {
        var r = new System.Random(31);
        var x = Rand(r, 2 * 4 * 3, -3, 3); // [N=2, C=4, L=3], 2 groups of 2 channels
        var gn = new GroupNorm(2, 4);
        gn.To(DType.Float64);
        var w = Rand(r, 4, 0.5, 2);
        var b = Rand(r, 4, -1, 1);
        using (Tensor.NoGrad())
        {
            gn.Weight!.Copy_(T(w, 4));
            gn.Bias!.Copy_(T(b, 4));
        }
        var y = gn.Forward(T(x, 2, 4, 3)).ToArray<double>();
        for (int n = 0; n < 2; n++)
            for (int g = 0; g < 2; g++)
            {
                var idx = Enumerable.Range(0, 6).Select(i => n * 12 + g * 6 + i).ToArray();
                double mean = idx.Average(i => x[i]), var = idx.Average(i => (x[i] - mean) * (x[i] - mean));
                foreach (var i in idx)
                {
                    int c = (i % 12) / 3;
                    double expected = (x[i] - mean) / Math.Sqrt(var + 1e-5) * w[c] + b[c];
                    Assert.True(Math.Abs(expected - y[i]) < 1e-9, $"element {i}: expected {expected}, got {y[i]}");
                }
            }
    }

    [Fact]
    public void Passes_gradcheck()
    {
        var r = new System.Random(32);
        GradCheck.Assert(a => F.GroupNorm(a[0], 3, a[1], a[2]),
            [T(Rand(r, 2 * 6 * 2 * 2, -2, 2), 2, 6, 2, 2), T(Rand(r, 6, 0.5, 2), 6), T(Rand(r, 6, -1, 1), 6)]);
        GradCheck.Assert(a => F.GroupNorm(a[0], 2, null, null), [T(Rand(r, 3 * 4, -2, 2), 3, 4)]);
    }

    [Fact]
    public void Bad_shapes_give_clear_errors()
    {
        Assert.Throws<ArgumentException>(() => new GroupNorm(3, 4));
        var e = Assert.Throws<ArgumentException>(() => new GroupNorm(2, 4).Forward(Tensor.Zeros(2, 6)));
        Assert.Contains("[2, 6]", e.Message);
        var w = Assert.Throws<ArgumentException>(() => F.GroupNorm(Tensor.Zeros(2, 4), 2, Tensor.Ones(3)));
        Assert.Contains("GroupNorm", w.Message);
        Assert.Equal("GroupNorm(numGroups: 2, numChannels: 4, eps: 1E-05, affine: True)", new GroupNorm(2, 4).ToString());
    }
}
