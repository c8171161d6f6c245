namespace NeuralCore.Explain;

/// <summary>A local linear surrogate fitted by <see cref="Lime"/>.</summary>
public sealed class LimeResult
{
    internal LimeResult(double[] coefficients, double intercept, double r2)
    {
        Coefficients = coefficients;
        Intercept = intercept;
        R2 = r2;
    }

    /// <summary>One coefficient per feature group (binary form) or per element (continuous form).</summary>
    public double[] Coefficients { get; }

    /// <summary>The surrogate's intercept.</summary>
    public double Intercept { get; }

    /// <summary>The kernel-weighted R² of the surrogate on the perturbations (1 is a perfect local fit).</summary>
    public double R2 { get; }
}
