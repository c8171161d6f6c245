using NeuralCore.Backends;
using NeuralCore.Backends.Cpu;
using NeuralCore.Nn;
using NeuralCore.Testing;
using static NeuralCore.Tests.Nn.ConvReference;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Tests.Nn;

public class PoolingTests
{
    // (n, c, h, w, kernel, stride, padding, ceilMode)
    public static TheoryData<int, int, int, int, int, int, int, bool> Configs => new()
    {
        { 1, 1, 4, 4, 2, 2, 0, false },
        { 3, 2, 7, 9, 2, 2, 0, false },
        { 3, 2, 7, 9, 2, 2, 0, true },
        { 1, 3, 8, 7, 3, 2, 1, false },
        { 3, 2, 9, 10, 3, 3, 1, true },
        { 2, 2, 6, 6, 3, 1, 1, false },
        { 1, 2, 5, 11, 5, 2, 2, true },
        { 3, 1, 5, 5, 1, 1, 0, false },
        { 2, 3, 10, 6, 4, 3, 2, true },
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void MaxPool_MatchesDirectLoops(int n, int c, int h, int w, int k, int s, int p, bool ceil)
    {
        int[] xs = [n, c, h, w];
        var x = Values(40, Count(xs));
        var (expected, expectedIdx) = Pool(x, xs, (k, k), (s, s), (p, p), ceil, max: true, countIncludePad: true, out var ys);
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            var y = F.MaxPool2d(Make(x, xs, dtype), k, s, p, ceil);
            Assert.Equal(ys.Select(v => (long)v), y.Shape.ToArray());
            AssertClose(expected, y.ToArray<double>(), 1e-7, $"MaxPool2d {dtype}");
        }

        // The backend's argmax indices are flat positions in each input plane.
        var input = Make(x, xs, DType.Float64);
        var values = Tensor.Empty(ys, DType.Float64, input.Backend);
        var indices = Tensor.Empty(ys, DType.Int64, input.Backend);
        input.Backend.MaxPool2d(input.Buf, values.Buf, indices.Buf, new Pool2dParams(k, k, s, s, p, p, ceil));
        Assert.Equal(expectedIdx, indices.ToArray<long>());
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void AvgPool_MatchesDirectLoops(int n, int c, int h, int w, int k, int s, int p, bool ceil)
    {
        int[] xs = [n, c, h, w];
        var x = Values(41, Count(xs));
        foreach (bool includePad in new[] { true, false })
        {
            var (expected, _) = Pool(x, xs, (k, k), (s, s), (p, p), ceil, max: false, includePad, out var ys);
            foreach (var dtype in new[] { DType.Float64, DType.Float32 })
            {
                var y = F.AvgPool2d(Make(x, xs, dtype), k, s, p, includePad, ceil);
                Assert.Equal(ys.Select(v => (long)v), y.Shape.ToArray());
                AssertClose(expected, y.ToArray<double>(), dtype == DType.Float64 ? 1e-12 : 1e-6, $"AvgPool2d {dtype} countIncludePad {includePad}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void GradCheck_Pools(int n, int c, int h, int w, int k, int s, int p, bool ceil)
    {
        if (n * c * h * w > 150) (n, c) = (1, 1); // keep the Jacobians small
        var x = Make(Values(42, n * c * h * w), [n, c, h, w], DType.Float64);
        GradCheck.Assert(t => F.MaxPool2d(t[0], k, s, p, ceil), [x]);
        GradCheck.Assert(t => F.AvgPool2d(t[0], k, s, p, countIncludePad: true, ceilMode: ceil), [x]);
        GradCheck.Assert(t => F.AvgPool2d(t[0], k, s, p, countIncludePad: false, ceilMode: ceil), [x]);
    }

    [Fact]
    public void GradCheck_PoolBackwardOpsAreDifferentiable()
    {
        var p = new Pool2dParams(3, 2, 2, 2, 1, 1, CeilMode: true, CountIncludePad: false);
        var x = Make(Values(43, 2 * 2 * 5 * 6), [2, 2, 5, 6], DType.Float64);
        var pooled = ConvOps.MaxPool2d(x, p);
        var gy = Make(Values(44, (int)pooled.NumElements), Array.ConvertAll(pooled.Shape.ToArray(), v => (int)v), DType.Float64);
        var indices = Tensor.Empty(Array.ConvertAll(pooled.Shape.ToArray(), v => (int)v), DType.Int64, x.Backend);
        var scratch = Tensor.Empty(Array.ConvertAll(pooled.Shape.ToArray(), v => (int)v), DType.Float64, x.Backend);
        x.Backend.MaxPool2d(x.Buf, scratch.Buf, indices.Buf, p);
        GradCheck.Assert(t => ConvOps.MaxPool2dBackward(t[0], indices, 5, 6, p), [gy]);
        GradCheck.Assert(t => ConvOps.AvgPool2dBackward(t[0], 5, 6, p), [gy]);
    }

    [Theory]
    [InlineData(2, 3, 28, 28, false)]
    [InlineData(1, 2, 10, 10, false)]
    [InlineData(2, 1, 9, 17, false)]
    [InlineData(2, 1, 9, 17, true)]
    [InlineData(1, 2, 5, 31, true)]
    [InlineData(1, 1, 3, 7, false)]
    public void MaxPool2x2_Float32MatchesReferenceWithNaNTiesAndInfinities(int n, int c, int h, int w, bool ceil)
    {
        // Float32 2×2 stride-2 windows take a vectorised path; values and argmax indices must match the
        // reference exactly, including NaN (the last NaN of a window wins), ties (the first wins) and −∞.
        int[] xs = [n, c, h, w];
        var x = Values(42, Count(xs));
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = Math.Round(x[i] * 4) / 4;   // many ties
            if (i % 13 == 5) x[i] = double.NaN;
            else if (i % 17 == 3) x[i] = double.NegativeInfinity;
            else if (i % 29 == 7) x[i] = double.PositiveInfinity;
        }
        for (int i = 0; i + 3 < x.Length; i += 53) x[i] = x[i + 1] = x[i + 2] = x[i + 3] = double.NegativeInfinity;
        var (expected, expectedIdx) = Pool(x, xs, (2, 2), (2, 2), (0, 0), ceil, max: true, countIncludePad: true, out var ys);
        var input = Make(x, xs, DType.Float32);
        var values = Tensor.Empty(ys, DType.Float32, input.Backend);
        var indices = Tensor.Empty(ys, DType.Int64, input.Backend);
        input.Backend.MaxPool2d(input.Buf, values.Buf, indices.Buf, new Pool2dParams(2, 2, 2, 2, 0, 0, ceil));
        Assert.Equal(expectedIdx, indices.ToArray<long>());
        var withIndices = values.ToArray<float>();
        // Passes that record no gradient skip the indices (values-only kernel); both must match the reference.
        Assert.False(input.RequiresGrad);
        var valuesOnly = F.MaxPool2d(input, 2, 2, 0, ceil).ToArray<float>();
        foreach (var got in new[] { withIndices, valuesOnly })
            for (int i = 0; i < got.Length; i++)
                Assert.True(double.IsNaN(expected[i]) ? float.IsNaN(got[i]) : got[i] == (float)expected[i], $"output {i}: expected {expected[i]}, got {got[i]}");
    }

    [Fact]
    public void MaxPool_RecordsIndicesOnlyWhenAGradientIsNeeded()
    {
        var x = Make(Values(43, 2 * 3 * 8 * 8), [2, 3, 8, 8], DType.Float32);
        var plain = F.MaxPool2d(x, 2);
        Assert.Null(plain.GradFn);
        var leaf = x.Detach().RequiresGrad_();
        using (Tensor.NoGrad()) Assert.Null(F.MaxPool2d(leaf, 2).GradFn);
        var tracked = F.MaxPool2d(leaf, 2);
        Assert.NotNull(tracked.GradFn);
        Assert.Equal(plain.ToArray<float>(), tracked.ToArray<float>());
        tracked.Sum().Backward();
        Assert.Equal(2 * 3 * 4 * 4, leaf.Grad!.ToArray<float>().Count(v => v == 1));
    }

    [Fact]
    public void MaxPool_PropagatesNaNAndPicksTheFirstOfTies()
    {
        var x = Tensor.FromArray(new[] { 1f, float.NaN, 3f, 3f, 2f, 2f, 5f, 0f }, 1, 1, 2, 4);
        Assert.Equal(new[] { float.NaN, 5f }, F.MaxPool2d(x, 2).ToArray<float>());
        var ties = Tensor.FromArray(new[] { 4.0, 4, 4, 4 }, 1, 1, 2, 2).RequiresGrad_();
        F.MaxPool2d(ties, 2).Sum().Backward();
        Assert.Equal(new[] { 1.0, 0, 0, 0 }, ties.Grad!.ToArray<double>());
    }

    [Fact]
    public void Pools_ReadNonContiguousAndUnbatchedInputs()
    {
        int[] xs = [2, 3, 6, 8];
        var x = Values(45, Count(xs));
        var view = Make(x, xs, DType.Float32).Permute(0, 2, 3, 1).Contiguous().Permute(0, 3, 1, 2);
        Assert.False(view.IsContiguous);
        var (maxExpected, _) = Pool(x, xs, (2, 2), (2, 2), (0, 0), false, true, true, out _);
        var (avgExpected, _) = Pool(x, xs, (3, 3), (2, 2), (1, 1), false, false, true, out _);
        AssertClose(maxExpected, F.MaxPool2d(view, 2).ToArray<double>(), 1e-7, "MaxPool2d view");
        AssertClose(avgExpected, F.AvgPool2d(view, 3, 2, 1).ToArray<double>(), 1e-6, "AvgPool2d view");

        var single = Make(x, xs, DType.Float64).Select(0, 1);
        Assert.Equal(new long[] { 3, 3, 4 }, F.MaxPool2d(single, 2).Shape.ToArray());
        Assert.Equal(F.AvgPool2d(single.Unsqueeze(0), 2).Squeeze(0).ToArray<double>(), F.AvgPool2d(single, 2).ToArray<double>());
    }

    [Fact]
    public void Pools_AreBitIdenticalForAnyThreadCount()
    {
        var x = Make(Values(46, 100 * 6 * 28 * 28), [100, 6, 28, 28], DType.Float32);
        int previous = CpuParallel.MaxDegreeOfParallelism;
        try
        {
            float[]? first = null;
            foreach (int threads in new[] { 1, 2, 3 })
            {
                CpuParallel.MaxDegreeOfParallelism = threads;
                var xi = x.Detach().RequiresGrad_();
                var y = F.MaxPool2d(xi, 2) * 2 + F.AvgPool2d(xi, 3, 2, 1, countIncludePad: false);
                y.Sum().Backward();
                var result = y.ToArray<float>().Concat(xi.Grad!.ToArray<float>()).ToArray();
                if (first is null) first = result;
                else Assert.Equal(first, result);
            }
        }
        finally
        {
            CpuParallel.MaxDegreeOfParallelism = previous;
        }
    }

    public static TheoryData<int, int, int, int> AdaptiveConfigs => new()
    {
        { 8, 8, 4, 4 },   // equal bins
        { 7, 9, 3, 4 },   // overlapping bins
        { 5, 6, 1, 1 },   // global average
        { 3, 4, 5, 7 },   // output larger than input
        { 10, 10, 3, 5 },
    };

    [Theory]
    [MemberData(nameof(AdaptiveConfigs))]
    public void AdaptiveAvgPool_MatchesPyTorchBins(int h, int w, int oh, int ow)
    {
        int[] xs = [2, 3, h, w];
        var x = Values(47, Count(xs));
        var expected = new double[2 * 3 * oh * ow];
        for (int pl = 0; pl < 6; pl++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    int y0 = (int)Math.Floor((double)i * h / oh), y1 = (int)Math.Ceiling((double)(i + 1) * h / oh);
                    int x0 = (int)Math.Floor((double)j * w / ow), x1 = (int)Math.Ceiling((double)(j + 1) * w / ow);
                    double sum = 0;
                    for (int yy = y0; yy < y1; yy++)
                        for (int xx = x0; xx < x1; xx++) sum += x[(pl * h + yy) * w + xx];
                    expected[(pl * oh + i) * ow + j] = sum / ((y1 - y0) * (x1 - x0));
                }
        var y = F.AdaptiveAvgPool2d(Make(x, xs, DType.Float64), (oh, ow));
        Assert.Equal(new long[] { 2, 3, oh, ow }, y.Shape.ToArray());
        AssertClose(expected, y.ToArray<double>(), 1e-12, "AdaptiveAvgPool2d");
        var small = Make(Values(48, h * w), [1, 1, h, w], DType.Float64);
        GradCheck.Assert(t => F.AdaptiveAvgPool2d(t[0], (oh, ow)), [small]);
        var layer = new AdaptiveAvgPool2d((oh, ow));
        Assert.Equal(y.ToArray<double>(), layer.Forward(Make(x, xs, DType.Float64)).ToArray<double>());
    }

    [Fact]
    public void Errors_NameTheOpAndShapes()
    {
        var x = Tensor.Zeros(1, 1, 4, 4);
        var e = Assert.Throws<ArgumentException>(() => F.MaxPool2d(x, 2, padding: 2));
        Assert.Contains("MaxPool2d", e.Message);
        Assert.Contains("half the kernel", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.AvgPool2d(Tensor.Zeros(1, 1, 2, 2), 3));
        Assert.Contains("[1, 1, 2, 2] is too small", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.MaxPool2d(Tensor.Zeros(4, 4), 2));
        Assert.Contains("[4, 4]", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.MaxPool2d(Tensor.Zeros([1, 1, 4, 4], DType.Int64), 2));
        Assert.Contains("Int64", e.Message);
        Assert.Throws<ArgumentException>(() => F.MaxPool2d(x, 0));
        Assert.Throws<ArgumentException>(() => F.AvgPool2d(x, 2, stride: 0));
        Assert.Throws<ArgumentException>(() => F.AdaptiveAvgPool2d(x, 0));
        Assert.Throws<ArgumentException>(() => new MaxPool2d(3, padding: 2));
    }

    [Fact]
    public void Layers_DescribeThemselvesAndCallFunctional()
    {
        var x = Tensor.Randn(2, 3, 9, 9);
        var max = new MaxPool2d(2, 2);
        Assert.Equal("MaxPool2d(kernelSize: 2, stride: 2, padding: 0, ceilMode: False)", max.ToString());
        Assert.Equal(F.MaxPool2d(x, 2).ToArray<float>(), max.Forward(x).ToArray<float>());
        Assert.Empty(max.Parameters());
        var avg = new AvgPool2d((3, 2), (2, 1), (1, 0), countIncludePad: false, ceilMode: true);
        Assert.Equal("AvgPool2d(kernelSize: (3, 2), stride: (2, 1), padding: (1, 0), countIncludePad: False, ceilMode: True)", avg.ToString());
        Assert.Equal(F.AvgPool2d(x, (3, 2), (2, 1), (1, 0), false, true).ToArray<float>(), avg.Forward(x).ToArray<float>());
        Assert.Equal(new long[] { 2, 3, 5, 8 }, avg.Forward(x).Shape.ToArray());
        Assert.Equal("AdaptiveAvgPool2d(outputSize: 5)", new AdaptiveAvgPool2d(5).ToString());
    }
}
