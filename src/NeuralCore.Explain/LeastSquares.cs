namespace NeuralCore.Explain;

/// <summary>Small dense solvers in double precision for the surrogate fits (a few hundred unknowns at most).</summary>
internal static class LeastSquares
{
    /// <summary>Solves A x = b (A square) by Gaussian elimination with partial pivoting; A and b are overwritten.</summary>
    /// <exception cref="InvalidOperationException">A is singular to working precision.</exception>
    public static double[] Solve(double[,] a, double[] b, string op)
    {
        int n = b.Length;
        double scale = 0;
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) scale = Math.Max(scale, Math.Abs(a[i, j]));
        for (int c = 0; c < n; c++)
        {
            int pivot = c;
            for (int r = c + 1; r < n; r++) if (Math.Abs(a[r, c]) > Math.Abs(a[pivot, c])) pivot = r;
            if (Math.Abs(a[pivot, c]) <= 1e-13 * Math.Max(scale, 1e-300))
                throw new InvalidOperationException($"{op}: the least-squares system is singular (too few distinct samples for {n} unknowns); use more samples.");
            if (pivot != c)
            {
                for (int j = 0; j < n; j++) (a[c, j], a[pivot, j]) = (a[pivot, j], a[c, j]);
                (b[c], b[pivot]) = (b[pivot], b[c]);
            }
            for (int r = c + 1; r < n; r++)
            {
                double f = a[r, c] / a[c, c];
                if (f == 0) continue;
                for (int j = c; j < n; j++) a[r, j] -= f * a[c, j];
                b[r] -= f * b[c];
            }
        }
        var x = new double[n];
        for (int r = n - 1; r >= 0; r--)
        {
            double s = b[r];
            for (int j = r + 1; j < n; j++) s -= a[r, j] * x[j];
            x[r] = s / a[r, r];
        }
        return x;
    }

    /// <summary>
    /// Weighted ridge regression with an unpenalised intercept: minimises Σ_k w_k (y_k − c − x_k·β)² + λ|β|².
    /// Returns β, c and the weighted R² of the fit.
    /// </summary>
    public static (double[] Coefficients, double Intercept, double R2) WeightedRidge(double[][] x, double[] y, double[] w, double lambda, string op)
    {
        int k = y.Length, m = x[0].Length;
        double wSum = w.Sum();
        var meanX = new double[m];
        double meanY = 0;
        for (int i = 0; i < k; i++)
        {
            meanY += w[i] * y[i];
            for (int j = 0; j < m; j++) meanX[j] += w[i] * x[i][j];
        }
        meanY /= wSum;
        for (int j = 0; j < m; j++) meanX[j] /= wSum;
        var a = new double[m, m];
        var b = new double[m];
        for (int i = 0; i < k; i++)
        {
            double yi = y[i] - meanY;
            for (int p = 0; p < m; p++)
            {
                double xp = w[i] * (x[i][p] - meanX[p]);
                b[p] += xp * yi;
                for (int q = p; q < m; q++) a[p, q] += xp * (x[i][q] - meanX[q]);
            }
        }
        for (int p = 0; p < m; p++)
        {
            a[p, p] += lambda;
            for (int q = 0; q < p; q++) a[p, q] = a[q, p];
        }
        var beta = Solve(a, b, op);
        double intercept = meanY;
        for (int j = 0; j < m; j++) intercept -= beta[j] * meanX[j];
        double ssRes = 0, ssTot = 0;
        for (int i = 0; i < k; i++)
        {
            double fit = intercept;
            for (int j = 0; j < m; j++) fit += beta[j] * x[i][j];
            ssRes += w[i] * (y[i] - fit) * (y[i] - fit);
            ssTot += w[i] * (y[i] - meanY) * (y[i] - meanY);
        }
        return (beta, intercept, ssTot > 0 ? 1 - ssRes / ssTot : 1);
    }
}
