namespace NeuralCore.Federated;

/// <summary>
/// The two steps of DP-FedAvg (McMahan et al. 2018, user-level differential privacy): each client's update is clipped
/// to L2 norm at most S, and Gaussian noise of standard deviation σ·S is added to the sum of the clipped updates
/// before it is divided by the expected number of clients per round (the fixed-denominator estimator, so one client
/// changes the average by at most S / expected clients). Accounting (ε after T rounds at sampling rate q) is left to a
/// privacy accountant fed from <see cref="RoundLog"/>.
/// </summary>
public static class DpFedAvg
{
    /// <summary>Scales <paramref name="update"/> in place so its L2 norm is at most <paramref name="clipNorm"/>.</summary>
    /// <param name="update">The update (model delta).</param>
    /// <param name="clipNorm">The bound S (&gt; 0).</param>
    /// <returns>The update's norm before clipping.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The bound is not positive and finite.</exception>
    /// <exception cref="ArgumentException">The update holds a non-finite value.</exception>
    public static double Clip(Span<float> update, double clipNorm)
    {
        if (!(clipNorm > 0) || double.IsInfinity(clipNorm))
            throw new ArgumentOutOfRangeException(nameof(clipNorm), clipNorm, "DpFedAvg.Clip: the clip norm must be positive and finite.");
        double sq = 0;
        foreach (float v in update) sq += (double)v * v;
        double norm = Math.Sqrt(sq);
        if (!double.IsFinite(norm))
            throw new ArgumentException("DpFedAvg.Clip: the update holds a non-finite value.", nameof(update));
        if (norm > clipNorm)
        {
            float factor = (float)(clipNorm / norm);
            // Rounding of the product can leave the norm a hair above the bound; shrink by one ulp-scale step if so.
            for (int i = 0; i < update.Length; i++) update[i] *= factor;
            if (Norm(update) > clipNorm)
                for (int i = 0; i < update.Length; i++) update[i] *= 1 - 1e-6f;
        }
        return norm;
    }

    /// <summary>Adds independent N(0, std²) noise to every element of <paramref name="sum"/>.</summary>
    /// <param name="sum">The sum of clipped updates.</param>
    /// <param name="std">The noise standard deviation σ·S (≥ 0).</param>
    /// <param name="rng">The noise source.</param>
    /// <exception cref="ArgumentOutOfRangeException">The deviation is negative or not finite.</exception>
    public static void AddNoise(Span<double> sum, double std, Generator rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (!(std >= 0) || double.IsInfinity(std))
            throw new ArgumentOutOfRangeException(nameof(std), std, "DpFedAvg.AddNoise: the standard deviation must be non-negative and finite.");
        if (std == 0) return;
        var noise = new double[sum.Length];
        rng.FillNormal(noise, 0, std);
        for (int i = 0; i < sum.Length; i++) sum[i] += noise[i];
    }

    /// <summary>The L2 norm of a vector, accumulated in double.</summary>
    /// <param name="values">The vector.</param>
    /// <returns>Its norm.</returns>
    public static double Norm(ReadOnlySpan<float> values)
    {
        double sq = 0;
        foreach (float v in values) sq += (double)v * v;
        return Math.Sqrt(sq);
    }
}
