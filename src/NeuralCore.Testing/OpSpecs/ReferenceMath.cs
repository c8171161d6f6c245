namespace NeuralCore.Testing;

/// <summary>Scalar functions for reference implementations that .NET's <see cref="Math"/> lacks, computed by the most direct method available.</summary>
public static class ReferenceMath
{
    /// <summary>
    /// erf(x) = 2/√π ∫₀ˣ e^(−t²) dt by composite Simpson's rule with 4000 panels: slow but obviously right, and
    /// independent of the series/continued fraction the library uses. The error bound x·h⁴/180·max|f⁗| is
    /// below 1e-14 for |x| ≤ 6; beyond that erf is ±1 to double precision.
    /// </summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        if (Math.Abs(x) > 6) return Math.Sign(x);
        const int panels = 4000;
        double h = x / panels, sum = 1 + Math.Exp(-x * x);
        for (int i = 1; i < panels; i++)
        {
            double t = i * h;
            sum += (i % 2 == 1 ? 4 : 2) * Math.Exp(-t * t);
        }
        return 2 / Math.Sqrt(Math.PI) * sum * h / 3;
    }

    /// <summary>The logistic function 1/(1 + e^−x).</summary>
    public static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>GELU in its exact form x·Φ(x) = x·(1 + erf(x/√2))/2.</summary>
    public static double Gelu(double x) => 0.5 * x * (1 + Erf(x / Math.Sqrt(2)));
}
