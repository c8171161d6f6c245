using NeuralCore.Nn;
using NeuralCore.Testing;
using static NeuralCore.Tests.Nn.LossReference;

namespace NeuralCore.Tests.Nn;

// Dropout and initialisation draw from the process-wide default generator, so this class runs in the
// non-parallel collection: seeded reproducibility must not see draws from other threads.
[Collection("Memory")]
public class ModuleTests
{
    sealed class TwoLayer : Module
    {
        public readonly Linear Fc1 = new(3, 5), Fc2 = new(5, 2);
        public readonly Dropout Drop = new(0.5);

        public TwoLayer() => RegisterModules(("fc1", Fc1), ("drop", Drop), ("fc2", Fc2));

        public override Tensor Forward(Tensor x) => Fc2.Forward(Drop.Forward(Fc1.Forward(x).Relu()));
    }

    sealed class Outer : Module
    {
        public readonly TwoLayer Body = new();
        public readonly Sequential Head = new(new Linear(2, 2), new Tanh());

        public Outer()
        {
            RegisterParameter("scale", Tensor.Ones(2));
            RegisterModules(("body", Body), ("head", Head));
        }

        public override Tensor Forward(Tensor x) => Head.Forward(Body.Forward(x)) * GetParameter("scale")!;
    }

    static Tensor T(double[] data, params long[] shape) => Tensor.FromArray(data, shape);

    [Fact]
    public void NamedParameters_UseDottedPyTorchKeys()
    {
        var seq = new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 2, bias: false));
        Assert.Equal(["0.weight", "0.bias", "2.weight"], seq.NamedParameters().Select(p => p.Name));
        Assert.Equal(["scale", "body.fc1.weight", "body.fc1.bias", "body.fc2.weight", "body.fc2.bias", "head.0.weight", "head.0.bias"],
            new Outer().NamedParameters().Select(p => p.Name));
        Assert.Equal(["", "body", "body.fc1", "body.drop", "body.fc2", "head", "head.0", "head.1"], new Outer().NamedModules().Select(m => m.Name));
        Assert.Equal(["scale"], new Outer().NamedParameters(recurse: false).Select(p => p.Name));
    }

    [Fact]
    public void ParameterCount_SumsEveryParameter()
    {
        Assert.Equal(784 * 100 + 100 + 100 * 10 + 10, new Sequential(new Linear(784, 100), new ReLU(), new Linear(100, 10)).ParameterCount);
        Assert.Equal(2 + (3 * 5 + 5) + (5 * 2 + 2) + (2 * 2 + 2), new Outer().ParameterCount);
    }

    [Fact]
    public void StateDict_RoundTrips_IntoAFreshModel()
    {
        var a = new Outer();
        var b = new Outer();
        a.Eval();
        b.Eval();
        var x = Tensor.Randn(4, 3);
        Assert.NotEqual(a.Forward(x).ToArray<float>(), b.Forward(x).ToArray<float>());
        b.LoadStateDict(a.StateDict());
        Assert.Equal(a.Forward(x).ToArray<float>(), b.Forward(x).ToArray<float>());
        Assert.Same(a.Body.Fc1.Weight, a.StateDict()["body.fc1.weight"]);
        Assert.NotSame(a.Body.Fc1.Weight, b.Body.Fc1.Weight);
    }

    [Fact]
    public void LoadStateDict_Strict_ListsMissingUnexpectedAndMisShapedKeys()
    {
        var model = new Sequential(new Linear(3, 4), new Linear(4, 2));
        var state = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value);
        state.Remove("1.bias");
        state["2.weight"] = Tensor.Zeros(1);
        state["0.weight"] = Tensor.Zeros(4, 5);
        var e = Assert.Throws<ArgumentException>(() => model.LoadStateDict(state));
        Assert.Contains("missing keys: 1.bias", e.Message);
        Assert.Contains("unexpected keys: 2.weight", e.Message);
        Assert.Contains("0.weight (expected [4, 3], got [4, 5])", e.Message);

        state["0.weight"] = Tensor.Ones(4, 3);
        model.LoadStateDict(state, strict: false);
        Assert.All(((Linear)model[0]).Weight.ToArray<float>(), v => Assert.Equal(1f, v));
        state["0.weight"] = Tensor.Zeros(3, 4);
        Assert.Throws<ArgumentException>(() => model.LoadStateDict(state, strict: false));
    }

    [Fact]
    public void TrainAndEval_PropagateToEveryDescendant()
    {
        var m = new Outer();
        Assert.All(m.NamedModules(), x => Assert.True(x.Module.IsTraining));
        m.Eval();
        Assert.All(m.NamedModules(), x => Assert.False(x.Module.IsTraining));
        m.Train();
        Assert.All(m.NamedModules(), x => Assert.True(x.Module.IsTraining));
        m.Body.Train(false);
        Assert.True(m.IsTraining);
        Assert.False(m.Body.Drop.IsTraining);
    }

    [Fact]
    public void Dropout_InTraining_ZeroesAboutPAndPreservesTheMean()
    {
        const int n = 100_000;
        const double p = 0.3;
        var y = new Dropout(p).Forward(Tensor.Ones(n)).ToArray<float>();
        double zeros = y.Count(v => v == 0) / (double)n;
        // Binomial standard deviation is sqrt(p(1−p)/n) ≈ 0.00145; 6 of them bound a false failure below 1e-8.
        Assert.InRange(zeros, p - 0.009, p + 0.009);
        Assert.All(y, v => Assert.True(v == 0 || Math.Abs(v - 1 / (1 - p)) < 1e-6, $"kept value {v}"));
        Assert.InRange(y.Average(v => (double)v), 1 - 0.013, 1 + 0.013);
    }

    [Fact]
    public void Dropout_InEval_IsTheIdentity_AndSeededRunsRepeat()
    {
        var x = Tensor.Randn(50);
        var d = new Dropout(0.5);
        d.Eval();
        Assert.Same(x, d.Forward(x));
        d.Train();
        Rng.ManualSeed(123);
        var first = d.Forward(x).ToArray<float>();
        Rng.ManualSeed(123);
        var second = d.Forward(x).ToArray<float>();
        Assert.Equal(first, second);
        Assert.NotEqual(first, d.Forward(x).ToArray<float>());
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(1.5));
    }

    [Fact]
    public void Dense_InfersItsInputSize_AndRefusesToShowParametersBeforeThen()
    {
        var dense = new Dense(4, activation: Activation.Relu);
        Assert.False(dense.IsBuilt);
        var e = Assert.Throws<InvalidOperationException>(() => dense.Weight);
        Assert.Contains("Dense", e.Message);
        Assert.Empty(dense.Parameters());
        var y = dense.Forward(Tensor.Randn(2, 7));
        Assert.Equal(new Shape(2, 4), y.Shape);
        Assert.All(y.ToArray<float>(), v => Assert.True(v >= 0));
        Assert.Equal(new Shape(4, 7), dense.Weight.Shape);
        Assert.Equal(7, dense.InFeatures);
        Assert.Equal(4 * 7 + 4, dense.ParameterCount);
        Assert.Throws<ArgumentException>(() => dense.Forward(Tensor.Randn(2, 6)));
        Assert.Equal(new Shape(5, 3), new Dense(3, 5).Weight.Shape); // (inFeatures, units)
    }

    [Fact]
    public void Dense_ConvertedBeforeItIsBuilt_CreatesItsParametersInThatDType()
    {
        var model = new Sequential(new Flatten(), new Dense(3));
        model.To(DType.Float64);
        var y = model.Forward(Tensor.Randn([2, 2, 2], DType.Float64));
        Assert.Equal(DType.Float64, y.DType);
        Assert.All(model.Parameters(), p => Assert.Equal(DType.Float64, p.DType));
        Assert.Equal(2, model.Parameters().Count());
        // Converting again after the build converts the built parameters as any module's.
        model.To(DType.Float32);
        Assert.All(model.Parameters(), p => Assert.Equal(DType.Float32, p.DType));
    }

    [Fact]
    public void ZeroGrad_ClearsEveryGradient()
    {
        var m = new Outer();
        m.Forward(Tensor.Randn(3, 3)).Sum().Backward();
        Assert.All(m.Parameters(), p => Assert.NotNull(p.Grad));
        m.ZeroGrad();
        Assert.All(m.Parameters(), p => Assert.Null(p.Grad));
    }

    [Fact]
    public void ToString_ShowsChildrenAndTheirSettings()
    {
        var s = new Sequential(new Linear(3, 4), new ReLU(), new Dropout(0.25)).ToString();
        Assert.Contains("(0): Linear(inFeatures: 3, outFeatures: 4, bias: True)", s);
        Assert.Contains("(1): ReLU()", s);
        Assert.Contains("(2): Dropout(p: 0.25)", s);
        Assert.StartsWith("Sequential(", s);
        var outer = new Outer().ToString();
        Assert.Contains("(body): TwoLayer(", outer);
        Assert.Contains("(fc2): Linear(inFeatures: 5, outFeatures: 2, bias: True)", outer);
    }

    [Fact]
    public void Linear_IsInitialisedWithinOneOverSqrtFanIn()
    {
        var fc = new Linear(400, 300);
        double bound = 1 / Math.Sqrt(400);
        var w = fc.Weight.ToArray<float>();
        var b = fc.Bias!.ToArray<float>();
        Assert.All(w, v => Assert.InRange(v, -bound, bound));
        Assert.All(b, v => Assert.InRange(v, -bound, bound));
        // Uniform on the whole interval: the extremes come near the bound and the variance is bound²/3.
        Assert.True(w.Max() > 0.99 * bound && w.Min() < -0.99 * bound);
        double variance = w.Average(v => (double)v * v);
        Assert.InRange(variance, bound * bound / 3 * 0.97, bound * bound / 3 * 1.03);
        Assert.True(b.Max() > 0.9 * bound && b.Min() < -0.9 * bound);
    }

    [Fact]
    public void Linear_ComputesXWTransposePlusB_AndPassesGradCheck()
    {
        var fc = new Linear(3, 2);
        fc.To(DType.Float64);
        using (Tensor.NoGrad())
        {
            fc.Weight.Copy_(T([1, 2, 3, -1, 0, 1], 2, 3));
            fc.Bias!.Copy_(T([0.5, -0.5], 2));
        }
        Assert.Equal([1 + 4 + 9 + 0.5, -1 + 3 - 0.5], fc.Forward(T([1, 2, 3], 1, 3)).ToArray<double>());
        var r = new System.Random(31);
        GradCheck.Assert(a => Functional.Linear(a[0], a[1], a[2]), [T(Rand(r, 8, -1, 1), 4, 2), T(Rand(r, 6, -1, 1), 3, 2), T(Rand(r, 3, -1, 1), 3)]);
        GradCheck.Assert(a => Functional.Linear(a[0], a[1]), [T(Rand(r, 12, -1, 1), 2, 3, 2), T(Rand(r, 6, -1, 1), 3, 2)]);
        var e = Assert.Throws<ArgumentException>(() => fc.Forward(Tensor.Zeros(2, 4)));
        Assert.Contains("[2, 4]", e.Message);
    }

    [Fact]
    public void ActivationModules_MatchTheirScalarDefinitions()
    {
        double[] x = [-2, -0.5, 0, 0.5, 2];
        var t = T(x, 5);
        void Same(Module m, Func<double, double> f) =>
            Assert.All(m.Forward(t).ToArray<double>().Zip(x), p => Assert.Equal(f(p.Second), p.First, 12));
        Same(new ReLU(), v => Math.Max(v, 0));
        Same(new Sigmoid(), v => 1 / (1 + Math.Exp(-v)));
        Same(new Tanh(), Math.Tanh);
        Same(new LeakyReLU(0.2), v => v > 0 ? v : 0.2 * v);
        Same(new ELU(1.5), v => v > 0 ? v : 1.5 * (Math.Exp(v) - 1));
        Same(new Softplus(), v => Math.Log(1 + Math.Exp(v)));
        Same(new GELU(), v => v * 0.5 * (1 + Erf(v / Math.Sqrt(2))));
        double z = x.Sum(Math.Exp);
        Same(new Softmax(0), v => Math.Exp(v) / z);
        Same(new LogSoftmax(0), v => v - Math.Log(z));
        Assert.Equal("LeakyReLU(negativeSlope: 0.2)", new LeakyReLU(0.2).ToString());
    }

    // Abramowitz–Stegun 7.1.26 is too coarse for 12 digits; integrate the Gaussian with Simpson's rule instead.
    static double Erf(double v)
    {
        const int steps = 20_000;
        double h = v / steps, s = 0;
        for (int i = 0; i <= steps; i++)
        {
            double w = i == 0 || i == steps ? 1 : i % 2 == 1 ? 4 : 2;
            s += w * Math.Exp(-(i * h) * (i * h));
        }
        return 2 / Math.Sqrt(Math.PI) * s * h / 3;
    }

    [Fact]
    public void ModuleTo_ConvertsParametersInPlace_KeepingTheirIdentity()
    {
        var fc = new Linear(2, 2);
        var w = fc.Weight;
        var before = w.ToArray<float>();
        fc.To(DType.Float64);
        Assert.Same(w, fc.Weight);
        Assert.Equal(DType.Float64, w.DType);
        Assert.True(w.RequiresGrad);
        Assert.Equal(before.Select(v => (double)v), w.ToArray<double>());
    }

    [Fact]
    public void RegisteringABadOrDuplicateName_Throws()
    {
        Assert.Throws<ArgumentException>(() => new BadNames(duplicate: true));
        Assert.Throws<ArgumentException>(() => new BadNames(duplicate: false));
    }

    sealed class BadNames : Module
    {
        public BadNames(bool duplicate)
        {
            RegisterModule("a", new ReLU());
            if (duplicate) RegisterParameter("a", Tensor.Ones(1));
            else RegisterModule("a.b", new ReLU());
        }

        public override Tensor Forward(Tensor x) => x;
    }
}
