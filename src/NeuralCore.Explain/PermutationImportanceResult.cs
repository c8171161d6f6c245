namespace NeuralCore.Explain;

/// <summary>Permutation feature importance: the score drop per feature over the repeats.</summary>
public sealed class PermutationImportanceResult
{
    internal PermutationImportanceResult(double baselineScore, double[,] drops)
    {
        BaselineScore = baselineScore;
        Drops = drops;
        int f = drops.GetLength(0), r = drops.GetLength(1);
        Mean = new double[f];
        Std = new double[f];
        for (int j = 0; j < f; j++)
        {
            double m = 0;
            for (int k = 0; k < r; k++) m += drops[j, k];
            m /= r;
            double v = 0;
            for (int k = 0; k < r; k++) v += (drops[j, k] - m) * (drops[j, k] - m);
            Mean[j] = m;
            Std[j] = r > 1 ? Math.Sqrt(v / (r - 1)) : 0;
        }
    }

    /// <summary>The score on the unshuffled inputs.</summary>
    public double BaselineScore { get; }

    /// <summary>The drop (baseline − shuffled score) per feature and repeat, [features, repeats].</summary>
    public double[,] Drops { get; }

    /// <summary>The mean drop per feature: its importance.</summary>
    public double[] Mean { get; }

    /// <summary>The sample standard deviation of the drop per feature (0 with one repeat).</summary>
    public double[] Std { get; }
}
