using NeuralCore.Optim;
using static NeuralCore.Tests.Optim.OptimTestHelpers;

namespace NeuralCore.Tests.Optim;

public class SgdTests
{
    // Reference: the SGD algorithm of the PyTorch documentation (torch.optim.SGD), in the order of its
    // implementation (_single_tensor_sgd): g ← ±∇f (− when maximizing); g ← g + λ·w; b₁ = g, bₜ = μ·bₜ₋₁ + (1 − τ)·g;
    // g ← g + μ·b (Nesterov) or b; w ← w − γ·g.
    static double[][] Reference(int steps, double lr, double momentum, double dampening, bool nesterov, double wd, bool maximize)
    {
        var w = (double[])W0.Clone();
        double[]? b = null;
        var result = new double[steps][];
        for (int t = 0; t < steps; t++)
        {
            var g = Grad(w);
            for (int i = 0; i < w.Length; i++)
            {
                if (maximize) g[i] = -g[i];
                g[i] += wd * w[i];
            }
            if (momentum != 0)
            {
                if (b is null) b = (double[])g.Clone();
                else for (int i = 0; i < w.Length; i++) b[i] = momentum * b[i] + (1 - dampening) * g[i];
                for (int i = 0; i < w.Length; i++) g[i] = nesterov ? g[i] + momentum * b[i] : b[i];
            }
            for (int i = 0; i < w.Length; i++) w[i] -= lr * g[i];
            result[t] = (double[])w.Clone();
        }
        return result;
    }

    [Theory]
    [InlineData(0.0, 0.0, false, 0.0, false, true)]
    [InlineData(0.0, 0.0, false, 0.0, false, false)]
    [InlineData(0.9, 0.0, false, 0.0, false, true)]
    [InlineData(0.9, 0.0, false, 0.0, false, false)]
    [InlineData(0.9, 0.5, false, 0.0, false, true)]
    [InlineData(0.9, 0.5, false, 0.0, false, false)]
    [InlineData(0.9, 0.0, true, 0.0, false, true)]
    [InlineData(0.9, 0.0, true, 0.0, false, false)]
    [InlineData(0.8, 0.0, true, 0.1, false, true)]
    [InlineData(0.8, 0.0, true, 0.1, false, false)]
    [InlineData(0.7, 0.3, false, 0.05, false, true)]
    [InlineData(0.7, 0.3, false, 0.05, false, false)]
    [InlineData(0.5, 0.0, false, 0.0, true, true)]
    [InlineData(0.5, 0.0, false, 0.0, true, false)]
    public void FirstThreeSteps_MatchTheReferenceEquations(double momentum, double dampening, bool nesterov, double wd, bool maximize, bool fused)
    {
        const double lr = 0.1;
        var w = Param(W0);
        var opt = new Sgd([w], lr: lr, momentum: momentum, dampening: dampening, nesterov: nesterov, weightDecay: wd, maximize: maximize) { UseFusedKernels = fused };
        var actual = Trajectory(w, opt, 3);
        var expected = Reference(3, lr, momentum, dampening, nesterov, wd, maximize);
        AssertMoved(expected);
        AssertClose(expected, actual);
    }

    [Fact]
    public void Step_DoesNotModifyTheGradient()
    {
        var w = Param(W0);
        var opt = new Sgd([w], lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.1);
        Objective(w).Backward();
        var before = w.Grad!.ToArray<double>();
        opt.Step();
        Assert.Equal(before, w.Grad!.ToArray<double>());
        Assert.Equal(Grad(W0), before);
    }

    [Fact]
    public void Nesterov_WithoutMomentumOrWithDampening_Throws()
    {
        var w = Param(W0);
        Assert.Throws<ArgumentException>(() => new Sgd([w], lr: 0.1, nesterov: true));
        Assert.Throws<ArgumentException>(() => new Sgd([w], lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([w], lr: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([w], lr: 0.1, momentum: -1));
    }

    [Fact]
    public void GroupMomentumOverride_IsUsed()
    {
        // Group 0 overrides momentum to 0 (plain SGD); group 1 uses the optimizer's 0.9.
        var a = Param(W0);
        var b = Param(W0);
        var opt = new Sgd([new ParamGroup([a]) { Momentum = 0 }, new ParamGroup([b])], lr: 0.1, momentum: 0.9);
        for (int s = 0; s < 3; s++)
        {
            opt.ZeroGrad();
            (Objective(a) + Objective(b)).Backward();
            opt.Step();
        }
        AssertClose([Reference(3, 0.1, 0, 0, false, 0, false)[2]], [a.ToArray<double>()]);
        AssertClose([Reference(3, 0.1, 0.9, 0, false, 0, false)[2]], [b.ToArray<double>()]);
        Assert.Null(opt.GetState(a));
        Assert.NotNull(opt.GetState(b));
    }

    [Fact]
    public void ParametersWithoutGradient_AreSkipped()
    {
        var w = Param(W0);
        var unused = Param([1.0, 2.0]);
        var opt = new Sgd([w, unused], lr: 0.1, momentum: 0.9);
        Trajectory(w, opt, 2);
        Assert.Equal([1.0, 2.0], unused.ToArray<double>());
        Assert.Null(opt.GetState(unused));
    }
}
