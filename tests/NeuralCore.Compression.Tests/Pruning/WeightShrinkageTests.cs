using NeuralCore.Compression.Pruning;
using NeuralCore.Nn;
using NeuralCore.Optim;

namespace NeuralCore.Compression.Tests.Pruning;

[Collection(SeededCollection.Name)]
public sealed class WeightShrinkageTests
{
    [Fact]
    public void Apply_MatchesTheClosedFormAndZeroesCrossingWeights()
    {
        float[] values = [0.5f, -0.5f, 0.1f, -0.1f, 0.09999f, -0.3f, 0f, 0.25f, -0.2f, 1e-8f];
        const double lambda = 0.1;
        var w = Tensor.FromArray((float[])values.Clone(), values.Length);
        WeightShrinkage.Apply([w], lambda);
        var after = w.ToArray<float>();
        for (int i = 0; i < values.Length; i++)
        {
            // sign(w)·max(|w| − λ, 0), computed as the device computes it (float32 subtraction of λ).
            float expected = MathF.Sign(values[i]) * MathF.Max(MathF.Abs(values[i]) - (float)lambda, 0);
            Assert.Equal(expected, after[i]);
            if (MathF.Abs(values[i]) <= (float)lambda) Assert.True(after[i] == 0, $"w = {values[i]} crosses zero but became {after[i]}");
            else Assert.Equal(MathF.Sign(values[i]), MathF.Sign(after[i]));
        }
        // Hand-picked values: 0.5 → 0.4, −0.3 → −0.2, 0.25 → 0.15.
        Assert.Equal(0.4f, after[0], 6);
        Assert.Equal(-0.2f, after[5], 6);
        Assert.Equal(0.15f, after[7], 6);
    }

    [Fact]
    public void Apply_OnAModel_ShrinksOnlyLinearAndConvWeights()
    {
        var model = TestModels.Cnn(31);
        var biasBefore = TestModels.Values(((Linear)model[7]).Bias!);
        var weightBefore = TestModels.Values(((Linear)model[7]).Weight);
        WeightShrinkage.Apply(model, 0.05);
        Assert.Equal(biasBefore, TestModels.Values(((Linear)model[7]).Bias!));
        int crossing = weightBefore.Count(v => MathF.Abs(v) <= 0.05f);
        Assert.True(crossing > 0);
        Assert.Equal(crossing, TestModels.Values(((Linear)model[7]).Weight).Count(v => v == 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => WeightShrinkage.Apply(model, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => WeightShrinkage.Apply(model, double.PositiveInfinity));
        Assert.Throws<ArgumentException>(() => WeightShrinkage.Apply([Tensor.Zeros([3], DType.Int64)], 0.1));
    }

    [Fact]
    public void Callback_AfterEveryStep_DrivesWeightsToZero()
    {
        var model = TestModels.Mlp(32);
        var x = Tensor.Randn(64, 2, 3, 3);
        var y = x.Flatten(1).Sum(1).Gt(0).To(DType.Int64);
        model.Compile(new Sgd(lr: 0.05), Training.Loss.CrossEntropy);
        model.Fit(x, y, epochs: 3, batchSize: 16, verbose: 0, callbacks: [new WeightShrinkageCallback(0.01)]);
        var report = SparsityReport.Of(model);
        // Each of the 12 steps removes 0.01 from every magnitude; initial weights of Dense 16 over 18 inputs are at most 1/sqrt(18) ≈ 0.24.
        Assert.True(report.Sparsity > 0.3, $"sparsity {report.Sparsity:P1} after 12 shrinkage steps of 0.01");
        var scaled = new WeightShrinkageCallback(1.0, scaleWithLearningRate: true);
        var other = TestModels.Mlp(32);
        other.Compile(new Sgd(lr: 0.01), Training.Loss.CrossEntropy);
        other.Fit(x, y, epochs: 3, batchSize: 16, verbose: 0, callbacks: [scaled]);
        Assert.True(SparsityReport.Of(other).Sparsity > 0.3);
    }
}
