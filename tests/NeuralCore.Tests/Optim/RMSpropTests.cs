using NeuralCore.Optim;
using static NeuralCore.Tests.Optim.OptimTestHelpers;

namespace NeuralCore.Tests.Optim;

public class RMSpropTests
{
    // Reference: the RMSprop algorithm of the PyTorch documentation (torch.optim.RMSprop; Hinton's lecture 6e,
    // centered form after Graves 2013): g ← ∇f + λ·w; v ← α·v + (1 − α)·g²; centered: ḡ ← α·ḡ + (1 − α)·g,
    // ṽ = v − ḡ²; μ > 0: b ← μ·b + g/(√ṽ + ε), w ← w − γ·b; else w ← w − γ·g/(√ṽ + ε).
    static double[][] Reference(int steps, double lr, double alpha, double eps, double wd, double momentum, bool centered)
    {
        var w = (double[])W0.Clone();
        int n = w.Length;
        double[] v = new double[n], gbar = new double[n], b = new double[n];
        var result = new double[steps][];
        for (int t = 0; t < steps; t++)
        {
            var g = Grad(w);
            for (int i = 0; i < n; i++)
            {
                g[i] += wd * w[i];
                v[i] = alpha * v[i] + (1 - alpha) * g[i] * g[i];
                double vt = v[i];
                if (centered)
                {
                    gbar[i] = alpha * gbar[i] + (1 - alpha) * g[i];
                    vt -= gbar[i] * gbar[i];
                }
                double denom = Math.Sqrt(vt) + eps;
                if (momentum > 0)
                {
                    b[i] = momentum * b[i] + g[i] / denom;
                    w[i] -= lr * b[i];
                }
                else w[i] -= lr * g[i] / denom;
            }
            result[t] = (double[])w.Clone();
        }
        return result;
    }

    [Theory]
    [InlineData(0.99, 1e-8, 0.0, 0.0, false)]
    [InlineData(0.9, 1e-3, 0.0, 0.0, false)]
    [InlineData(0.99, 1e-8, 0.1, 0.0, false)]
    [InlineData(0.99, 1e-8, 0.0, 0.9, false)]
    [InlineData(0.9, 1e-8, 0.0, 0.0, true)]
    [InlineData(0.9, 1e-4, 0.05, 0.8, true)]
    public void FirstThreeSteps_MatchTheReferenceEquations(double alpha, double eps, double wd, double momentum, bool centered)
    {
        const double lr = 0.01;
        var w = Param(W0);
        var opt = new RMSprop([w], lr: lr, alpha: alpha, eps: eps, weightDecay: wd, momentum: momentum, centered: centered);
        var actual = Trajectory(w, opt, 3);
        var expected = Reference(3, lr, alpha, eps, wd, momentum, centered);
        AssertMoved(expected);
        AssertClose(expected, actual, 1e-11);
    }

    [Fact]
    public void Defaults_ArePyTorchs()
    {
        var opt = new RMSprop([Param(W0)]);
        Assert.Equal(1e-2, opt.Lr);
        Assert.Equal(0.99, opt.Alpha);
        Assert.Equal(1e-8, opt.Eps);
        Assert.False(opt.Centered);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RMSprop([Param(W0)], alpha: 1.5));
    }
}
