using NeuralCore.Compression.Bf16;
using NeuralCore.Nn;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Compression.Tests.Bf16;

[Collection(SeededCollection.Name)]
public sealed class Bf16LayerTests
{
    // Checks y against the float64 product of x and the bfloat16 weights: the only difference left is float32
    // accumulation, bounded by a few float32 ulps of Σ|x·w| per output.
    static void AssertMatchesReference(float[] x, Tensor weight, float[]? bias, float[] y, int n, int k, int m)
    {
        var w = weight.ToArray<float>();
        for (int r = 0; r < n; r++)
            for (int j = 0; j < m; j++)
            {
                double sum = bias?[j] ?? 0, magnitude = Math.Abs(bias?[j] ?? 0);
                for (int t = 0; t < k; t++)
                {
                    sum += (double)x[r * k + t] * w[j * k + t];
                    magnitude += Math.Abs((double)x[r * k + t] * w[j * k + t]);
                }
                Assert.True(Math.Abs(y[r * m + j] - sum) <= 1e-6 * magnitude + 1e-30, $"[{r}, {j}] of [{n}, {k}]x[{m}]: {y[r * m + j]} vs {sum}");
            }
    }

    [Fact]
    public void Linear_MatchesTheFloat64ReferenceForEveryLength()
    {
        Rng.ManualSeed(51);
        foreach (int k in Enumerable.Range(0, 80).Concat([95, 96, 97, 128, 255, 784]))
            foreach (int n in new[] { 1, 3, 4, 5, 9 })
            {
                int m = 1 + k % 5;
                var linear = new Linear(k, m);
                var layer = new Bf16Linear(linear);
                var x = Tensor.Randn(n, k);
                var y = layer.Forward(x);
                Assert.Equal([n, m], y.Shape.ToArray());
                AssertMatchesReference(x.ToArray<float>(), layer.Weight, layer.Bias?.ToArray<float>(), y.ToArray<float>(), n, k, m);
            }
    }

    [Fact]
    public void Linear_IsWithinBFloat16ErrorOfTheFloatLayer_AndParallelPathAgrees()
    {
        Rng.ManualSeed(52);
        var linear = new Linear(784, 300);
        var x = Tensor.Randn(64, 784);
        var y = new Bf16Linear(linear).Forward(x).ToArray<float>();   // 15 M multiply-adds: the threaded path
        float[] expected;
        using (Tensor.NoGrad()) expected = linear.Forward(x).ToArray<float>();
        var absX = x.Abs();
        float[] bound;
        using (Tensor.NoGrad()) bound = F.Linear(absX, linear.Weight.Abs(), null).ToArray<float>();
        for (int i = 0; i < y.Length; i++)
            Assert.True(Math.Abs(y[i] - expected[i]) <= Math.Pow(2, -8) * bound[i] + 1e-5, $"output {i}: {y[i]} vs {expected[i]} (bound {bound[i]})");
        AssertMatchesReference(x.ToArray<float>(), new Bf16Linear(linear).Weight, linear.Bias!.ToArray<float>(), y, 64, 784, 300);
    }

    [Theory]
    [InlineData(1, 0, 1)]
    [InlineData(2, 1, 1)]
    [InlineData(1, 2, 2)]
    public void Conv2d_EqualsTheFloatConvolutionWithRoundedWeights(int stride, int padding, int dilation)
    {
        Rng.ManualSeed(53);
        var conv = new Conv2d(3, 5, 3, stride: stride, padding: padding, dilation: dilation);
        var layer = new Bf16Conv2d(conv);
        var x = Tensor.Randn(2, 3, 9, 8);
        var y = layer.Forward(x);
        Tensor expected;
        using (Tensor.NoGrad())
            expected = F.Conv2d(x, BFloat16.ToTensor(layer.WeightBits, 5, 3, 3, 3), conv.Bias, (stride, stride), (padding, padding), (dilation, dilation), 1);
        Assert.Equal(expected.Shape, y.Shape);
        var a = y.ToArray<float>();
        var b = expected.ToArray<float>();
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-5, $"output {i}: {a[i]} vs {b[i]}");
    }

    [Fact]
    public void BadInputs_AreNamed()
    {
        var layer = new Bf16Linear(new Linear(4, 2));
        Assert.Contains("[*, 4]", Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros(3, 5))).Message);
        Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros([3, 4], DType.Int64)));
        var conv = new Bf16Conv2d(new Conv2d(2, 3, 5));
        Assert.Throws<ArgumentException>(() => conv.Forward(Tensor.Zeros(1, 2, 3, 3)));
        Assert.Throws<ArgumentException>(() => conv.Forward(Tensor.Zeros(1, 3, 8, 8)));
        Assert.Throws<NotSupportedException>(() => new Bf16Conv2d(new Conv2d(4, 4, 3, groups: 2)));
    }

    [Fact]
    public void Model_ConvertsSavesAsBf16AndLoadsBack()
    {
        var model = TestModels.Cnn(54);
        var mlp = TestModels.Mlp(54);
        var dir = Directory.CreateTempSubdirectory("bf16-");
        try
        {
            foreach (var (float32, x) in new[] { (model, Tensor.Randn(4, 1, 6, 6)), (mlp, Tensor.Randn(4, 2, 3, 3)) })
            {
                float32.Eval();
                var bf16 = Bf16Model.Convert(float32);
                Tensor reference, converted;
                using (Tensor.NoGrad())
                {
                    reference = float32.Forward(x);
                    converted = bf16.Forward(x);
                }
                var r = reference.ToArray<float>();
                var c = converted.ToArray<float>();
                for (int i = 0; i < r.Length; i++) Assert.True(Math.Abs(r[i] - c[i]) <= 0.02 * (1 + Math.Abs(r[i])), $"output {i}: float {r[i]}, bfloat16 {c[i]}");

                string floatFile = Path.Combine(dir.FullName, "f32.safetensors"), bf16File = Path.Combine(dir.FullName, "bf16.safetensors");
                float32.Save(floatFile);
                Bf16Model.Save(float32, bf16File);
                Assert.Contains("\"BF16\"", System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(bf16File).AsSpan(8, 400)));
                Assert.True(new FileInfo(bf16File).Length < 0.75 * new FileInfo(floatFile).Length);
                var loaded = Bf16Model.Load(bf16File, Sequential.Load(floatFile));
                using (Tensor.NoGrad()) Assert.Equal(c, loaded.Forward(x).ToArray<float>());
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
