using NeuralCore.Nn;
using NeuralCore.Testing;
using static NeuralCore.Tests.Nn.ConvReference;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Tests.Nn;

public class Conv1dTests
{
    // y[n, o, l] = b[o] + Σ_{c in o's group, k} x[n, c, l·stride − padding + k·dilation] · w[o, c − group start, k]
    static double[] Reference(double[] x, int n, int c, int length, double[] w, int o, int k, double[]? b, int stride, int padding, int dilation,
        int groups, out int outLength)
    {
        int ol = (length + 2 * padding - dilation * (k - 1) - 1) / stride + 1;
        outLength = ol;
        int cg = c / groups, og = o / groups;
        var y = new double[n * o * ol];
        for (int ni = 0; ni < n; ni++)
            for (int oi = 0; oi < o; oi++)
                for (int li = 0; li < ol; li++)
                {
                    double s = b?[oi] ?? 0;
                    int g = oi / og;
                    for (int ci = 0; ci < cg; ci++)
                        for (int ki = 0; ki < k; ki++)
                        {
                            int pos = li * stride - padding + ki * dilation;
                            if (pos < 0 || pos >= length) continue;
                            s += x[(ni * c + g * cg + ci) * length + pos] * w[(oi * cg + ci) * k + ki];
                        }
                    y[(ni * o + oi) * ol + li] = s;
                }
        return y;
    }

    // (n, c, length, o, k, stride, padding, dilation, groups)
    public static TheoryData<int, int, int, int, int, int, int, int, int> Configs => new()
    {
        { 1, 1, 7, 1, 3, 1, 0, 1, 1 },
        { 2, 3, 10, 4, 3, 2, 1, 1, 1 },
        { 3, 4, 9, 6, 2, 1, 2, 3, 2 },
        { 2, 4, 8, 4, 3, 1, 1, 2, 4 },    // depthwise, dilated
        { 1, 2, 5, 3, 5, 3, 0, 1, 1 },    // kernel spans the input
        { 2, 3, 6, 2, 1, 2, 1, 1, 1 },    // pointwise with stride and padding
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void Forward_MatchesDirectLoops(int n, int c, int length, int o, int k, int stride, int padding, int dilation, int groups)
    {
        var x = Values(1, n * c * length);
        var w = Values(2, o * (c / groups) * k);
        var b = Values(3, o);
        var expected = Reference(x, n, c, length, w, o, k, b, stride, padding, dilation, groups, out int ol);
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            var y = F.Conv1d(Make(x, [n, c, length], dtype), Make(w, [o, c / groups, k], dtype), Make(b, [o], dtype), stride, padding, dilation, groups);
            Assert.Equal(new Shape(n, o, ol), y.Shape);
            var actual = y.ToArray<double>();
            double tol = dtype == DType.Float64 ? 1e-12 : 1e-5;
            for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= tol, $"{dtype} element {i}: {expected[i]} vs {actual[i]}");
        }
        // Unbatched input, no bias.
        var single = F.Conv1d(Make(x, [n, c, length], DType.Float64)[0], Make(w, [o, c / groups, k], DType.Float64), null, stride, padding, dilation, groups);
        var expectedSingle = Reference(x.AsSpan(0, c * length).ToArray(), 1, c, length, w, o, k, null, stride, padding, dilation, groups, out _);
        Assert.Equal(new Shape(o, ol), single.Shape);
        var got = single.ToArray<double>();
        for (int i = 0; i < expectedSingle.Length; i++) Assert.True(Math.Abs(expectedSingle[i] - got[i]) <= 1e-12);
    }

    [Theory]
    [InlineData(1, 0, 1, 1)]
    [InlineData(2, 1, 1, 1)]
    [InlineData(1, 2, 2, 2)]
    public void GradCheck_InputWeightAndBias(int stride, int padding, int dilation, int groups)
    {
        var x = Make(Values(4, 2 * 4 * 7), [2, 4, 7], DType.Float64).RequiresGrad_();
        var w = Make(Values(5, 6 * (4 / groups) * 3), [6, 4 / groups, 3], DType.Float64).RequiresGrad_();
        var b = Make(Values(6, 6), [6], DType.Float64).RequiresGrad_();
        GradCheck.Assert(t => F.Conv1d(t[0], t[1], t[2], stride, padding, dilation, groups), [x, w, b]);
        // A non-contiguous input (a transposed view) takes the same path.
        var xt = Make(Values(7, 2 * 7 * 4), [2, 7, 4], DType.Float64).RequiresGrad_();
        GradCheck.Assert(t => F.Conv1d(t[0].Transpose(1, 2), t[1], null, stride, padding, dilation, groups), [xt, w]);
    }

    [Fact]
    public void Layer_HasPyTorchLayoutAndInitBound()
    {
        var conv = new Conv1d(4, 6, 5, stride: 2, padding: 1, groups: 2);
        Assert.Equal(new Shape(6, 2, 5), conv.Weight.Shape);
        Assert.Equal(new Shape(6), conv.Bias!.Shape);
        double bound = 1 / Math.Sqrt(2 * 5);
        Assert.True(conv.Weight.Abs().Max().Item<float>() <= bound);
        Assert.Equal(new Shape(3, 6, 4), conv.Forward(Tensor.Randn(3, 4, 9)).Shape);
        Assert.Equal("Conv1d(4, 6, kernelSize: 5, stride: 2, padding: 1, groups: 2)", conv.ToString());
    }

    [Fact]
    public void BadInputs_GetClearErrors()
    {
        var e = Assert.Throws<ArgumentException>(() => F.Conv1d(Tensor.Zeros(2, 3, 5), Tensor.Zeros(4, 2, 3)));
        Assert.Contains("[2, 3, 5]", e.Message);
        Assert.Contains("[4, 2, 3]", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.Conv1d(Tensor.Zeros(1, 2, 3), Tensor.Zeros(4, 2, 5)));
        Assert.Contains("longer than the padded input", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.Conv1d(Tensor.Zeros(1, 2, 3, 3), Tensor.Zeros(4, 2, 1)));
        Assert.Contains("Conv1d", e.Message);
        Assert.Throws<ArgumentException>(() => F.Conv1d(Tensor.Zeros(1, 2, 6), Tensor.Zeros(4, 2, 1), stride: 0));
        Assert.Throws<ArgumentException>(() => new Conv1d(3, 4, 3, groups: 2));
    }
}
