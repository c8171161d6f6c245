using NeuralCore.Nn;
using NeuralCore.Training;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Tests.Training;

public sealed class LossTests
{
    static readonly Tensor Logits = Tensor.FromArray(new float[] { 2f, -1f, 0.5f, 0.1f, 0.2f, 3f, -2f, 1f, 0f }, 3, 3);
    static readonly Tensor Labels = Tensor.FromArray(new long[] { 0, 2, 1 }, 3);

    static double Value(Tensor t) => t.Item<double>();

    // -mean log softmax(logits)[label], written out with plain loops.
    static double ReferenceCrossEntropy()
    {
        var x = Logits.ToArray<float>();
        var y = Labels.ToArray<long>();
        double sum = 0;
        for (int r = 0; r < 3; r++)
        {
            double lse = Math.Log(Enumerable.Range(0, 3).Sum(c => Math.Exp(x[r * 3 + c])));
            sum += lse - x[r * 3 + (int)y[r]];
        }
        return sum / 3;
    }

    [Fact]
    public void CategoricalCrossentropy_FromString_AcceptsIndexAndOneHotTargets()
    {
        Loss loss = "categorical_crossentropy";

        Assert.Equal("categorical_crossentropy", loss.Name);
        Assert.Equal(ReferenceCrossEntropy(), Value(loss.Compute(Logits, Labels)), 5);
        Assert.Equal(ReferenceCrossEntropy(), Value(loss.Compute(Logits, SyntheticDataOneHot(Labels))), 5);
        Assert.Equal(ReferenceCrossEntropy(), Value(Loss.CrossEntropy.Compute(Logits, Labels)), 5);
    }

    [Fact]
    public void CategoricalCrossentropy_OnProbabilities_MatchesTheLogitsForm()
    {
        var probabilities = Logits.Softmax(1);
        var onProbabilities = Loss.CategoricalCrossentropy(fromLogits: false);

        Assert.Equal(ReferenceCrossEntropy(), Value(onProbabilities.Compute(probabilities, Labels)), 5);
        Assert.Equal(ReferenceCrossEntropy(), Value(onProbabilities.Compute(probabilities, SyntheticDataOneHot(Labels))), 5);
        Assert.Same(probabilities, onProbabilities.Activate(probabilities));
    }

    [Fact]
    public void CategoricalCrossentropy_OnProbabilities_ClipsZeros()
    {
        var certainAndWrong = Tensor.FromArray(new float[] { 1f, 0f }, 1, 2);

        var value = Value(Loss.CategoricalCrossentropy(fromLogits: false).Compute(certainAndWrong, Tensor.FromArray(new long[] { 1 }, 1)));

        Assert.Equal(-Math.Log(1e-7), value, 2);
    }

    [Fact]
    public void CategoricalCrossentropy_LabelSmoothing_MatchesFunctional()
    {
        var expected = Value(F.CrossEntropy(Logits, Labels, labelSmoothing: 0.1));

        Assert.Equal(expected, Value(Loss.CategoricalCrossentropy(fromLogits: true, labelSmoothing: 0.1).Compute(Logits, Labels)), 5);
        Assert.Equal(expected, Value(Loss.CategoricalCrossentropy(fromLogits: false, labelSmoothing: 0.1).Compute(Logits.Softmax(1), Labels)), 4);
        Assert.Throws<ArgumentOutOfRangeException>(() => Loss.CategoricalCrossentropy(labelSmoothing: 1.5));
    }

    [Fact]
    public void SparseCategoricalCrossentropy_RejectsOneHotTargets()
    {
        Loss loss = "sparse_categorical_crossentropy";

        Assert.Equal(ReferenceCrossEntropy(), Value(loss.Compute(Logits, Labels.To(DType.Float32))), 5);
        var e = Assert.Throws<ArgumentException>(() => loss.Compute(Logits, SyntheticDataOneHot(Labels)));
        Assert.Contains("[3, 3]", e.Message);
    }

    [Fact]
    public void CategoricalCrossentropy_MismatchedTargets_NamesBothShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => Loss.CrossEntropy.Compute(Logits, Tensor.Zeros(3, 4)));

        Assert.Contains("[3, 3]", e.Message);
        Assert.Contains("[3, 4]", e.Message);
    }

    [Fact]
    public void Activate_AppliesSoftmaxForLogitLossesOnly()
    {
        var probabilities = Loss.CrossEntropy.Activate(Logits);

        Assert.Equal(Logits.Softmax(1).ToArray<float>(), probabilities.ToArray<float>());
        Assert.Same(Logits, Loss.Mse.Activate(Logits));
        Assert.Equal(Logits.Sigmoid().ToArray<float>(), Loss.BinaryCrossEntropyWithLogits.Activate(Logits).ToArray<float>());
        Assert.Same(Logits, Loss.BinaryCrossEntropy.Activate(Logits));
    }

    [Fact]
    public void AutoLosses_ResolveFromTheModelsLastLayer()
    {
        var logitsModel = new Sequential(new Dense(4, 3));
        var softmaxModel = new Sequential(new Dense(4, 3), new Sequential(new Softmax()));
        var denseSoftmax = new Sequential(new Dense(4, 3, activation: Activation.Softmax));
        var sigmoidModel = new Sequential(new Dense(4, 1), new Sigmoid());

        logitsModel.Compile("sgd", "categorical_crossentropy");
        softmaxModel.Compile("sgd", "categorical_crossentropy");
        denseSoftmax.Compile("sgd", "categorical_crossentropy");
        sigmoidModel.Compile("sgd", "binary_crossentropy");

        Assert.NotSame(Logits, logitsModel.Loss!.Activate(Logits));
        Assert.Same(Logits, softmaxModel.Loss!.Activate(Logits));
        Assert.Same(Logits, denseSoftmax.Loss!.Activate(Logits));
        Assert.Same(Logits, sigmoidModel.Loss!.Activate(Logits));
    }

    [Fact]
    public void RegressionLosses_ReshapeTargetsWithTheSameElementCount()
    {
        var prediction = Tensor.FromArray(new float[] { 1f, 2f, 4f }, 3, 1);
        var target = Tensor.FromArray(new long[] { 0, 2, 2 }, 3);

        Assert.Equal(5.0 / 3, Value(((Loss)"mse").Compute(prediction, target)), 6);
        Assert.Equal(1.0, Value(((Loss)"mae").Compute(prediction, target)), 6);
        Assert.Equal((0.5 + 0 + 1.5) / 3, Value(((Loss)"huber").Compute(prediction, target)), 6);
        Assert.Equal("mean_squared_error", ((Loss)"mean_squared_error").Name);
    }

    [Fact]
    public void BinaryCrossentropy_LogitsAndProbabilities_Agree()
    {
        var logits = Tensor.FromArray(new float[] { 1.5f, -0.5f, 0.2f, -3f }, 4, 1);
        var target = Tensor.FromArray(new float[] { 1, 0, 0, 1 }, 4);
        double expected = -(Math.Log(Sigmoid(1.5)) + Math.Log(1 - Sigmoid(-0.5)) + Math.Log(1 - Sigmoid(0.2)) + Math.Log(Sigmoid(-3))) / 4;

        Assert.Equal(expected, Value(Loss.BinaryCrossEntropyWithLogits.Compute(logits, target)), 5);
        Assert.Equal(expected, Value(Loss.BinaryCrossEntropy.Compute(logits.Sigmoid(), target)), 5);
        Assert.Equal(expected, Value(((Loss)"binary_crossentropy").Compute(logits, target)), 5);
    }

    static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    [Fact]
    public void Create_WrapsAFunction()
    {
        var loss = Loss.Create("sum_abs", (p, t) => (p - t).Abs().Sum());

        Assert.Equal("sum_abs", loss.Name);
        Assert.Equal("sum_abs", loss.ToString());
        Assert.Equal(6.0, Value(loss.Compute(Tensor.FromArray(new float[] { 1, 2, 3 }, 3), Tensor.Zeros(3))), 6);
    }

    [Theory]
    [InlineData("categorical-crossentropy")]
    [InlineData(" MSE ")]
    [InlineData("Mean_Absolute_Error")]
    public void FromName_IgnoresCaseSpacesAndDashes(string name) => Assert.NotNull(Loss.FromName(name));

    [Fact]
    public void FromName_Unknown_ListsTheKnownNames()
    {
        var e = Assert.Throws<ArgumentException>(() => Loss.FromName("hinge"));

        Assert.Contains("hinge", e.Message);
        foreach (var known in new[] { "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy", "mse", "mae", "huber" })
            Assert.Contains(known, e.Message);
    }

    [Fact]
    public void Gradient_FlowsThroughTheProbabilityForm()
    {
        var logits = Logits.Clone().RequiresGrad_();

        Loss.CategoricalCrossentropy(fromLogits: false).Compute(logits.Softmax(1), Labels).Backward();

        // d/dlogits of mean CE = (softmax − onehot) / N.
        var expected = ((Logits.Softmax(1) - SyntheticDataOneHot(Labels)) / 3f).ToArray<float>();
        Assert.Equal(expected, logits.Grad!.ToArray<float>(), (a, b) => Math.Abs(a - b) < 1e-5f);
    }

    static Tensor SyntheticDataOneHot(Tensor labels) => Tensor.Arange(3).Eq(labels.Unsqueeze(1)).To(DType.Float32);
}
