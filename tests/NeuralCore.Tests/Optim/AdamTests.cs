using NeuralCore.Optim;
using static NeuralCore.Tests.Optim.OptimTestHelpers;

namespace NeuralCore.Tests.Optim;

public class AdamTests
{
    // Reference: Kingma & Ba (2015), Algorithm 1, with PyTorch's eps placement (torch.optim.Adam docs):
    // t ← t + 1; g ← ∇f + λ·w (coupled decay, Adam) ; m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
    // AMSGrad (Reddi et al. 2018, PyTorch form): v̂ ← max(v̂, v), used in place of v;
    // w ← w − γ/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε).
    // AdamW (Loshchilov & Hutter 2019, Algorithm 2 as PyTorch implements it): first w ← w·(1 − γ·λ), and no λ·w in g.
    internal static double[][] Reference(int steps, double lr, double b1, double b2, double eps, double wd, bool amsgrad,
        bool decoupled, out bool maxMattered)
    {
        var w = (double[])W0.Clone();
        int n = w.Length;
        double[] m = new double[n], v = new double[n], vmax = new double[n];
        var result = new double[steps][];
        maxMattered = false;
        for (int t = 1; t <= steps; t++)
        {
            var g = Grad(w);
            for (int i = 0; i < n; i++)
            {
                if (decoupled) w[i] *= 1 - lr * wd;
                else g[i] += wd * w[i];
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                if (vmax[i] > v[i]) maxMattered = true;
                vmax[i] = Math.Max(vmax[i], v[i]);
                double second = amsgrad ? vmax[i] : v[i];
                double denom = Math.Sqrt(second) / Math.Sqrt(1 - Math.Pow(b2, t)) + eps;
                w[i] -= lr / (1 - Math.Pow(b1, t)) * m[i] / denom;
            }
            result[t - 1] = (double[])w.Clone();
        }
        return result;
    }

    [Theory]
    [InlineData(0.1, 0.9, 0.999, 1e-8, 0.0, false, true)]
    [InlineData(0.1, 0.9, 0.999, 1e-8, 0.0, false, false)]
    [InlineData(0.1, 0.8, 0.99, 1e-2, 0.0, false, true)]
    [InlineData(0.1, 0.8, 0.99, 1e-2, 0.0, false, false)]
    [InlineData(0.1, 0.9, 0.999, 1e-8, 0.1, false, true)]
    [InlineData(0.1, 0.9, 0.999, 1e-8, 0.1, false, false)]
    [InlineData(0.9, 0.5, 0.6, 1e-3, 0.0, true, true)]
    [InlineData(0.9, 0.5, 0.6, 1e-3, 0.0, true, false)]
    [InlineData(0.9, 0.5, 0.6, 1e-3, 0.2, true, true)]
    [InlineData(0.9, 0.5, 0.6, 1e-3, 0.2, true, false)]
    public void FirstThreeSteps_MatchTheReferenceEquations(double lr, double b1, double b2, double eps, double wd, bool amsgrad, bool fused)
    {
        var w = Param(W0);
        var opt = new Adam([w], lr: lr, betas: (b1, b2), eps: eps, weightDecay: wd, amsgrad: amsgrad) { UseFusedKernels = fused };
        var actual = Trajectory(w, opt, 3);
        var expected = Reference(3, lr, b1, b2, eps, wd, amsgrad, decoupled: false, out bool maxMattered);
        AssertMoved(expected);
        AssertClose(expected, actual);
        if (amsgrad)
        {
            Assert.True(maxMattered, "the AMSGrad case must reach a step where the running max differs from v");
            var plain = Reference(3, lr, b1, b2, eps, wd, false, false, out _);
            Assert.NotEqual(plain[2], expected[2]);
        }
        Assert.Equal(3, opt.GetState(w)!.Step);
    }

    [Fact]
    public void Defaults_ArePyTorchs()
    {
        var opt = new Adam([Param(W0)]);
        Assert.Equal(1e-3, opt.Lr);
        Assert.Equal((0.9, 0.999), opt.Betas);
        Assert.Equal(1e-8, opt.Eps);
        Assert.Equal(0, opt.WeightDecay);
        Assert.False(opt.Amsgrad);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([Param(W0)], betas: (1.0, 0.999)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([Param(W0)], eps: -1));
    }

    [Fact]
    public void StateTensors_SurviveTheScopeOfTheStep()
    {
        var w = Param(W0);
        var opt = new Adam([w], lr: 0.1, amsgrad: true);
        for (int s = 0; s < 3; s++)
            using (Tensor.Scope())
            {
                opt.ZeroGrad();
                Objective(w).Backward();
                opt.Step();
            }
        var state = opt.GetState(w)!;
        Assert.All(state.Tensors.Values, t => Assert.False(t.IsDisposed));
        var expected = Reference(3, 0.1, 0.9, 0.999, 1e-8, 0, true, false, out _);
        AssertClose([expected[2]], [w.ToArray<double>()]);
    }
}
