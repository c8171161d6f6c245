using NeuralCore.Optim;

namespace NeuralCore.Tests.Optim;

/// <summary>
/// A small separable objective f(w) = Σ cᵢ·wᵢ²/2 + dᵢ·wᵢ (gradient cᵢ·wᵢ + dᵢ) run through autograd and the
/// optimizers, next to plain double-array reference loops written from the published update equations.
/// </summary>
internal static class OptimTestHelpers
{
    public static readonly double[] W0 = [0.5, -1.25, 2.0, -0.3];
    public static readonly double[] C = [1.0, 0.5, 2.0, 3.0];
    public static readonly double[] D = [-0.2, 0.4, 0.1, -0.7];

    /// <summary>∇f at <paramref name="w"/>, by hand.</summary>
    public static double[] Grad(double[] w) => w.Select((x, i) => C[i] * x + D[i]).ToArray();

    /// <summary>A Float64 leaf parameter holding a copy of <paramref name="values"/>.</summary>
    public static Tensor Param(double[] values) => Tensor.FromArray((double[])values.Clone(), values.Length).RequiresGrad_();

    /// <summary>f(w) as a tensor expression, so its gradient comes from autograd.</summary>
    public static Tensor Objective(Tensor w) =>
        (w.Square() * Tensor.FromArray(C, C.Length) * 0.5 + w * Tensor.FromArray(D, D.Length)).Sum();

    /// <summary>Runs <paramref name="steps"/> optimizer steps on f and returns the weights after each.</summary>
    public static double[][] Trajectory(Tensor w, Optimizer opt, int steps, Func<Tensor, Tensor>? objective = null)
    {
        var result = new double[steps][];
        for (int s = 0; s < steps; s++)
        {
            opt.ZeroGrad();
            (objective ?? Objective)(w).Backward();
            opt.Step();
            result[s] = w.ToArray<double>();
        }
        return result;
    }

    /// <summary>Asserts |expected − actual| ≤ tol·max(1, |expected|) elementwise, naming the step and index.</summary>
    public static void AssertClose(double[][] expected, double[][] actual, double tol = 1e-12)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int s = 0; s < expected.Length; s++)
            for (int i = 0; i < expected[s].Length; i++)
                Assert.True(Math.Abs(expected[s][i] - actual[s][i]) <= tol * Math.Max(1, Math.Abs(expected[s][i])),
                    $"step {s + 1}, element {i}: expected {expected[s][i]:R}, got {actual[s][i]:R}");
    }

    /// <summary>Asserts that the steps actually moved the weights (guards against a reference that never updates).</summary>
    public static void AssertMoved(double[][] trajectory)
    {
        var before = W0;
        foreach (var w in trajectory)
        {
            Assert.True(w.Zip(before).Any(p => Math.Abs(p.First - p.Second) > 1e-6), "a step left the weights unchanged");
            before = w;
        }
    }
}
