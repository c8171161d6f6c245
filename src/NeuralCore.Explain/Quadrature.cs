namespace NeuralCore.Explain;

/// <summary>Nodes and weights on [0, 1] for the integration rules.</summary>
internal static class Quadrature
{
    public static (double[] Nodes, double[] Weights) For(IntegrationRule rule, int steps) => rule switch
    {
        IntegrationRule.Trapezoid => Trapezoid(steps),
        IntegrationRule.GaussLegendre => GaussLegendre(steps),
        _ => throw new ArgumentOutOfRangeException(nameof(rule), rule, "Unknown integration rule."),
    };

    static (double[], double[]) Trapezoid(int steps)
    {
        var nodes = new double[steps + 1];
        var weights = new double[steps + 1];
        for (int i = 0; i <= steps; i++)
        {
            nodes[i] = (double)i / steps;
            weights[i] = (i == 0 || i == steps ? 0.5 : 1.0) / steps;
        }
        return (nodes, weights);
    }

    // Roots of the Legendre polynomial P_n by Newton's method from Chebyshev-like starting points, mapped from
    // [-1, 1] to [0, 1] (weights halve).
    static (double[], double[]) GaussLegendre(int n)
    {
        var nodes = new double[n];
        var weights = new double[n];
        for (int i = 0; i < n; i++)
        {
            double x = Math.Cos(Math.PI * (i + 0.75) / (n + 0.5));
            double dp = 1;
            for (int iter = 0; iter < 100; iter++)
            {
                double p0 = 1, p1 = x;
                for (int k = 2; k <= n; k++) (p0, p1) = (p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k);
                dp = n * (x * p1 - p0) / (x * x - 1);
                double dx = p1 / dp;
                x -= dx;
                if (Math.Abs(dx) < 1e-15) break;
            }
            nodes[n - 1 - i] = (x + 1) / 2;
            weights[n - 1 - i] = 1 / ((1 - x * x) * dp * dp);
        }
        return (nodes, weights);
    }
}
