using NeuralCore.Training;

namespace NeuralCore.Tests.Training;

public sealed class MetricTests
{
    static readonly Tensor Scores = Tensor.FromArray(new float[] { 0.1f, 0.7f, 0.2f, 0.8f, 0.1f, 0.1f, 0.3f, 0.3f, 0.4f, 0.2f, 0.5f, 0.3f }, 4, 3);

    [Fact]
    public void Accuracy_ComparesArgMaxWithClassIndices()
    {
        Metric accuracy = "accuracy";
        accuracy.Update(Scores, Tensor.FromArray(new long[] { 1, 0, 0, 1 }, 4));

        Assert.Equal(0.75, accuracy.Result);
        Assert.Equal("accuracy", accuracy.Name);
    }

    [Fact]
    public void Accuracy_ComparesArgMaxWithOneHotRows_AndAccumulatesOverBatches()
    {
        var accuracy = new Accuracy();
        var oneHot = Tensor.FromArray(new float[] { 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0 }, 4, 3);

        accuracy.Update(Scores, oneHot);
        accuracy.Update(Scores[..2], Tensor.FromArray(new long[] { 2, 2 }, 2));

        Assert.Equal(3.0 / 6, accuracy.Result, 12);
        accuracy.Reset();
        Assert.True(double.IsNaN(accuracy.Result));
    }

    [Fact]
    public void Accuracy_SingleOutput_IsBinaryWithThreshold()
    {
        var probabilities = Tensor.FromArray(new float[] { 0.9f, 0.4f, 0.6f, 0.1f }, 4, 1);
        var targets = Tensor.FromArray(new long[] { 1, 1, 0, 0 }, 4);
        var half = new Accuracy();
        var low = new Accuracy(threshold: 0.3);

        half.Update(probabilities, targets);
        low.Update(probabilities, targets);

        Assert.Equal(0.5, half.Result);
        Assert.Equal(0.75, low.Result);
        low.Reset();
        low.Update(probabilities, Tensor.FromArray(new float[] { 1, 1, 1, 0 }, 4, 1));
        Assert.Equal(1.0, low.Result);
    }

    [Fact]
    public void Accuracy_BadTargets_NameTheShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => new Accuracy().Update(Scores, Tensor.Zeros(4, 2)));
        Assert.Contains("[4, 3]", e.Message);
        Assert.Contains("[4, 2]", e.Message);
    }

    [Fact]
    public void ErrorMetrics_AverageOverAllElementsAndBatches()
    {
        Metric mae = "mae", mse = "mean_squared_error";
        var prediction = Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 2, 2);
        var target = Tensor.FromArray(new float[] { 1, 0, 3, 1 }, 2, 2);

        mae.Update(prediction, target);
        mse.Update(prediction, target);
        mae.Update(Tensor.FromArray(new float[] { 2 }, 1, 1), Tensor.FromArray(new float[] { 0 }, 1));
        mse.Update(Tensor.FromArray(new float[] { 2 }, 1, 1), Tensor.FromArray(new float[] { 0 }, 1));

        Assert.Equal(7.0 / 5, mae.Result, 12);
        Assert.Equal(17.0 / 5, mse.Result, 12);
        Assert.Equal("mean_squared_error", mse.Name);
        Assert.Equal("mae", mae.Clone().Name);
        Assert.True(double.IsNaN(mae.Clone().Result));
    }

    [Fact]
    public void FromName_Unknown_ListsTheKnownNames()
    {
        var e = Assert.Throws<ArgumentException>(() => Metric.FromName("f1"));
        Assert.Contains("accuracy", e.Message);
        Assert.Contains("mse", e.Message);
    }
}
