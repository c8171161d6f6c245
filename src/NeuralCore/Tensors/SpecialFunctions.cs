namespace NeuralCore;

/// <summary>An exponential function, so that the special functions can run on another implementation of exp (the GPU backend's device math).</summary>
internal interface IExpFunction
{
    /// <summary>e^x.</summary>
    double Exp(double x);
}

/// <summary>.NET's <see cref="Math.Exp"/>.</summary>
internal readonly struct HostExp : IExpFunction
{
    /// <inheritdoc />
    public double Exp(double x) => Math.Exp(x);
}

/// <summary>Special functions .NET's Math lacks, accurate to double precision.</summary>
internal static class SpecialFunctions
{
    internal const double InvSqrt2 = 0.70710678118654752440;
    internal const double InvSqrtPi = 0.56418958354775628695;

    /// <summary>
    /// The error function. |x| ≤ 2.5: its Maclaurin series (terms stay below 20 in magnitude there, so no more
    /// than two digits of cancellation); beyond: erfc by its continued fraction (Lentz), which converges fast
    /// for large x. Relative error below 1e-14 on both branches.
    /// </summary>
    internal static double Erf(double x) => Erf<HostExp>(x);

    /// <summary>The error function with the exponential of <typeparamref name="TExp"/> (its loops run at most 60 and 200 steps).</summary>
    internal static double Erf<TExp>(double x) where TExp : struct, IExpFunction
    {
        if (double.IsNaN(x)) return x;
        double ax = Math.Abs(x);
        if (ax <= 2.5)
        {
            double x2 = x * x, term = x, sum = x;
            for (int n = 1; n < 60; n++)
            {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
            }
            return 2 * InvSqrtPi * sum;
        }
        double erfc = Erfc<TExp>(ax);
        return x > 0 ? 1 - erfc : erfc - 1;
    }

    // erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))) for x > 0, evaluated with
    // the modified Lentz algorithm.
    static double Erfc<TExp>(double x) where TExp : struct, IExpFunction
    {
        if (x > 27) return 0;
        const double tiny = 1e-300;
        double f = x, c = x, d = 0;
        for (int n = 1; n < 200; n++)
        {
            double a = n * 0.5;
            d = x + a * d;
            if (d == 0) d = tiny;
            c = x + a / c;
            if (c == 0) c = tiny;
            d = 1 / d;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return default(TExp).Exp(-x * x) * InvSqrtPi / f;
    }
}
