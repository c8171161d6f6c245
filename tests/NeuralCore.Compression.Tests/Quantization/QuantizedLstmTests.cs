using NeuralCore.Compression;
using NeuralCore.Nn;

namespace NeuralCore.Compression.Tests;

public class QuantizedLstmTests
{
    [Theory]
    [InlineData(1, false, false)]
    [InlineData(2, true, false)]
    [InlineData(1, false, true)]
    public void DynamicLstmFollowsTheFloatLstm(int layers, bool bidirectional, bool batchFirst)
    {
        var lstm = new LSTM(12, 24, layers, batchFirst: batchFirst, bidirectional: bidirectional);
        lstm.Eval();
        var q = Assert.IsType<DynamicQuantizedLSTM>(Quantization.QuantizeDynamic(lstm));
        var random = new Random(layers * 10 + (bidirectional ? 1 : 0));
        long[] shape = batchFirst ? [3, 9, 12] : [9, 3, 12];
        var x = Tensor.FromArray(Enumerable.Range(0, 9 * 3 * 12).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(), shape);
        int directions = bidirectional ? 2 : 1;
        var h0 = Tensor.FromArray(Enumerable.Range(0, layers * directions * 3 * 24).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray(), layers * directions, 3, 24);
        var c0 = Tensor.FromArray(Enumerable.Range(0, layers * directions * 3 * 24).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray(), layers * directions, 3, 24);
        (Tensor Output, (Tensor H, Tensor C) State) expected;
        using (Tensor.NoGrad()) expected = lstm.Forward(x, (h0, c0));
        var actual = q.Forward(x, (h0, c0));
        Assert.Equal(expected.Output.Shape, actual.Output.Shape);
        Assert.Equal(expected.State.H.Shape, actual.State.H.Shape);
        // Gate pre-activations carry errors of about K·(|x|·sw + |w|·sa)/2 ≈ 0.01 here; gates and states are bounded by
        // the sigmoids and tanh, so outputs stay within a few hundredths.
        foreach (var (e, a) in new[] { (expected.Output, actual.Output), (expected.State.H, actual.State.H), (expected.State.C, actual.State.C) })
        {
            var ev = e.ToArray<float>();
            var av = a.ToArray<float>();
            double max = ev.Zip(av).Max(p => Math.Abs(p.First - p.Second));
            double mean = ev.Zip(av).Average(p => Math.Abs(p.First - p.Second));
            Assert.True(max < 0.03 && mean < 0.005, $"max error {max}, mean {mean}");
            Assert.True(max > 0, "quantization must change something");
        }
    }

    [Fact]
    public void UnbatchedInputAndBadShapes()
    {
        var lstm = new LSTM(5, 7);
        var q = DynamicQuantizedLSTM.FromFloat(lstm);
        var x = Tensor.Randn(4, 5);
        Assert.Equal(new Shape(4, 7), q.Forward(x).Shape);
        Assert.Throws<ArgumentException>(() => q.Forward(Tensor.Randn(4, 2, 6)));
        Assert.Throws<ArgumentException>(() => q.Forward(Tensor.Randn(4, 2, 5), (Tensor.Zeros(1, 3, 7), Tensor.Zeros(1, 2, 7))));
    }

    [Fact]
    public void ProjectedLstm_IsRefusedByFromFloat_AndKeptInFloatByQuantizeDynamic()
    {
        var projected = new LSTM(5, 7, projSize: 3);
        projected.Eval();
        Assert.Contains("projSize 3", Assert.Throws<ArgumentException>(() => DynamicQuantizedLSTM.FromFloat(projected)).Message);

        var model = new Sequential(new Linear(5, 5), projected);
        model.Eval();
        var quantized = Assert.IsType<Sequential>(Quantization.QuantizeDynamic(model));
        var kept = Assert.IsType<LSTM>(quantized[1]);
        Assert.Equal(3, kept.ProjSize);
        // The copy keeps the float weights: the same input gives the same output.
        var x = Tensor.Randn(4, 2, 5);
        using (Tensor.NoGrad())
            Assert.Equal(projected.Forward(x).ToArray<float>(), kept.Forward(x).ToArray<float>());
    }
}
