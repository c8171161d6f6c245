using NeuralCore.Compression.Distillation;
using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Testing;

namespace NeuralCore.Compression.Tests.Distillation;

[Collection(SeededCollection.Name)]
public sealed class DistillationLossTests
{
    static readonly double[] StudentLogits = [1.0, -0.5, 2.0, 0.3, 0.1, 0.2, -1.0, 0.7];
    static readonly double[] TeacherLogits = [2.5, 0.0, 1.0, -0.4, -0.3, 1.2, 0.4, 0.0];
    static readonly long[] Labels = [2, 1];

    // KL(softmax(t/T) ‖ softmax(s/T)) summed over classes, averaged over rows, times T²; plus CE; by plain loops.
    static double Reference(double[] s, double[] t, long[] y, double temperature, double alpha)
    {
        int n = y.Length, c = s.Length / n;
        double soft = 0, hard = 0;
        for (int r = 0; r < n; r++)
        {
            var ps = Softmax(s.Skip(r * c).Take(c).Select(v => v / temperature).ToArray());
            var pt = Softmax(t.Skip(r * c).Take(c).Select(v => v / temperature).ToArray());
            for (int k = 0; k < c; k++) soft += pt[k] * Math.Log(pt[k] / ps[k]);
            hard -= Math.Log(Softmax(s.Skip(r * c).Take(c).ToArray())[y[r]]);
        }
        return alpha * temperature * temperature * soft / n + (1 - alpha) * hard / n;
    }

    static double[] Softmax(double[] z)
    {
        double max = z.Max();
        var e = z.Select(v => Math.Exp(v - max)).ToArray();
        return e.Select(v => v / e.Sum()).ToArray();
    }

    [Theory]
    [InlineData(1.0, 0.5)]
    [InlineData(4.0, 0.7)]
    [InlineData(2.0, 1.0)]
    [InlineData(3.0, 0.0)]
    public void Compute_EqualsTheHandComputation(double temperature, double alpha)
    {
        var loss = new DistillationLoss(temperature, alpha);
        var s = Tensor.FromArray(StudentLogits, 2, 4);
        var t = Tensor.FromArray(TeacherLogits, 2, 4);
        var y = Tensor.FromArray(Labels, 2);
        double expected = Reference(StudentLogits, TeacherLogits, Labels, temperature, alpha);
        Assert.Equal(expected, loss.Compute(s, t, y).Item<double>(), 10);
        // The Fit form: student and teacher logits side by side.
        Assert.Equal(expected, loss.Compute(Tensor.Cat([s, t], 1), y).Item<double>(), 10);
    }

    [Theory]
    [InlineData(1.0, 0.5)]
    [InlineData(4.0, 0.7)]
    public void Gradient_PassesFiniteDifferenceCheck(double temperature, double alpha)
    {
        var loss = new DistillationLoss(temperature, alpha);
        var t = Tensor.FromArray(TeacherLogits, 2, 4);
        var y = Tensor.FromArray(Labels, 2);
        GradCheck.Assert(inputs => loss.Compute(inputs[0], t, y), [Tensor.FromArray(StudentLogits, 2, 4)]);
    }

    [Fact]
    public void TeacherGetsNoGradient_AndBadShapesAreNamed()
    {
        var loss = new DistillationLoss();
        var s = Tensor.FromArray(StudentLogits, 2, 4).RequiresGrad_();
        var t = Tensor.FromArray(TeacherLogits, 2, 4).RequiresGrad_();
        loss.Compute(s, t, Tensor.FromArray(Labels, 2)).Backward();
        Assert.NotNull(s.Grad);
        Assert.Null(t.Grad);
        Assert.Contains("[N, C]", Assert.Throws<ArgumentException>(() => loss.Compute(s, Tensor.Zeros(2, 3), Tensor.FromArray(Labels, 2))).Message);
        Assert.Contains("TeacherStudent", Assert.Throws<ArgumentException>(() => loss.Compute(Tensor.Zeros(2, 3), Tensor.FromArray(Labels, 2))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DistillationLoss(temperature: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DistillationLoss(alpha: 1.5));
    }

    [Fact]
    public void Fit_TrainsOnlyTheStudentTowardsTheTeacher()
    {
        Rng.ManualSeed(41);
        var x = Tensor.Randn(128, 6);
        var teacher = new Sequential(new Linear(6, 16), new ReLU(), new Linear(16, 3));
        var y = Tensor.Zeros(128).To(DType.Int64);
        using (Tensor.NoGrad()) y = teacher.Forward(x).ArgMax(dim: 1);
        var teacherWeights = TestModels.Values(((Linear)teacher[0]).Weight);
        var student = new Sequential(new Linear(6, 8), new ReLU(), new Linear(8, 3));
        var pair = new TeacherStudent(student, teacher);
        var model = new Sequential(pair);
        Assert.Equal(student.ParameterCount, model.ParameterCount);
        model.Compile(new Adam(lr: 0.02), new DistillationLoss(temperature: 2, alpha: 0.8), ["accuracy"]);
        double Agreement()
        {
            using (Tensor.NoGrad()) return student.Eval().Forward(x).ArgMax(dim: 1).Eq(y).To(DType.Float32).Mean().Item<float>();
        }
        double before = Agreement();
        var history = model.Fit(x, y, epochs: 15, batchSize: 32, verbose: 0);
        Assert.True(history.Values["loss"][^1] < history.Values["loss"][0], $"loss {history.Values["loss"][0]} → {history.Values["loss"][^1]}");
        Assert.Equal(teacherWeights, TestModels.Values(((Linear)teacher[0]).Weight));
        double agreement = Agreement();
        Assert.True(agreement > 0.8 && agreement > before + 0.2, $"student agrees with the teacher on {before:P1} before and {agreement:P1} after training");
        Assert.True(history.Values["accuracy"][^1] > 0.8);
    }
}
