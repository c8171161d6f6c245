using NeuralCore.Compression;
using NeuralCore.Nn;
using NeuralCore.Optim;

namespace NeuralCore.Compression.Tests;

public class QatTests
{
    [Fact]
    public void StraightThroughEstimatorPassesTheGradientInsideTheRangeOnly()
    {
        var p = QuantParams.FromRange(-1f, 1f);
        var x = Tensor.FromArray([-2f, -0.5f, 0.3f, 0.99f, 1.5f, 0f]).RequiresGrad_();
        var y = FakeQuant.Activation(x, p);
        Assert.Equal(x.ToArray<float>().Select(p.FakeQuantize).ToArray(), y.ToArray<float>());
        Assert.Equal(p.Min, y.ToArray<float>()[0]); // clamped
        (y * Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f])).Sum().Backward();
        Assert.Equal([0f, 2f, 3f, 4f, 0f, 6f], x.Grad!.ToArray<float>());
    }

    [Fact]
    public void WeightFakeQuantizationMatchesTheStoredInt8WeightsAndPassesGradients()
    {
        var linear = new Linear(9, 5);
        var fq = FakeQuant.WeightPerChannel(linear.Weight);
        var stored = QuantizedLinear.FromFloat(linear, null).DequantizedWeight();
        Assert.Equal(stored.ToArray<float>(), fq.ToArray<float>());
        fq.Sum().Backward();
        Assert.All(linear.Weight.Grad!.ToArray<float>(), g => Assert.Equal(1f, g));
    }

    // Three Gaussian blobs in 2-D, labels 0..2.
    static (Tensor X, Tensor Y) Blobs(int n, int seed)
    {
        var random = new Random(seed);
        var centers = new[] { (-2.0, 0.0), (2.0, 0.5), (0.0, 2.5) };
        var x = new float[n * 2];
        var y = new long[n];
        for (int i = 0; i < n; i++)
        {
            int c = i % 3;
            y[i] = c;
            x[2 * i] = (float)(centers[c].Item1 + 0.7 * Normal(random));
            x[2 * i + 1] = (float)(centers[c].Item2 + 0.7 * Normal(random));
        }
        return (Tensor.FromArray(x, n, 2), Tensor.FromArray(y));
    }

    static double Normal(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    static void Train(Module model, Tensor x, Tensor y, int steps, double lr)
    {
        model.Train();
        var optimizer = new Adam(model.Parameters(), lr);
        for (int s = 0; s < steps; s++)
        {
            optimizer.ZeroGrad();
            var loss = Functional.CrossEntropy(model.Forward(x), y);
            loss.Backward();
            optimizer.Step();
        }
    }

    static double Accuracy(Module model, Tensor x, Tensor y)
    {
        Tensor logits;
        using (Tensor.NoGrad()) logits = model.Forward(x);
        var predicted = logits.ArgMax(1).ToArray<long>();
        var labels = y.ToArray<long>();
        return predicted.Zip(labels).Count(p => p.First == p.Second) / (double)labels.Length;
    }

    [Fact]
    public void QatReachesFloatAccuracyAndConvertsToTheSameInt8Model()
    {
        var (x, y) = Blobs(600, 1);
        var (testX, testY) = Blobs(300, 2);
        var model = new Sequential(new Linear(2, 32), new ReLU(), new Linear(32, 32), new ReLU(), new Linear(32, 3));
        Train(model, x, y, 150, 0.02);
        model.Eval();
        double floatAccuracy = Accuracy(model, testX, testY);
        Assert.True(floatAccuracy > 0.9, $"float accuracy {floatAccuracy}");

        var qat = Qat.Prepare(model);
        Assert.Equal(3, qat.NamedModules().Count(m => m.Module is FakeQuantizedLayer));
        Train(qat, x, y, 60, 0.005);
        qat.Eval();
        var converted = Qat.Convert(qat);
        Assert.Equal(3, converted.NamedModules().Count(m => m.Module is QuantizedLinear));
        Assert.Equal(3, converted.Count); // both ReLUs fused
        double int8Accuracy = Accuracy(converted, testX, testY);
        Assert.True(int8Accuracy >= floatAccuracy - 0.02, $"QAT int8 accuracy {int8Accuracy} vs float {floatAccuracy}");

        // The int8 model computes what the fake-quantized one simulated, up to float summation order. An activation
        // that lands within rounding of a quantization step boundary can snap to the neighbouring level in one of the
        // two, which moves output j by at most s·Σₖ|ŵⱼₖ| (s the last layer's input step) when the last layer's inputs
        // move by one step each; such flips are rare, so nearly every output agrees to float rounding.
        Tensor simulated;
        using (Tensor.NoGrad()) simulated = qat.Forward(testX);
        var s = simulated.ToArray<float>();
        var c = converted.Forward(testX).ToArray<float>();
        var last = converted.NamedModules().Select(m => m.Module).OfType<QuantizedLinear>().Last();
        float step = last.InputParams!.Value.Scale;
        var w = last.DequantizedWeight().ToArray<float>();
        int outputs = last.OutFeatures, inputs = last.InFeatures, loose = 0;
        for (int i = 0; i < s.Length; i++)
        {
            int j = i % outputs;
            double flip = 0;
            for (int k = 0; k < inputs; k++) flip += step * Math.Abs(w[j * inputs + k]);
            double tight = 1e-3 * (1 + Math.Abs(s[i]));
            Assert.True(Math.Abs(s[i] - c[i]) <= tight + flip, $"{i}: {s[i]} vs {c[i]} (bound {tight + flip})");
            if (Math.Abs(s[i] - c[i]) > tight) loose++;
        }
        Assert.True(loose <= s.Length / 100, $"{loose} of {s.Length} outputs differ by more than float rounding");

        // Preparing copied the model: its weights did not train further.
        Assert.Equal(floatAccuracy, Accuracy(model, testX, testY));
    }

    [Fact]
    public void ConvertRefusesModelsThatWereNotPreparedOrNeverRan()
    {
        Assert.Throws<ArgumentException>(() => Qat.Convert(new Sequential(new Linear(2, 2))));
        var prepared = Qat.Prepare(new Sequential(new Linear(2, 2)));
        var e = Assert.Throws<InvalidOperationException>(() => Qat.Convert(prepared));
        Assert.Contains("no batch", e.Message);
    }

    [Fact]
    public void MovingAverageRangeFollowsTrainingBatches()
    {
        var r = new MovingAverageRange(momentum: 0.5);
        r.Update([-1f, 1f]);
        r.Update([-3f, 5f]);
        Assert.Equal(-2f, r.Min);
        Assert.Equal(3f, r.Max);
        Assert.Throws<ArgumentOutOfRangeException>(() => new MovingAverageRange(0));
    }
}
