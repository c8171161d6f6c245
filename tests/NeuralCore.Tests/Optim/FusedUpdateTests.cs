using NeuralCore.Optim;

namespace NeuralCore.Tests.Optim;

/// <summary>
/// The one-pass updates of a backend with <see cref="NeuralCore.Backends.IFusedOptimizerKernels"/> against the
/// composed tensor-op updates every backend runs: same weights and state after several steps, on parameters
/// large enough to cover the vector loop, its scalar tail and several parallel chunks.
/// </summary>
public class FusedUpdateTests
{
    public static TheoryData<string> Configurations => new()
    {
        "adam", "adam-wd", "adam-amsgrad", "adamw", "adamw-amsgrad", "adam-l1l2",
        "sgd", "sgd-momentum", "sgd-dampening", "sgd-nesterov-wd", "sgd-maximize", "sgd-l1l2",
    };

    static Optimizer Create(string config, Tensor[] ps)
    {
        var group = new ParamGroup(ps);
        if (config.EndsWith("-l1l2", StringComparison.Ordinal)) { group.L1 = 1e-3; group.L2 = 2e-3; }
        return config switch
        {
            "adam" or "adam-l1l2" => new Adam([group], lr: 0.01),
            "adam-wd" => new Adam([group], lr: 0.01, weightDecay: 0.1),
            "adam-amsgrad" => new Adam([group], lr: 0.01, betas: (0.5, 0.6), amsgrad: true, weightDecay: 0.05),
            "adamw" => new AdamW([group], lr: 0.01, weightDecay: 0.1),
            "adamw-amsgrad" => new AdamW([group], lr: 0.01, betas: (0.5, 0.6), amsgrad: true),
            "sgd" => new Sgd([group], lr: 0.05),
            "sgd-momentum" or "sgd-l1l2" => new Sgd([group], lr: 0.05, momentum: 0.9),
            "sgd-dampening" => new Sgd([group], lr: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 0.01),
            "sgd-nesterov-wd" => new Sgd([group], lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.1),
            "sgd-maximize" => new Sgd([group], lr: 0.05, momentum: 0.5, maximize: true),
            _ => throw new ArgumentException(config),
        };
    }

    // Parameters of sizes that exercise the whole-vector loop, the scalar tail and more than one 16K chunk.
    static readonly long[][] Shapes = [[171, 233], [7], [1000]];

    static (Tensor[] Params, Tensor[][] Grads) Problem(DType dtype, int steps)
    {
        var gen = new Generator(7);
        var ps = Shapes.Select(s => Tensor.Randn(s, dtype, gen).RequiresGrad_()).ToArray();
        var grads = Enumerable.Range(0, steps).Select(_ => Shapes.Select(s => Tensor.Randn(s, dtype, gen)).ToArray()).ToArray();
        return (ps, grads);
    }

    static Tensor[] Run(string config, DType dtype, bool fused, int steps, out Optimizer opt)
    {
        var (ps, grads) = Problem(dtype, steps);
        opt = Create(config, ps);
        opt.UseFusedKernels = fused;
        for (int s = 0; s < steps; s++)
        {
            for (int i = 0; i < ps.Length; i++) ps[i].Grad = grads[s][i];
            opt.Step();
        }
        return ps;
    }

    static void AssertNear(Tensor expected, Tensor actual, double tol, string what)
    {
        var e = expected.To(DType.Float64).ToArray<double>();
        var a = actual.To(DType.Float64).ToArray<double>();
        Assert.Equal(e.Length, a.Length);
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= tol * Math.Max(1, Math.Abs(e[i])), $"{what}, element {i}: composed {e[i]:R}, fused {a[i]:R}");
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void FusedAndComposed_AgreeOnWeightsAndState(string config)
    {
        foreach (var (dtype, tol) in new[] { (DType.Float32, 1e-6), (DType.Float64, 1e-14) })
        {
            var composed = Run(config, dtype, fused: false, steps: 4, out var composedOpt);
            var fused = Run(config, dtype, fused: true, steps: 4, out var fusedOpt);
            for (int i = 0; i < composed.Length; i++)
            {
                AssertNear(composed[i], fused[i], tol, $"{config} {dtype} parameter {i}");
                var cs = composedOpt.GetState(composed[i]);
                var fs = fusedOpt.GetState(fused[i]);
                Assert.Equal(cs is null, fs is null);
                if (cs is null) continue;
                Assert.Equal(cs.Step, fs!.Step);
                Assert.Equal(cs.Tensors.Keys.Order(), fs.Tensors.Keys.Order());
                foreach (var (name, t) in cs.Tensors) AssertNear(t, fs.Tensors[name], tol, $"{config} {dtype} state {name} of parameter {i}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void FusedStep_CreatesNoTemporaryTensors(string config)
    {
        var (ps, grads) = Problem(DType.Float32, 2);
        var opt = Create(config, ps);
        // With L1/L2 groups the step also evaluates the penalty sums for LastPenalty (|w| and w² temporaries).
        int penaltyTemporaries = config.EndsWith("-l1l2", StringComparison.Ordinal) ? 2 * ps.Length : 0;
        for (int s = 0; s < 2; s++)
        {
            for (int i = 0; i < ps.Length; i++) ps[i].Grad = grads[s][i];
            using var scope = Tensor.Scope();
            opt.Step();
            Assert.Equal(penaltyTemporaries, scope.Count);
        }
        opt.UseFusedKernels = false;
        using (var scope = Tensor.Scope())
        {
            opt.Step();
            Assert.True(scope.Count > penaltyTemporaries, "the composed update creates temporaries, so this test tells the paths apart");
        }
    }

    [Fact]
    public void NonContiguousGradientOrState_FallsBackToTheComposedUpdate()
    {
        var gen = new Generator(3);
        var w1 = Tensor.Randn([6, 5], DType.Float32, gen).RequiresGrad_();
        var w2 = w1.Detach().Clone().RequiresGrad_();
        var g = Tensor.Randn([5, 6], DType.Float32, gen);
        var fused = new Adam([w1], lr: 0.1);
        var composed = new Adam([w2], lr: 0.1) { UseFusedKernels = false };
        for (int s = 0; s < 3; s++)
        {
            w1.Grad = g.T;   // a transposed view: not dense, so the fused kernel must not be used
            w2.Grad = g.T;
            fused.Step();
            composed.Step();
        }
        AssertNear(w2, w1, 1e-6, "transposed gradient");
    }

    [Fact]
    public void Float32Parameters_FollowTheDoubleReferenceOfAdam()
    {
        // The first steps of the fused Float32 Adam against the double-precision reference loop.
        var w = Tensor.FromArray(OptimTestHelpers.W0.Select(x => (float)x).ToArray(), OptimTestHelpers.W0.Length).RequiresGrad_();
        var opt = new Adam([w], lr: 0.1, weightDecay: 0.1);
        var expected = AdamTests.Reference(3, 0.1, 0.9, 0.999, 1e-8, 0.1, false, false, out _);
        for (int s = 0; s < 3; s++)
        {
            var wd = w.To(DType.Float64).ToArray<double>();
            w.Grad = Tensor.FromArray(OptimTestHelpers.Grad(wd).Select(x => (float)x).ToArray(), wd.Length);
            opt.Step();
            var actual = w.To(DType.Float64).ToArray<double>();
            for (int i = 0; i < actual.Length; i++)
                Assert.True(Math.Abs(expected[s][i] - actual[i]) <= 1e-5, $"step {s + 1}, element {i}: expected {expected[s][i]:R}, got {actual[i]:R}");
        }
    }
}
