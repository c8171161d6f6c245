namespace NeuralCore.Privacy.Accounting;

/// <summary>
/// Rényi-DP of the Poisson-subsampled Gaussian mechanism (Mironov, Talwar and Zhang 2019, "Rényi Differential
/// Privacy of the Sampled Gaussian Mechanism"), computed in log space. For a sampling rate q and a noise
/// multiplier σ the mechanism is (α, log(A_α)/(α − 1))-RDP with
/// A_α = E_{z∼N(0,σ²)}[((1 − q) + q·exp((2z − 1)/(2σ²)))^α]: for integer α by the binomial expansion (their
/// section 3.3), for fractional α by the two series of their section 3.4.
/// </summary>
internal static class RdpMath
{
    const double LogPi = 1.14472988584940017414;

    /// <summary>The RDP ε(α) of one step.</summary>
    public static double StepRdp(double q, double sigma, double order)
    {
        if (q == 0) return 0;
        if (sigma == 0 || double.IsPositiveInfinity(order)) return double.PositiveInfinity;
        if (q == 1.0) return order / (2 * sigma * sigma);
        double logA = order == Math.Floor(order) ? LogAInteger(q, sigma, (int)order) : LogAFractional(q, sigma, order);
        return logA / (order - 1);
    }

    /// <summary>log A_α for integer α ≥ 2: log Σ_k C(α,k)(1−q)^(α−k) q^k exp((k² − k)/(2σ²)).</summary>
    static double LogAInteger(double q, double sigma, int alpha)
    {
        double logQ = Math.Log(q), log1MinusQ = Log1P(-q), twoS2 = 2 * sigma * sigma;
        double logA = double.NegativeInfinity;
        for (int k = 0; k <= alpha; k++)
        {
            double term = LogBinomial(alpha, k) + k * logQ + (alpha - k) * log1MinusQ + ((double)k * k - k) / twoS2;
            logA = LogAdd(logA, term);
        }
        return logA;
    }

    /// <summary>log A_α for fractional α > 1 by the two series of Mironov et al. (section 3.4), summed until both terms fall below e^−30.</summary>
    static double LogAFractional(double q, double sigma, double alpha)
    {
        double logA0 = double.NegativeInfinity, logA1 = double.NegativeInfinity;
        double logQ = Math.Log(q), log1MinusQ = Log1P(-q), twoS2 = 2 * sigma * sigma, sqrt2S = Math.Sqrt(2) * sigma;
        // The point where the two Gaussians' densities, weighted by q and 1 − q, cross.
        double z0 = sigma * sigma * Math.Log(1 / q - 1) + 0.5;
        double logCoef = 0; // log |C(α, i)|, generalized binomial
        int sign = 1;
        for (int i = 0; i < 100_000; i++)
        {
            if (i > 0)
            {
                double factor = (alpha - (i - 1)) / i;
                if (factor == 0) break;
                if (factor < 0) sign = -sign;
                logCoef += Math.Log(Math.Abs(factor));
            }
            double j = alpha - i;
            double logT0 = logCoef + i * logQ + j * log1MinusQ;
            double logT1 = logCoef + j * logQ + i * log1MinusQ;
            double logE0 = Math.Log(0.5) + LogErfc((i - z0) / sqrt2S);
            double logE1 = Math.Log(0.5) + LogErfc((z0 - j) / sqrt2S);
            double logS0 = logT0 + ((double)i * i - i) / twoS2 + logE0;
            double logS1 = logT1 + (j * j - j) / twoS2 + logE1;
            if (sign > 0)
            {
                logA0 = LogAdd(logA0, logS0);
                logA1 = LogAdd(logA1, logS1);
            }
            else
            {
                logA0 = LogSub(logA0, logS0);
                logA1 = LogSub(logA1, logS1);
            }
            if (Math.Max(logS0, logS1) < -30) break;
        }
        return LogAdd(logA0, logA1);
    }

    static double LogBinomial(int n, int k) => LogFactorial(n) - LogFactorial(k) - LogFactorial(n - k);

    static double LogFactorial(int n)
    {
        double s = 0;
        for (int i = 2; i <= n; i++) s += Math.Log(i);
        return s;
    }

    /// <summary>log(e^a + e^b) without overflow.</summary>
    internal static double LogAdd(double a, double b)
    {
        if (double.IsNegativeInfinity(a)) return b;
        if (double.IsNegativeInfinity(b)) return a;
        double hi = Math.Max(a, b), lo = Math.Min(a, b);
        return hi + Log1P(Math.Exp(lo - hi));
    }

    /// <summary>log(e^a − e^b) for a ≥ b; −∞ when they are equal. Rounding can make a partial sum dip below a term
    /// of comparable size: that difference is then taken as zero (−∞), as it is far below the series' precision.</summary>
    internal static double LogSub(double a, double b)
    {
        if (double.IsNegativeInfinity(b)) return a;
        if (b >= a) return double.NegativeInfinity;
        return a + Math.Log(-ExpM1(b - a));
    }

    /// <summary>log(1 + x), accurate for small x (Kahan's correction; .NET's own is log(x + 1)).</summary>
    internal static double Log1P(double x)
    {
        double u = 1 + x;
        return u == 1 ? x : Math.Log(u) * x / (u - 1);
    }

    /// <summary>e^x − 1, accurate for small x (Kahan's correction).</summary>
    internal static double ExpM1(double x)
    {
        double u = Math.Exp(x);
        if (u == 1) return x;
        double um1 = u - 1;
        return um1 == -1 ? -1 : um1 * x / Math.Log(u);
    }

    /// <summary>log erfc(x), accurate in the far tail (x up to ~1e150) where erfc underflows.</summary>
    internal static double LogErfc(double x)
    {
        if (x < 2) return Math.Log(Erfc(x));
        // erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated by the modified Lentz method.
        return -x * x - 0.5 * LogPi + Math.Log(ErfcContinuedFraction(x));
    }

    /// <summary>erfc(x) for any x, to about 1e−15 relative accuracy.</summary>
    internal static double Erfc(double x)
    {
        if (x < 0) return 2 - Erfc(-x);
        if (x >= 2) return Math.Exp(-x * x - 0.5 * LogPi) * ErfcContinuedFraction(x);
        // erf(x) = 2/√π · e^(−x²) · Σ_n 2^n x^(2n+1)/(1·3·…·(2n+1)): positive terms, no cancellation.
        double term = x, sum = x, x2 = x * x;
        for (int n = 1; n < 200; n++)
        {
            term *= 2 * x2 / (2 * n + 1);
            sum += term;
            if (term < sum * 1e-17) break;
        }
        double erf = 2 * Math.Exp(-x2 - 0.5 * LogPi) * sum;
        return 1 - erf;
    }

    // 1/(x + a1/(x + a2/(x + ...))) with a_n = n/2.
    static double ErfcContinuedFraction(double x)
    {
        const double tiny = 1e-300;
        double f = x, c = x, d = 0;
        for (int n = 1; n < 500; n++)
        {
            double a = n / 2.0;
            d = x + a * d;
            if (Math.Abs(d) < tiny) d = tiny;
            c = x + a / c;
            if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return 1 / f;
    }

}
