using NeuralCore.Compression;
using NeuralCore.Nn;

namespace NeuralCore.Compression.Tests;

public class QuantizedLayerTests
{
    static Tensor RandomInput(Random random, params long[] shape)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        return Tensor.FromArray(Enumerable.Range(0, (int)n).Select(_ => (float)(random.NextDouble() * 4 - 1.5)).ToArray(), shape);
    }

    // Per output element: Σ_k |x_k|·sw/2 + |ŵ_k|·sa/2 bounds the error of x·w against x̂·ŵ when every x is inside the
    // representable range (|x − x̂| ≤ sa/2, |w − ŵ| ≤ sw/2); a ReLU after it cannot increase the error.
    static void AssertWithinLinearBound(float[] x, int rows, int k, float[] w, float[] dequantized, float[] sw, float sa, float[] expected, float[] actual)
    {
        int n = sw.Length;
        double worstRatio = 0;
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < n; j++)
            {
                double bound = 0;
                for (int p = 0; p < k; p++) bound += Math.Abs(x[i * k + p]) * sw[j] / 2 + Math.Abs(dequantized[j * k + p]) * sa / 2;
                bound += 1e-5 * (1 + Math.Abs(expected[i * n + j]));
                double error = Math.Abs(expected[i * n + j] - actual[i * n + j]);
                Assert.True(error <= bound, $"y[{i}, {j}]: error {error} over the bound {bound}");
                worstRatio = Math.Max(worstRatio, error / bound);
            }
        Assert.True(worstRatio > 0, "the quantized output must differ from the float one somewhere");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void StaticLinearIsWithinTheQuantizationErrorBound(bool relu)
    {
        var random = new Random(4);
        var linear = new Linear(70, 33);
        var x = RandomInput(random, 25, 70);
        var model = relu ? new Sequential(linear, new ReLU()) : new Sequential(linear);
        var q = Quantization.QuantizeStatic(model, [x]);
        var layer = Assert.IsType<QuantizedLinear>(Assert.Single(q));
        Assert.Equal(relu, layer.FusedRelu);
        Assert.False(layer.IsDynamic);
        Tensor expected;
        using (Tensor.NoGrad()) expected = model.Forward(x);
        var actual = q.Forward(x);
        Assert.Equal(expected.Shape, actual.Shape);
        AssertWithinLinearBound(x.ToArray<float>(), 25, 70, linear.Weight.ToArray<float>(), layer.DequantizedWeight().ToArray<float>(),
            layer.WeightScales, layer.InputParams!.Value.Scale, expected.ToArray<float>(), actual.ToArray<float>());
    }

    [Fact]
    public void QuantizedLinearEqualsFloatMathOnTheQuantizedValues()
    {
        // With x and W replaced by their quantized-dequantized values, float math gives the int8 result up to float rounding:
        // this pins the layout, zero point and scale handling, not just the error size.
        var random = new Random(6);
        var linear = new Linear(129, 40);
        var x = RandomInput(random, 3, 7, 129);
        var q = QuantizedLinear.FromFloat(linear, QuantParams.FromRange(-1.5f, 2.5f));
        var p = q.InputParams!.Value;
        var xq = Tensor.FromArray(x.ToArray<float>().Select(p.FakeQuantize).ToArray(), x.Shape.ToArray());
        Tensor reference;
        using (Tensor.NoGrad()) reference = Functional.Linear(xq, q.DequantizedWeight(), linear.Bias);
        var actual = q.Forward(x);
        Assert.Equal(new Shape(3, 7, 40), actual.Shape);
        var r = reference.ToArray<float>();
        var a = actual.ToArray<float>();
        for (int i = 0; i < r.Length; i++) Assert.True(Math.Abs(r[i] - a[i]) <= 1e-4f * (1 + Math.Abs(r[i])), $"{i}: {r[i]} vs {a[i]}");
    }

    [Theory]
    [InlineData(5, 2, 1, 1, 2, 1)]   // kernel rows of two bytes, padding wider than one side of the kernel
    [InlineData(1, 4, 2, 1, 0, 3)]   // a 1-row kernel, strided rows, padded columns
    [InlineData(3, 5, 1, 1, 1, 2)]   // kernel rows of five bytes
    public void StaticConv2dWithRectangularKernelsEqualsFloatMathOnTheQuantizedValues(int kh, int kw, int sh, int sw, int ph, int pw)
    {
        var random = new Random(9);
        var conv = new Conv2d(2, 5, (kh, kw), (sh, sw), (ph, pw));
        var x = RandomInput(random, 3, 2, 8, 10);
        var q = Quantization.QuantizeStatic(new Sequential(conv), [x]);
        var layer = Assert.IsType<QuantizedConv2d>(Assert.Single(q));
        var p = layer.InputParams!.Value;
        var actual = q.Forward(x);
        Tensor reference;
        using (Tensor.NoGrad())
        {
            var xq = Tensor.FromArray(x.ToArray<float>().Select(p.FakeQuantize).ToArray(), x.Shape.ToArray());
            reference = Functional.Conv2d(xq, layer.DequantizedWeight(), conv.Bias, (sh, sw), (ph, pw));
        }
        Assert.Equal(reference.Shape, actual.Shape);
        var r = reference.ToArray<float>();
        var a = actual.ToArray<float>();
        for (int i = 0; i < r.Length; i++) Assert.True(Math.Abs(r[i] - a[i]) <= 1e-4f * (1 + Math.Abs(r[i])), $"{i}: {r[i]} vs {a[i]}");
    }

    [Theory]
    [InlineData(1, 0, 1)]
    [InlineData(2, 1, 1)]
    [InlineData(1, 2, 2)]
    public void StaticConv2dEqualsFloatMathOnTheQuantizedValuesAndIsWithinTheBound(int stride, int padding, int dilation)
    {
        var random = new Random(8);
        var conv = new Conv2d(3, 10, 3, stride, padding, dilation);
        var x = RandomInput(random, 2, 3, 11, 9);
        var model = new Sequential(conv, new ReLU());
        var q = Quantization.QuantizeStatic(model, [x]);
        var layer = Assert.IsType<QuantizedConv2d>(Assert.Single(q));
        Assert.True(layer.FusedRelu);
        var p = layer.InputParams!.Value;
        var actual = q.Forward(x);
        Tensor expected, reference;
        using (Tensor.NoGrad())
        {
            expected = model.Forward(x);
            var xq = Tensor.FromArray(x.ToArray<float>().Select(p.FakeQuantize).ToArray(), x.Shape.ToArray());
            reference = Functional.Conv2d(xq, layer.DequantizedWeight(), conv.Bias, stride, padding, dilation).Relu();
        }
        Assert.Equal(expected.Shape, actual.Shape);
        var r = reference.ToArray<float>();
        var a = actual.ToArray<float>();
        for (int i = 0; i < r.Length; i++) Assert.True(Math.Abs(r[i] - a[i]) <= 1e-4f * (1 + Math.Abs(r[i])), $"{i}: {r[i]} vs {a[i]}");
        // The bound, per output channel, with the largest |x| and |ŵ| over the kernel's K = 27 taps.
        float maxX = x.ToArray<float>().Max(Math.Abs);
        var w = layer.DequantizedWeight().ToArray<float>();
        var e = expected.ToArray<float>();
        int positions = e.Length / (2 * 10);
        for (int i = 0; i < e.Length; i++)
        {
            int c = i / positions % 10;
            double maxW = w.Skip(c * 27).Take(27).Max(Math.Abs);
            double bound = 27 * (maxX * layer.WeightScales[c] / 2 + maxW * p.Scale / 2) + 1e-5;
            Assert.True(Math.Abs(e[i] - a[i]) <= bound, $"{i}: error {Math.Abs(e[i] - a[i])} over {bound}");
        }
    }

    [Fact]
    public void DynamicLinearQuantizesEachBatchOverItsOwnRange()
    {
        var random = new Random(10);
        var linear = new Linear(50, 20);
        var q = Assert.IsType<QuantizedLinear>(Quantization.QuantizeDynamic(linear));
        Assert.True(q.IsDynamic);
        Assert.Null(q.InputParams);
        foreach (float magnitude in new[] { 0.01f, 1f, 100f })
        {
            var x = RandomInput(random, 8, 50) * magnitude;
            Tensor expected;
            using (Tensor.NoGrad()) expected = linear.Forward(x);
            var xs = x.ToArray<float>();
            var sa = QuantParams.FromRange(xs.Min(), xs.Max()).Scale;
            AssertWithinLinearBound(xs, 8, 50, linear.Weight.ToArray<float>(), q.DequantizedWeight().ToArray<float>(), q.WeightScales, sa,
                expected.ToArray<float>(), q.Forward(x).ToArray<float>());
        }
    }

    [Fact]
    public void AllKernelPathsGiveTheSameLayerOutput()
    {
        var random = new Random(12);
        var model = new Sequential(new Conv2d(2, 20, 3, padding: 1), new ReLU(), new Flatten(), new Linear(20 * 36, 17));
        var x = RandomInput(random, 3, 2, 6, 6);
        var q = Quantization.QuantizeStatic(model, [x]);
        var auto = q.Forward(x).ToArray<float>();
        foreach (var path in new[] { Int8KernelPath.Vector128, Int8KernelPath.Scalar })
        {
            Int8Gemm.ForcedPath = path;
            try
            {
                Assert.Equal(auto, q.Forward(x).ToArray<float>());
            }
            finally
            {
                Int8Gemm.ForcedPath = Int8KernelPath.Auto;
            }
        }
    }

    [Fact]
    public void QuantizeStaticHandlesNestedModelsAndLeavesTheSourceUnchanged()
    {
        var random = new Random(14);
        var model = new Sequential(new Sequential(new Linear(10, 16), new ReLU()), new Dropout(0.3), new Linear(16, 4), new Tanh());
        var before = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray<float>());
        var batches = Enumerable.Range(0, 3).Select(_ => RandomInput(random, 6, 10)).ToList();
        foreach (var kind in Enum.GetValues<ObserverKind>())
        {
            var q = Quantization.QuantizeStatic(model, batches, new QuantizationOptions { Observer = kind });
            var inner = Assert.IsType<Sequential>(q[0]);
            Assert.IsType<QuantizedLinear>(Assert.Single(inner));
            Assert.IsType<Dropout>(q[1]);
            Assert.IsType<QuantizedLinear>(q[2]);
            Assert.IsType<Tanh>(q[3]);
            Assert.False(q.IsTraining);
            Assert.Equal(new Shape(6, 4), q.Forward(batches[0]).Shape);
        }
        Assert.True(model.IsTraining, "calibration must restore the model's training mode");
        foreach (var (key, value) in model.StateDict()) Assert.Equal(before[key], value.ToArray<float>());

        var unfused = Quantization.QuantizeStatic(model, batches, new QuantizationOptions { FuseRelu = false });
        Assert.IsType<ReLU>(((Sequential)unfused[0])[1]);
    }

    [Fact]
    public void DenseLayersQuantizeWithTheirActivations()
    {
        var random = new Random(16);
        var model = new Sequential(new Dense(6, 12, Activation.Relu), new Dense(12, 12), new ReLU(), new Dense(12, 3, Activation.Softmax));
        var x = RandomInput(random, 10, 6);
        var q = Quantization.QuantizeStatic(model, [x]);
        Assert.Equal([typeof(QuantizedLinear), typeof(QuantizedLinear), typeof(QuantizedLinear), typeof(Softmax)], q.Select(l => l.GetType()));
        Assert.True(((QuantizedLinear)q[0]).FusedRelu);
        Assert.True(((QuantizedLinear)q[1]).FusedRelu);
        Assert.False(((QuantizedLinear)q[2]).FusedRelu);
        Tensor expected;
        using (Tensor.NoGrad()) expected = model.Eval().Forward(x);
        var actual = q.Forward(x).ToArray<float>();
        var e = expected.ToArray<float>();
        for (int i = 0; i < e.Length; i++) Assert.True(Math.Abs(e[i] - actual[i]) < 0.02, $"{i}: {e[i]} vs {actual[i]}");
        var d = (Sequential)Quantization.QuantizeDynamic(model);
        Assert.IsType<QuantizedLinear>(d[0]);
        Assert.IsType<Softmax>(Assert.IsType<Sequential>(d[3])[1]);
    }

    [Fact]
    public void BadInputsGetClearErrors()
    {
        var model = new Sequential(new Linear(4, 2));
        var e = Assert.Throws<ArgumentException>(() => Quantization.QuantizeStatic(model, []));
        Assert.Contains("calibration", e.Message);
        Assert.Throws<ArgumentException>(() => Quantization.QuantizeStatic(new Sequential(new ReLU()), [Tensor.Zeros(1, 4)]));
        Assert.Throws<ArgumentException>(() => Quantization.QuantizeDynamic(new Sequential(new ReLU())));
        var q = Quantization.QuantizeStatic(model, [Tensor.Randn(3, 4)]);
        var shape = Assert.Throws<ArgumentException>(() => q.Forward(Tensor.Zeros(3, 5)));
        Assert.Contains("QuantizedLinear", shape.Message);
        Assert.Throws<ArgumentException>(() => q.Forward(Tensor.Zeros([3, 4], DType.Float64)));
        var conv = QuantizedConv2d.FromFloat(new Conv2d(2, 3, 3), QuantParams.FromRange(-1, 1));
        Assert.Throws<ArgumentException>(() => conv.Forward(Tensor.Zeros(1, 3, 5, 5)));
        Assert.Throws<ArgumentException>(() => conv.Forward(Tensor.Zeros(1, 2, 2, 2)));
        Assert.Throws<NotSupportedException>(() => QuantizedConv2d.FromFloat(new Conv2d(2, 4, 3, groups: 2), null));
        var nan = new Linear(2, 2);
        using (Tensor.NoGrad()) nan.Weight.Fill_(float.NaN);
        Assert.Throws<ArgumentException>(() => QuantizedLinear.FromFloat(nan, null));
    }
}
