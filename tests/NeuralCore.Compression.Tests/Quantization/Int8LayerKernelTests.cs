using NeuralCore.Compression;
using NeuralCore.Nn;

namespace NeuralCore.Compression.Tests;

/// <summary>
/// The int8 layers against scalar integer references written from the definition, bit for bit, on every kernel path:
/// the convolution (channels-last quantization, patches packed into VNNI panels, output-channel-major GEMM with the
/// NCHW epilogue) and the linear layer reading a strided input in place.
/// </summary>
public class Int8LayerKernelTests
{
    public static TheoryData<string> Paths => new() { "Auto", "Vector128", "Scalar" };

    // cin, cout, kh, kw, sh, sw, ph, pw, dh, dw, n, h, w
    public static TheoryData<int[]> Geometries => new()
    {
        new[] { 1, 16, 3, 3, 1, 1, 1, 1, 1, 1, 2, 28, 28 },   // the Fashion-MNIST CNN's first layer: K = 9 padded to 12
        new[] { 16, 32, 3, 3, 1, 1, 1, 1, 1, 1, 70, 14, 14 }, // its second layer at a batch large enough to run in parallel
        new[] { 3, 7, 3, 2, 2, 1, 1, 0, 1, 1, 3, 9, 11 },     // rectangular kernel, stride 2, channel tail (7 = 4 + 3)
        new[] { 5, 9, 5, 5, 1, 2, 3, 2, 2, 2, 2, 13, 11 },    // dilation 2 (channel runs), positions not a multiple of 16
        new[] { 6, 5, 1, 1, 1, 1, 0, 0, 1, 1, 4, 5, 3 },      // 1 × 1 kernel, K = 6 padded to 8, 15 positions
        new[] { 2, 1, 4, 3, 3, 2, 2, 1, 1, 1, 1, 7, 6 },      // one output channel
    };

    static Int8KernelPath Parse(string path) => Enum.Parse<Int8KernelPath>(path);

    static float[] RandomValues(Random random, int count) =>
        Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 4 - 1.5)).ToArray();

    static byte Quantize(float v, QuantParams p)
    {
        float q = MathF.Round(v * (1f / p.Scale)) + p.ZeroPoint;
        return (byte)(int)MathF.Min(MathF.Max(q, 0f), 255f);
    }

    // The definition: y[b, co, oy, ox] = (Σ (qx − za)·qw)·(sa·sw[co]) + bias[co], ReLU when fused; taps outside the
    // image hold the zero point, i.e. contribute nothing.
    static float[] Reference(QuantizedConv2d layer, float[] bias, float[] x, int n, int h, int w, QuantParams p)
    {
        var qw = layer.QuantizedWeights();
        var ws = layer.WeightScales;
        int cin = layer.InChannels, cout = layer.OutChannels, kh = layer.KernelSize.H, kw = layer.KernelSize.W;
        int oh = (h + 2 * layer.Padding.H - layer.Dilation.H * (kh - 1) - 1) / layer.Stride.H + 1;
        int ow = (w + 2 * layer.Padding.W - layer.Dilation.W * (kw - 1) - 1) / layer.Stride.W + 1;
        var y = new float[n * cout * oh * ow];
        for (int b = 0; b < n; b++)
            for (int co = 0; co < cout; co++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                    {
                        int acc = 0;
                        for (int c = 0; c < cin; c++)
                            for (int i = 0; i < kh; i++)
                                for (int j = 0; j < kw; j++)
                                {
                                    int iy = oy * layer.Stride.H - layer.Padding.H + i * layer.Dilation.H;
                                    int ix = ox * layer.Stride.W - layer.Padding.W + j * layer.Dilation.W;
                                    int q = iy < 0 || iy >= h || ix < 0 || ix >= w ? p.ZeroPoint : Quantize(x[((b * cin + c) * h + iy) * w + ix], p);
                                    acc += (q - p.ZeroPoint) * qw[((co * cin + c) * kh + i) * kw + j];
                                }
                        float v = (float)acc * (p.Scale * ws[co]) + bias[co];
                        if (layer.FusedRelu) v = MathF.Max(v, 0f);
                        y[((b * cout + co) * oh + oy) * ow + ox] = v;
                    }
        return y;
    }

    static T OnPath<T>(string path, Func<T> run)
    {
        Int8Gemm.ForcedPath = Parse(path);
        try
        {
            return run();
        }
        finally
        {
            Int8Gemm.ForcedPath = Int8KernelPath.Auto;
        }
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void StaticConvolutionMatchesTheScalarReferenceBitForBitOnEveryPath(int[] g)
    {
        var random = new Random(g.Sum());
        var conv = new Conv2d(g[0], g[1], (g[2], g[3]), (g[4], g[5]), (g[6], g[7]), (g[8], g[9]));
        var p = QuantParams.FromRange(-1.5f, 2.5f);
        var layer = QuantizedConv2d.FromFloat(conv, p, relu: g[1] % 2 == 1);
        int n = g[10], h = g[11], w = g[12];
        var x = RandomValues(random, n * g[0] * h * w);
        var expected = Reference(layer, conv.Bias!.ToArray<float>(), x, n, h, w, p);
        var input = Tensor.FromArray(x, n, g[0], h, w);
        foreach (var path in new[] { "Auto", "Vector128", "Scalar" })
        {
            var actual = OnPath(path, () => layer.Forward(input));
            Assert.Equal(expected.Length, actual.NumElements);
            Assert.Equal(expected, actual.ToArray<float>());
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void DynamicConvolutionOnAStridedUnbatchedInputMatchesTheReference(string path)
    {
        var random = new Random(5);
        var conv = new Conv2d(3, 6, 3, stride: 1, padding: 1);
        var layer = QuantizedConv2d.FromFloat(conv, null);
        // [3, 10, 12] stored as [3, 12, 10] and viewed transposed: the layer must read the logical order.
        var stored = Tensor.FromArray(RandomValues(random, 3 * 12 * 10), 3, 12, 10);
        var x = stored.Transpose(1, 2);
        Assert.False(x.IsContiguous);
        var values = x.Contiguous().ToArray<float>();
        var p = Int8Matmul.DynamicParams(values);
        var expected = Reference(layer, conv.Bias!.ToArray<float>(), values, 1, 10, 12, p);
        var actual = OnPath(path, () => layer.Forward(x));
        Assert.Equal(new long[] { 6, 10, 12 }, actual.Shape.ToArray());
        Assert.Equal(expected, actual.ToArray<float>());
    }

    [Fact]
    public void ConcurrentForwardPassesGiveTheSequentialResults()
    {
        var random = new Random(9);
        var layer = QuantizedConv2d.FromFloat(new Conv2d(4, 8, 3, padding: 1), QuantParams.FromRange(-1.5f, 2.5f), relu: true);
        var inputs = Enumerable.Range(0, 6).Select(_ => Tensor.FromArray(RandomValues(random, 20 * 4 * 12 * 12), 20, 4, 12, 12)).ToArray();
        var sequential = inputs.Select(x => layer.Forward(x).ToArray<float>()).ToArray();
        var concurrent = new float[inputs.Length][];
        Parallel.For(0, inputs.Length * 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var y = layer.Forward(inputs[i % inputs.Length]).ToArray<float>();
            Assert.Equal(sequential[i % inputs.Length], y);
            concurrent[i % inputs.Length] = y;
        });
        Assert.All(concurrent, Assert.NotNull);
    }

    [Fact]
    public void ConvolutionWeightsRejectAMismatchedWeightLength()
    {
        var e = Assert.Throws<ArgumentException>(() => new Int8ConvWeights(new sbyte[10], 2, 1, 3, 3, [1f, 1f], null, false));
        Assert.Contains("[2, 1, 3, 3]", e.Message);
    }

    [Fact]
    public void PackedWeightsFollowTheChannelsLastReductionOrderWithZeroPadding()
    {
        // cout 2, cin 3, 1 × 2 kernel: channel 0 stored (c, j) = 1 2 | 3 4 | 5 6 → (j, c) = 1 3 5 | 2 4 6, then two zeros.
        var packed = new Int8ConvWeights(new sbyte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }, 2, 3, 1, 2, [1f, 1f], null, false);
        Assert.Equal(6, packed.K);
        Assert.Equal(8, packed.PaddedK);
        Assert.Equal(new sbyte[] { 1, 3, 5, 2, 4, 6, 0, 0, 7, 9, 11, 8, 10, 12, 0, 0 }, packed.Data);
        Assert.Equal(new[] { 21, 57 }, packed.RowSums);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void LinearOnAStridedInputMatchesTheScalarReferenceBitForBit(string path)
    {
        const int k = 37, nOut = 21;
        var random = new Random(11);
        var linear = new Linear(k, nOut);
        var p = QuantParams.FromRange(-1.5f, 2.5f);
        var layer = QuantizedLinear.FromFloat(linear, p, relu: true);
        // [2, 3, k] viewed from [3, 2, k]: not contiguous.
        var x = Tensor.FromArray(RandomValues(random, 3 * 2 * k), 3, 2, k).Transpose(0, 1);
        Assert.False(x.IsContiguous);
        var values = x.Contiguous().ToArray<float>();
        var qw = layer.QuantizedWeights();
        var ws = layer.WeightScales;
        var bias = linear.Bias!.ToArray<float>();
        var expected = new float[6 * nOut];
        for (int r = 0; r < 6; r++)
            for (int j = 0; j < nOut; j++)
            {
                int acc = 0;
                for (int t = 0; t < k; t++) acc += (Quantize(values[r * k + t], p) - p.ZeroPoint) * qw[j * k + t];
                expected[r * nOut + j] = MathF.Max((float)acc * (p.Scale * ws[j]) + bias[j], 0f);
            }
        var actual = OnPath(path, () => layer.Forward(x));
        Assert.Equal(new long[] { 2, 3, nOut }, actual.Shape.ToArray());
        Assert.Equal(expected, actual.ToArray<float>());
    }
}
