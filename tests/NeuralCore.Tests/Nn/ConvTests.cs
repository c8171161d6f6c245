using NeuralCore.Backends;
using NeuralCore.Backends.Cpu;
using NeuralCore.Nn;
using NeuralCore.Testing;
using static NeuralCore.Tests.Nn.ConvReference;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Tests.Nn;

public class ConvTests
{
    // (n, c, h, w, o, k, stride, padding, dilation, groups)
    public static TheoryData<int, int, int, int, int, int, int, int, int, int> Configs => new()
    {
        { 1, 1, 5, 5, 1, 3, 1, 0, 1, 1 },
        { 3, 3, 7, 9, 4, 3, 1, 1, 1, 1 },
        { 3, 3, 8, 8, 6, 5, 1, 2, 1, 1 },
        { 1, 2, 9, 7, 4, 3, 2, 0, 1, 2 },
        { 3, 6, 11, 10, 6, 3, 2, 1, 1, 3 },
        { 3, 4, 9, 9, 4, 3, 1, 1, 2, 4 },    // depthwise, dilated
        { 1, 4, 13, 11, 8, 3, 3, 2, 2, 2 },
        { 3, 5, 6, 6, 7, 1, 1, 0, 1, 1 },    // 1x1 (pointwise shortcut)
        { 3, 6, 6, 5, 9, 1, 2, 1, 1, 3 },    // 1x1 with stride and padding
        { 3, 3, 5, 5, 2, 5, 1, 0, 1, 1 },    // kernel equals input
        { 1, 3, 4, 4, 3, 4, 1, 2, 2, 3 },    // dilated kernel larger than input, fits with padding
        { 3, 2, 1, 9, 3, 1, 3, 0, 1, 1 },
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void Forward_MatchesDirectLoops(int n, int c, int h, int w, int o, int k, int stride, int padding, int dilation, int groups)
    {
        int[] xs = [n, c, h, w], ws = [o, c / groups, k, k];
        var x = Values(1, Count(xs));
        var wt = Values(2, Count(ws));
        var b = Values(3, o);
        var expected = Conv(x, xs, wt, ws, b, (stride, stride), (padding, padding), (dilation, dilation), groups, out var ys);
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            var y = F.Conv2d(Make(x, xs, dtype), Make(wt, ws, dtype), Make(b, [o], dtype), stride, padding, dilation, groups);
            Assert.Equal(ys.Select(v => (long)v), y.Shape.ToArray());
            Assert.Equal(dtype, y.DType);
            AssertClose(expected, y.ToArray<double>(), dtype == DType.Float64 ? 1e-12 : 1e-5, $"Conv2d {dtype}");
        }
    }

    [Fact]
    public void Forward_TupleParametersDifferPerAxis()
    {
        int[] xs = [2, 4, 9, 12], ws = [6, 2, 3, 2];
        var x = Values(4, Count(xs));
        var wt = Values(5, Count(ws));
        var expected = Conv(x, xs, wt, ws, null, (1, 2), (2, 0), (2, 1), 2, out var ys);
        var y = F.Conv2d(Make(x, xs, DType.Float64), Make(wt, ws, DType.Float64), null, stride: (1, 2), padding: (2, 0), dilation: (2, 1), groups: 2);
        Assert.Equal(ys.Select(v => (long)v), y.Shape.ToArray());
        AssertClose(expected, y.ToArray<double>(), 1e-12, "Conv2d tuple");
    }

    [Fact]
    public void Forward_ReadsNonContiguousViewsCorrectly()
    {
        // The input is an NHWC tensor permuted to NCHW, the weight a transposed view: both non-contiguous.
        int[] xs = [3, 4, 7, 6], ws = [5, 4, 3, 3];
        var x = Values(6, Count(xs));
        var wt = Values(7, Count(ws));
        var expected = Conv(x, xs, wt, ws, null, (2, 2), (1, 1), (1, 1), 1, out _);
        var nhwc = Make(x, xs, DType.Float32).Permute(0, 2, 3, 1).Contiguous();
        var xView = nhwc.Permute(0, 3, 1, 2);
        var wView = Make(wt, ws, DType.Float32).Transpose(2, 3).Contiguous().Transpose(2, 3);
        Assert.False(xView.IsContiguous);
        Assert.False(wView.IsContiguous);
        var y = F.Conv2d(xView, wView, stride: 2, padding: 1);
        AssertClose(expected, y.ToArray<double>(), 1e-5, "Conv2d non-contiguous");

        // A batch slice with an offset into its storage.
        var big = Make(Values(8, 5 * 4 * 7 * 6), [5, 4, 7, 6], DType.Float64);
        var slice = big.Narrow(0, 2, 3);
        var sliceExpected = Conv(slice.ToArray<double>(), xs, wt, ws, null, (1, 1), (0, 0), (1, 1), 1, out _);
        AssertClose(sliceExpected, F.Conv2d(slice, Make(wt, ws, DType.Float64)).ToArray<double>(), 1e-12, "Conv2d offset view");
    }

    [Fact]
    public void Forward_AcceptsUnbatchedInput()
    {
        var x = Make(Values(9, 3 * 6 * 6), [3, 6, 6], DType.Float64);
        var w = Make(Values(10, 2 * 3 * 3 * 3), [2, 3, 3, 3], DType.Float64);
        var b = Make(Values(11, 2), [2], DType.Float64);
        var y = F.Conv2d(x, w, b, padding: 1);
        Assert.Equal(new long[] { 2, 6, 6 }, y.Shape.ToArray());
        Assert.Equal(F.Conv2d(x.Unsqueeze(0), w, b, padding: 1).Squeeze(0).ToArray<double>(), y.ToArray<double>());
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Backward_MatchesDirectLoopAdjoint(int n, int c, int h, int w, int o, int k, int stride, int padding, int dilation, int groups)
    {
        int[] xs = [n, c, h, w], ws = [o, c / groups, k, k];
        var xv = Values(12, Count(xs));
        var wv = Values(13, Count(ws));
        Conv(xv, xs, wv, ws, null, (stride, stride), (padding, padding), (dilation, dilation), groups, out var ys);
        var gy = Values(14, Count(ys));
        var (dx, dw) = ConvGrads(xv, xs, wv, ws, gy, (stride, stride), (padding, padding), (dilation, dilation), groups);
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            var x = Make(xv, xs, dtype).RequiresGrad_();
            var wt = Make(wv, ws, dtype).RequiresGrad_();
            F.Conv2d(x, wt, null, stride, padding, dilation, groups).Backward(Make(gy, ys, dtype));
            double tol = dtype == DType.Float64 ? 1e-12 : 1e-5;
            AssertClose(dx, x.Grad!.ToArray<double>(), tol, $"dX {dtype}");
            AssertClose(dw, wt.Grad!.ToArray<double>(), tol, $"dW {dtype}");
        }
    }

    [Fact]
    public void Backward_WeightGradientOverLargeBatchMatchesReference()
    {
        // 21 images: the weight gradient is split into chunks whose partial sums are reduced in order.
        int[] xs = [21, 3, 10, 10], ws = [4, 3, 3, 3];
        var xv = Values(15, Count(xs));
        var wv = Values(16, Count(ws));
        Conv(xv, xs, wv, ws, null, (1, 1), (1, 1), (1, 1), 1, out var ys);
        var gy = Values(17, Count(ys));
        var (dx, dw) = ConvGrads(xv, xs, wv, ws, gy, (1, 1), (1, 1), (1, 1), 1);
        var x = Make(xv, xs, DType.Float64).RequiresGrad_();
        var w = Make(wv, ws, DType.Float64).RequiresGrad_();
        F.Conv2d(x, w, padding: 1).Backward(Make(gy, ys, DType.Float64));
        AssertClose(dx, x.Grad!.ToArray<double>(), 1e-12, "dX");
        AssertClose(dw, w.Grad!.ToArray<double>(), 1e-12, "dW");
    }

    public static TheoryData<int, int, int, int> GradConfigs => new()
    {
        // stride, padding, dilation, groups (input [2, 4, 5, 6], weight [4, 4/groups, 3, 2])
        { 1, 0, 1, 1 },
        { 2, 1, 1, 2 },
        { 1, 1, 2, 4 },
        { 3, 1, 1, 1 },
    };

    [Theory]
    [MemberData(nameof(GradConfigs))]
    public void GradCheck_InputWeightAndBias(int stride, int padding, int dilation, int groups)
    {
        var x = Make(Values(20, 2 * 4 * 5 * 6), [2, 4, 5, 6], DType.Float64);
        var w = Make(Values(21, 4 * (4 / groups) * 3 * 2), [4, 4 / groups, 3, 2], DType.Float64);
        var b = Make(Values(22, 4), [4], DType.Float64);
        GradCheck.Assert(t => F.Conv2d(t[0], t[1], t[2], stride, padding, dilation, groups), [x, w, b]);
    }

    [Fact]
    public void GradCheck_BackwardKernelsAreDifferentiable()
    {
        // The input- and weight-gradient ops have rules of their own (double backward).
        var p = new Conv2dParams(2, 1, 1, 0, 1, 2, 2);
        var x = Make(Values(23, 2 * 4 * 5 * 6), [2, 4, 5, 6], DType.Float64);
        var w = Make(Values(24, 2 * 2 * 3 * 2), [2, 2, 3, 2], DType.Float64);
        var y = ConvOps.Conv2d(x, w, p);
        var gy = Make(Values(25, (int)y.NumElements), Array.ConvertAll(y.Shape.ToArray(), s => (int)s), DType.Float64);
        GradCheck.Assert(t => ConvOps.Conv2dBackwardInput(t[0], t[1], 5, 6, p), [gy, w]);
        GradCheck.Assert(t => ConvOps.Conv2dBackwardWeight(t[0], t[1], 3, 2, p), [x, gy]);
    }

    [Fact]
    public void Results_AreBitIdenticalForAnyThreadCount()
    {
        var x = Make(Values(30, 100 * 3 * 32 * 32), [100, 3, 32, 32], DType.Float32);
        var w = Make(Values(31, 6 * 3 * 5 * 5, 0.2), [6, 3, 5, 5], DType.Float32);
        var gy = Make(Values(32, 100 * 6 * 28 * 28), [100, 6, 28, 28], DType.Float32);
        int previous = CpuParallel.MaxDegreeOfParallelism;
        try
        {
            float[]? y1 = null, dx1 = null, dw1 = null;
            foreach (int threads in new[] { 1, 2, 3 })
            {
                CpuParallel.MaxDegreeOfParallelism = threads;
                var xi = x.Detach().RequiresGrad_();
                var wi = w.Detach().RequiresGrad_();
                var y = F.Conv2d(xi, wi);
                y.Backward(gy);
                var (yv, dx, dw) = (y.ToArray<float>(), xi.Grad!.ToArray<float>(), wi.Grad!.ToArray<float>());
                if (y1 is null) (y1, dx1, dw1) = (yv, dx, dw);
                else
                {
                    Assert.Equal(y1, yv);
                    Assert.Equal(dx1, dx);
                    Assert.Equal(dw1, dw);
                }
            }
        }
        finally
        {
            CpuParallel.MaxDegreeOfParallelism = previous;
        }
    }

    // (n, c, h, w, o, k, padding, dilation, groups): unit-stride float32 shapes for the direct kernels, with
    // channel counts for both register blocks (4 and 6 channels), odd widths, padding, dilation and groups, and
    // batches long enough for several weight-gradient sub-batches per chunk.
    public static TheoryData<int, int, int, int, int, int, int, int, int> DirectConfigs => new()
    {
        { 13, 3, 32, 32, 6, 5, 0, 1, 1 },   // LeNet conv1
        { 11, 6, 14, 14, 16, 5, 0, 1, 1 },  // LeNet conv2
        { 9, 5, 13, 17, 5, 3, 1, 1, 1 },
        { 7, 6, 12, 9, 12, 3, 2, 2, 1 },
        { 5, 10, 11, 23, 6, 3, 1, 1, 2 },
        { 3, 7, 6, 29, 11, 2, 0, 3, 1 },
        { 2, 6, 8, 8, 6, 1, 1, 1, 1 },      // 1×1 with padding (not pointwise)
    };

    [Theory]
    [MemberData(nameof(DirectConfigs))]
    public void UnitStrideFloat32_MatchesReference(int n, int c, int h, int w, int o, int k, int padding, int dilation, int groups)
    {
        // widest kernels the hardware has, then the 256-bit ones (the vector cap is per thread and travels
        // with the plan to the workers)
        UnitStrideFloat32(n, c, h, w, o, k, padding, dilation, groups);
        int previous = CpuGemm.MaxVectorBits;
        try
        {
            CpuGemm.MaxVectorBits = 256;
            UnitStrideFloat32(n, c, h, w, o, k, padding, dilation, groups);
        }
        finally
        {
            CpuGemm.MaxVectorBits = previous;
        }
    }

    static void UnitStrideFloat32(int n, int c, int h, int w, int o, int k, int padding, int dilation, int groups)
    {
        int[] xs = [n, c, h, w], ws = [o, c / groups, k, k];
        var xv = Values(70, Count(xs));
        var wv = Values(71, Count(ws));
        var bv = Values(72, o);
        var expected = Conv(xv, xs, wv, ws, bv, (1, 1), (padding, padding), (dilation, dilation), groups, out var ys);
        var gy = Values(73, Count(ys));
        var (dx, dw) = ConvGrads(xv, xs, wv, ws, gy, (1, 1), (padding, padding), (dilation, dilation), groups);
        var x = Make(xv, xs, DType.Float32).RequiresGrad_();
        var wt = Make(wv, ws, DType.Float32).RequiresGrad_();
        var y = F.Conv2d(x, wt, Make(bv, [o], DType.Float32), 1, padding, dilation, groups);
        AssertClose(expected, y.ToArray<double>(), 1e-5, "y");
        y.Backward(Make(gy, ys, DType.Float32));
        AssertClose(dx, x.Grad!.ToArray<double>(), 1e-5, "dX");
        AssertClose(dw, wt.Grad!.ToArray<double>(), 2e-5, "dW");
    }

    [Theory]
    [InlineData(1, 1, 1)]   // unit stride: the direct float32 kernels, bias added while writing the output
    [InlineData(2, 0, 1)]   // im2col + GEMM, bias added per image
    [InlineData(1, 2, 2)]   // direct, padded input, grouped
    public void Bias_ForwardAndGradientsMatchReference(int stride, int padding, int groups)
    {
        int[] xs = [3, 4, 9, 11], ws = [6, 4 / groups, 3, 3];
        var xv = Values(50, Count(xs));
        var wv = Values(51, Count(ws));
        var bv = Values(52, 6);
        var expected = Conv(xv, xs, wv, ws, bv, (stride, stride), (padding, padding), (1, 1), groups, out var ys);
        var gy = Values(53, Count(ys));
        var (dx, dw) = ConvGrads(xv, xs, wv, ws, gy, (stride, stride), (padding, padding), (1, 1), groups);
        var db = new double[6];
        int l = ys[2] * ys[3];
        for (int i = 0; i < gy.Length; i++) db[i / l % 6] += gy[i];
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            var x = Make(xv, xs, dtype).RequiresGrad_();
            var w = Make(wv, ws, dtype).RequiresGrad_();
            var b = Make(bv, [6], dtype).RequiresGrad_();
            var y = F.Conv2d(x, w, b, stride, padding, 1, groups);
            double tol = dtype == DType.Float64 ? 1e-12 : 1e-5;
            AssertClose(expected, y.ToArray<double>(), tol, $"y {dtype}");
            y.Backward(Make(gy, ys, dtype));
            AssertClose(dx, x.Grad!.ToArray<double>(), tol, $"dX {dtype}");
            AssertClose(dw, w.Grad!.ToArray<double>(), tol, $"dW {dtype}");
            AssertClose(db, b.Grad!.ToArray<double>(), tol, $"dB {dtype}");
        }
    }

    [Fact]
    public void Bias_GradientOpIsDifferentiable()
    {
        var gy = Make(Values(54, 2 * 3 * 4 * 5), [2, 3, 4, 5], DType.Float64);
        GradCheck.Assert(t => ConvOps.Conv2dBiasGrad(t[0]), [gy]);
        // the fused layer itself, all three inputs
        var x = Make(Values(55, 2 * 2 * 5 * 5), [2, 2, 5, 5], DType.Float64);
        var w = Make(Values(56, 3 * 2 * 3 * 3), [3, 2, 3, 3], DType.Float64);
        var b = Make(Values(57, 3), [3], DType.Float64);
        GradCheck.Assert(t => F.Conv2d(t[0], t[1], t[2], padding: 1), [x, w, b]);
    }

    [Fact]
    public void Bias_ResultsAreBitIdenticalForAnyThreadCount()
    {
        var x = Make(Values(60, 37 * 6 * 14 * 14), [37, 6, 14, 14], DType.Float32);
        var w = Make(Values(61, 16 * 6 * 5 * 5, 0.2), [16, 6, 5, 5], DType.Float32);
        var b = Make(Values(62, 16), [16], DType.Float32);
        var gy = Make(Values(63, 37 * 16 * 10 * 10), [37, 16, 10, 10], DType.Float32);
        int previous = CpuParallel.MaxDegreeOfParallelism;
        try
        {
            float[][]? first = null;
            foreach (int threads in new[] { 1, 2, 3 })
            {
                CpuParallel.MaxDegreeOfParallelism = threads;
                var (xi, wi, bi) = (x.Detach().RequiresGrad_(), w.Detach().RequiresGrad_(), b.Detach().RequiresGrad_());
                var y = F.Conv2d(xi, wi, bi);
                y.Backward(gy);
                float[][] got = [y.ToArray<float>(), xi.Grad!.ToArray<float>(), wi.Grad!.ToArray<float>(), bi.Grad!.ToArray<float>()];
                if (first is null) first = got;
                else
                    for (int i = 0; i < got.Length; i++) Assert.Equal(first[i], got[i]);
            }
        }
        finally
        {
            CpuParallel.MaxDegreeOfParallelism = previous;
        }
    }

    [Fact]
    public void LeNetShapes_ForwardAndBackwardSmoke()
    {
        Rng.ManualSeed(7);
        var conv1 = new Conv2d(3, 6, 5);
        var conv2 = new Conv2d(6, 16, 5);
        var pool = new MaxPool2d(2, 2);
        var x = Tensor.Randn(100, 3, 32, 32);
        var h = pool.Forward(F.Relu(conv1.Forward(x)));
        Assert.Equal(new long[] { 100, 6, 14, 14 }, h.Shape.ToArray());
        h = pool.Forward(F.Relu(conv2.Forward(h)));
        Assert.Equal(new long[] { 100, 16, 5, 5 }, h.Shape.ToArray());
        h.Square().Mean().Backward();
        foreach (var (name, p) in conv1.NamedParameters().Concat(conv2.NamedParameters()))
        {
            Assert.Equal(p.Shape, p.Grad!.Shape);
            var g = p.Grad.ToArray<float>();
            Assert.All(g, v => Assert.True(float.IsFinite(v), name));
            Assert.Contains(g, v => v != 0);
        }
    }

    [Fact]
    public void Errors_NameTheOpAndShapes()
    {
        var w = Tensor.Zeros(6, 3, 5, 5);
        var e = Assert.Throws<ArgumentException>(() => F.Conv2d(Tensor.Zeros(100, 4, 32, 32), w));
        Assert.Equal("Conv2d: input [100, 4, 32, 32] has 4 channels but weight [6, 3, 5, 5] expects 3 (groups 1).", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.Conv2d(Tensor.Zeros(1, 3, 4, 4), w));
        Assert.Contains("larger than the padded input (4, 4)", e.Message);
        Assert.Contains("[6, 3, 5, 5]", e.Message);
        Assert.NotNull(F.Conv2d(Tensor.Zeros(1, 3, 4, 4), w, padding: 1)); // 6x6 padded input fits the 5x5 kernel
        e = Assert.Throws<ArgumentException>(() => F.Conv2d(Tensor.Zeros(1, 3, 8, 8), w, Tensor.Zeros(5)));
        Assert.Contains("bias [5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.Conv2d(Tensor.Zeros(1, 6, 8, 8), Tensor.Zeros(5, 3, 3, 3), groups: 2));
        Assert.Contains("groups 2", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.Conv2d(Tensor.Zeros(3, 8, 8, 8, 1), w));
        Assert.Contains("[3, 8, 8, 8, 1]", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.Conv2d(Tensor.Zeros(1, 3, 8, 8).Double(), w));
        Assert.Contains("Float64", e.Message);
        Assert.Throws<ArgumentException>(() => F.Conv2d(Tensor.Zeros(1, 3, 8, 8), w, stride: 0));
        Assert.Throws<ArgumentException>(() => F.Conv2d(Tensor.Zeros(1, 3, 8, 8), w, padding: -1));
        Assert.Throws<ArgumentException>(() => F.Conv2d(Tensor.Zeros(1, 3, 8, 8), w, dilation: 0));
    }

    [Fact]
    public void Layer_HasPyTorchParametersAndInit()
    {
        Rng.ManualSeed(1);
        var conv = new Conv2d(6, 16, 5);
        Assert.Equal(new long[] { 16, 6, 5, 5 }, conv.Weight.Shape.ToArray());
        Assert.Equal(new long[] { 16 }, conv.Bias!.Shape.ToArray());
        Assert.Equal(new[] { "weight", "bias" }, conv.StateDict().Keys);
        double bound = 1 / Math.Sqrt(6 * 5 * 5);
        var wv = conv.Weight.ToArray<float>();
        Assert.All(wv, v => Assert.InRange(v, -bound, bound));
        Assert.True(wv.Max() > bound * 0.9 && wv.Min() < -bound * 0.9, "weights should spread over the whole ±1/√fanIn range");
        Assert.All(conv.Bias.ToArray<float>(), v => Assert.InRange(v, -bound, bound));
        Assert.Equal("Conv2d(6, 16, kernelSize: (5, 5), stride: (1, 1))", conv.ToString());

        var grouped = new Conv2d(6, 9, (3, 1), stride: (2, 1), padding: (1, 0), groups: 3, bias: false);
        Assert.Equal(new long[] { 9, 2, 3, 1 }, grouped.Weight.Shape.ToArray());
        Assert.Null(grouped.Bias);
        Assert.Equal(new[] { "weight" }, grouped.StateDict().Keys);
        Assert.Equal("Conv2d(6, 9, kernelSize: (3, 1), stride: (2, 1), padding: (1, 0), groups: 3, bias: False)", grouped.ToString());
        Assert.Throws<ArgumentException>(() => new Conv2d(6, 8, 3, groups: 4));
    }

    [Fact]
    public void Layer_ForwardIsFunctionalConv2d()
    {
        var conv = new Conv2d(2, 3, 3, stride: 2, padding: 1, dilation: 1);
        var x = Tensor.Randn(2, 2, 7, 7);
        Assert.Equal(F.Conv2d(x, conv.Weight, conv.Bias, stride: 2, padding: 1).ToArray<float>(), conv.Forward(x).ToArray<float>());
        Assert.Equal(new long[] { 2, 3, 4, 4 }, conv.Forward(x).Shape.ToArray());
    }
}
