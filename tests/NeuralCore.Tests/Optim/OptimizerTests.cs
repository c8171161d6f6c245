using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NeuralCore.Optim;
using static NeuralCore.Tests.Optim.OptimTestHelpers;

namespace NeuralCore.Tests.Optim;

/// <summary>Behaviour shared by every optimizer: penalties, groups, binding, Keras names, convergence.</summary>
public class OptimizerTests
{
    static readonly Func<IEnumerable<ParamGroup>, Optimizer>[] Plain =
    [
        p => new Sgd(p, lr: 0.1),
        p => new Sgd(p, lr: 0.1, momentum: 0.9, nesterov: true),
        p => new Adam(p, lr: 0.1),
        p => new Adam(p, lr: 0.1, amsgrad: true),
        p => new AdamW(p, lr: 0.1, weightDecay: 0),
        p => new RMSprop(p, lr: 0.1, momentum: 0.5, centered: true),
    ];

    [Property(MaxTest = 60)]
    public Property ZeroGradient_KeepsTheWeights() =>
        Prop.ForAll(
            Gen.ArrayOf(Gen.Choose(-100_000, 100_000).Select(i => i / 1000.0)).Where(a => a.Length > 0).ToArbitrary(),
            Gen.Choose(0, Plain.Length - 1).ToArbitrary(),
            (values, kind) =>
            {
                var w = Param(values);
                var opt = Plain[kind]([new ParamGroup([w])]);
                for (int s = 0; s < 3; s++)
                {
                    w.Grad = Tensor.ZerosLike(w);
                    opt.Step();
                }
                return w.ToArray<double>().SequenceEqual(values);
            });

    static double PenaltyOf(double[] w, double l1, double l2) => l1 * w.Sum(Math.Abs) + l2 * w.Sum(x => x * x);

    [Theory]
    [InlineData(0, true)]
    [InlineData(0, false)]
    [InlineData(1, true)]
    [InlineData(1, false)]
    [InlineData(2, true)]
    [InlineData(2, false)]
    [InlineData(5, true)]
    [InlineData(5, false)]
    public void L1L2Terms_EqualTheAutogradGradientOfThePenalty(int kind, bool fused)
    {
        const double l1 = 0.05, l2 = 0.1;
        // Optimizer with first-class penalties on the plain objective...
        var a = Param(W0);
        var withPenalty = Plain[kind]([new ParamGroup([a]) { L1 = l1, L2 = l2 }]);
        withPenalty.UseFusedKernels = fused;
        // ...and the same optimizer on objective + λ1·Σ|w| + λ2·Σw², differentiated by autograd.
        var b = Param(W0);
        var plain = Plain[kind]([new ParamGroup([b])]);
        var before = (double[])W0.Clone();
        for (int s = 0; s < 3; s++)
        {
            withPenalty.ZeroGrad();
            Objective(a).Backward();
            withPenalty.Step();
            Assert.Equal(PenaltyOf(before, l1, l2), withPenalty.LastPenalty, 12);

            plain.ZeroGrad();
            (Objective(b) + b.Abs().Sum() * l1 + b.Square().Sum() * l2).Backward();
            plain.Step();
            Assert.Equal(0, plain.LastPenalty);

            AssertClose([b.ToArray<double>()], [a.ToArray<double>()]);
            before = a.ToArray<double>();
        }
    }

    [Fact]
    public void ParamGroups_UseTheirOwnLrAndPenalties()
    {
        // Plain SGD, so one step is w − lr_g·(∇f + λ1·sign(w) + 2·λ2·w) per group.
        var a = Param(W0);
        var b = Param(W0);
        var ga = new ParamGroup([a]) { L2 = 0.2 };
        var gb = new ParamGroup([b]) { Lr = 0.5, L1 = 0.3 };
        var opt = new Sgd([ga, gb], lr: 0.1);
        Assert.Equal(0.1, opt.EffectiveLr(ga));
        Assert.Equal(0.5, opt.EffectiveLr(gb));
        (Objective(a) + Objective(b)).Backward();
        opt.Step();
        var g = Grad(W0);
        AssertClose([W0.Select((w, i) => w - 0.1 * (g[i] + 2 * 0.2 * w)).ToArray()], [a.ToArray<double>()]);
        AssertClose([W0.Select((w, i) => w - 0.5 * (g[i] + 0.3 * Math.Sign(w))).ToArray()], [b.ToArray<double>()]);
        Assert.Equal(PenaltyOf(W0, 0, 0.2) + PenaltyOf(W0, 0.3, 0), opt.LastPenalty, 12);

        opt.Lr = 0.01;
        Assert.Equal(0.01, opt.EffectiveLr(ga));
        Assert.Equal(0.5, opt.EffectiveLr(gb));
    }

    [Fact]
    public void InvalidParameters_AreRejected()
    {
        var w = Param(W0);
        Assert.Throws<ArgumentException>(() => new Sgd([new ParamGroup([w]), new ParamGroup([w])], lr: 0.1));
        Assert.Throws<ArgumentException>(() => new ParamGroup([w, w]));
        Assert.Throws<ArgumentException>(() => new ParamGroup([w * 2]));
        Assert.Throws<ArgumentException>(() => new ParamGroup([Tensor.Arange(3)]));
        Assert.Throws<ArgumentException>(() => new Adam(Array.Empty<Tensor>()));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ParamGroup([w]) { L1 = -1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new ParamGroup([w]) { L2 = double.PositiveInfinity });
    }

    [Fact]
    public void UnboundOptimizer_StepThrowsUntilBound()
    {
        var opt = new Adam(lr: 1e-3);
        Assert.False(opt.IsBound);
        opt.ZeroGrad();
        var ex = Assert.Throws<InvalidOperationException>(opt.Step);
        Assert.Contains("no parameters", ex.Message);
        Assert.Contains("Bind", ex.Message);

        var w = Param(W0);
        opt.Bind([w]);
        opt.Bind([w]);
        Assert.True(opt.IsBound);
        Assert.Throws<InvalidOperationException>(() => opt.Bind([Param(W0)]));
        Objective(w).Backward();
        opt.Step();
        Assert.NotEqual(W0, w.ToArray<double>());
    }

    [Theory]
    [InlineData("adam", typeof(Adam), 1e-3)]
    [InlineData("Adam", typeof(Adam), 1e-3)]
    [InlineData("SGD", typeof(Sgd), 0.01)]
    [InlineData("adamw", typeof(AdamW), 1e-3)]
    [InlineData("RMSprop", typeof(RMSprop), 1e-3)]
    public void KerasNames_GiveUnboundOptimizersWithKerasDefaults(string name, Type type, double lr)
    {
        Optimizer opt = name;
        Assert.IsType(type, opt);
        Assert.Equal(lr, opt.Lr);
        Assert.False(opt.IsBound);
    }

    [Fact]
    public void KerasNames_CarryKerasHyperparameters_AndUnknownNamesAreListed()
    {
        Assert.Equal(0.9, ((RMSprop)(Optimizer)"rmsprop").Alpha);
        Assert.Equal(1e-7, ((Adam)(Optimizer)"adam").Eps);
        Assert.Equal(0.004, ((AdamW)(Optimizer)"adamw").WeightDecay);
        var ex = Assert.Throws<ArgumentException>(() => { Optimizer o = "adagrad"; });
        Assert.Contains("adagrad", ex.Message);
        Assert.Contains("adam, adamw, sgd, rmsprop", ex.Message);
    }

    // min ‖A·w − b‖² has the closed-form solution of the normal equations AᵀA·w = Aᵀb.
    static readonly double[,] A = { { 2, 1, 0 }, { 1, 3, 1 }, { 0, 1, 4 }, { 1, 0, 1 } };
    static readonly double[] B = [1, 2, 3, 4];

    static double[] LeastSquares()
    {
        int n = 3;
        var m = new double[n, n + 1];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
                for (int k = 0; k < 4; k++) m[i, j] += A[k, i] * A[k, j];
            for (int k = 0; k < 4; k++) m[i, n] += A[k, i] * B[k];
        }
        for (int c = 0; c < n; c++)
            for (int r = 0; r < n; r++)
            {
                if (r == c) continue;
                double f = m[r, c] / m[c, c];
                for (int j = c; j <= n; j++) m[r, j] -= f * m[c, j];
            }
        return Enumerable.Range(0, n).Select(i => m[i, n] / m[i, i]).ToArray();
    }

    public static TheoryData<string> Convergers => new() { "sgd", "nesterov", "adam", "adamw", "rmsprop" };

    [Theory]
    [MemberData(nameof(Convergers))]
    public void ConvexQuadratic_ConvergesToTheClosedFormSolution(string kind)
    {
        const int steps = 3000;
        var a = Tensor.FromArray(A.Cast<double>().ToArray(), 4, 3);
        var b = Tensor.FromArray(B, 4, 1);
        var w = Tensor.Zeros([3, 1], DType.Float64).RequiresGrad_();
        Optimizer opt = kind switch
        {
            "sgd" => new Sgd([w], lr: 0.01, momentum: 0.9),
            "nesterov" => new Sgd([w], lr: 0.01, momentum: 0.9, nesterov: true),
            "adam" => new Adam([w], lr: 0.05),
            "adamw" => new AdamW([w], lr: 0.05, weightDecay: 0),
            _ => new RMSprop([w], lr: 0.01),
        };
        var schedule = new CosineAnnealingLR(opt, tMax: steps);
        for (int s = 0; s < steps; s++)
        {
            opt.ZeroGrad();
            (a.MatMul(w) - b).Square().Sum().Backward();
            opt.Step();
            schedule.Step();
        }
        var expected = LeastSquares();
        var actual = w.ToArray<double>();
        for (int i = 0; i < 3; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-3, $"{kind}: w[{i}] = {actual[i]}, solution {expected[i]}");
    }
}
