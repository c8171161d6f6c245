namespace NeuralCore.Tests.Backends.Cpu;

/// <summary>
/// Tanh on dense CPU tensors against Math.Tanh across magnitudes, near zero in particular, where the exponential
/// formula of the vectorised library path cancels (it gave 2.7e-5 relative error at 0.001 in Float32).
/// </summary>
public class TanhAccuracyTests
{
    static IEnumerable<double> Inputs()
    {
        for (int e = -40; e <= 1; e++)
            foreach (double m in new[] { 1.0, 1.37, 2.9, 5.5, 7.9 })
            {
                double v = m * Math.Pow(10, e / 2.0);
                yield return v;
                yield return -v;
            }
        for (double v = 0.5; v < 0.6; v += 0.003) yield return v;
        for (double v = 0.15; v < 0.3; v += 0.0037) yield return v;
        foreach (double v in new[] { 0.0, -0.0, 1e-45, 20.0, -20.0, 400.0, double.PositiveInfinity, double.NegativeInfinity }) yield return v;
    }

    [Fact]
    public void Float32_IsWithinTwoUlpOfMath()
    {
        var x = Inputs().Select(v => (float)v).ToArray();
        var y = Tensor.FromArray(x, x.Length).Tanh().ToArray<float>();
        for (int i = 0; i < x.Length; i++)
        {
            float expected = (float)Math.Tanh(x[i]);
            float tolerance = 2 * MathF.BitIncrement(MathF.Abs(expected)) - 2 * MathF.Abs(expected);
            Assert.True(MathF.Abs(y[i] - expected) <= tolerance, $"tanh({x[i]:R}) = {y[i]:R}, expected {expected:R}");
        }
    }

    [Fact]
    public void Float64_IsWithinEightUlpOfMath()
    {
        var x = Inputs().ToArray();
        var y = Tensor.FromArray(x, x.Length).Tanh().ToArray<double>();
        for (int i = 0; i < x.Length; i++)
        {
            double expected = Math.Tanh(x[i]);
            double tolerance = 8 * (Math.BitIncrement(Math.Abs(expected)) - Math.Abs(expected));
            Assert.True(Math.Abs(y[i] - expected) <= tolerance, $"tanh({x[i]:R}) = {y[i]:R}, expected {expected:R}");
        }
    }
}
