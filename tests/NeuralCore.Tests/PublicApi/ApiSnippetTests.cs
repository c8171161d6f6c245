using NeuralCore.Nn;
using NeuralCore.Optim;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Tests.PublicApi;

/// <summary>
/// The snippets of api.md sections 3, 4 and 5, compiled verbatim inside test methods (with the variables they
/// assume declared in front), then checked for what the document says they do.
/// </summary>
public sealed class ApiSnippetTests
{
    [Fact]
    public void TensorBasics_Section3()
    {
        var a = Tensor.Randn(2, 3);                      // float32, CPU
        var b = Tensor.FromArray(new float[] { 1, 2, 3 }, 3);
        var c = (a * b + 1f).Relu().Sum();               // broadcasting; operators + - * / and unary -
        var w = Tensor.Zeros(3, 4).RequiresGrad_();
        var y = a.MatMul(w).Tanh().Mean();
        y.Backward();                                    // w.Grad now holds dy/dw
        float[] values = w.Grad!.ToArray<float>();
        double v = y.Item<float>();
        var t = a.Transpose(0, 1).Contiguous();          // views: Transpose, Permute, Reshape, View, Narrow, Expand
        var d = Tensor.Arange(10).Reshape(2, 5).To(DType.Float64);

        // With w = 0, tanh'(0) = 1 and y = mean(a·w), so dy/dw[k, j] = Σ_i a[i, k] / 8.
        var av = a.ToArray<float>();
        for (int k = 0; k < 3; k++)
            for (int j = 0; j < 4; j++)
                Assert.Equal((av[k] + av[3 + k]) / 8, values[k * 4 + j], 6);
        Assert.Equal(0.0, v, 1e-6);                      // tanh(0) through the SIMD tanh: within a few ulp of 0
        Assert.Equal(DType.Float32, c.DType);
        Assert.Equal("[3, 2]", t.Shape.ToString());
        Assert.Equal(DType.Float64, d.DType);
        Assert.Equal(9.0, d[1, 4].Item<double>());
    }

    [Fact]
    public void OptimizersAndPenalties_Section4()
    {
        var backbone = new Linear(4, 8);
        var head = new Linear(8, 2);
        var model = new Sequential(backbone, new ReLU(), head);

        var opt = new Adam(model.Parameters(), lr: 1e-3, weightDecay: 0.0);     // also Sgd(lr, momentum, nesterov,
        var sgd = new Sgd(new[] {                                               //   weightDecay), AdamW
            new ParamGroup(backbone.Parameters()) { L2 = 1e-4 },
            new ParamGroup(head.Parameters()) { L1 = 1e-5, L2 = 1e-4, Lr = 0.01 } }, lr: 0.001, momentum: 0.9);
        var scheduler = new StepLR(sgd, stepSize: 10, gamma: 0.1);              // also CosineAnnealingLR
        Utils.ClipGradNorm(model.Parameters(), maxNorm: 1.0);                   // and ClipGradValue, ClampWeights

        var loss = model.Forward(Tensor.Randn(5, 4)).Square().Mean();
        loss.Backward();
        sgd.Step();
        double expected = 0;
        foreach (var p in backbone.Parameters()) expected += 1e-4 * p.Square().Sum().Item<float>();
        foreach (var p in head.Parameters()) expected += 1e-5 * p.Abs().Sum().Item<float>() + 1e-4 * p.Square().Sum().Item<float>();
        // LastPenalty is measured on the weights before the step; one small step moves it by far less than 1 %.
        Assert.Equal(expected, sgd.LastPenalty, expected * 0.01);
        for (int i = 0; i < 10; i++) scheduler.Step();
        Assert.Equal(0.0001, sgd.Lr, 12);
        Assert.NotNull(opt);
    }

    [Fact]
    public void ParametersStateAndInPlace_Section5()
    {
        var model = new Sequential(new Linear(4, 3), new ReLU());
        var x = Tensor.Randn(2, 3, 8, 8);
        var weight = Tensor.Randn(6, 3, 5, 5);
        var bias = Tensor.Zeros(6);

        var fc = new Linear(4, 3);
        Tensor w = fc.Weight, b = fc.Bias!;                // layers expose parameters by their PyTorch names:
                                                           // Weight, Bias, RunningMean, RunningVar, ...
        using (Tensor.NoGrad()) w.Copy_(Tensor.Ones(3, 4)); // in-place ops end in _ as in PyTorch: Copy_, Zero_,
                                                           // Fill_, Add_, Mul_, Clamp_, RequiresGrad_
        IReadOnlyDictionary<string, Tensor> state = model.StateDict();   // "0.weight", "fc1.bias", ... as PyTorch
        model.LoadStateDict(state, strict: true);          // clear error listing missing/unexpected/mis-shaped keys
        foreach (var (name, p) in model.NamedParameters()) Console.WriteLine($"{name} {p.Shape}");
        Tensor y = F.Conv2d(x, weight, bias, stride: 1, padding: 2);     // functional forms of every layer:

        Assert.All(fc.Weight.ToArray<float>(), v => Assert.Equal(1f, v));
        Assert.Equal(new[] { "0.weight", "0.bias" }, state.Keys.ToArray());
        Assert.Equal("[2, 6, 8, 8]", y.Shape.ToString());
        Assert.Equal(3, b.NumElements);
    }
}
