namespace NeuralCore.Explain;

/// <summary>Integrated-gradient attributions with their completeness check (Sundararajan et al. 2017, axiom 3).</summary>
public sealed class IntegratedGradientsResult
{
    internal IntegratedGradientsResult(Tensor attributions, double[] outputs, double[] baselineOutputs, double[] sums)
    {
        Attributions = attributions;
        Outputs = outputs;
        BaselineOutputs = baselineOutputs;
        AttributionSums = sums;
        AbsoluteDelta = new double[sums.Length];
        RelativeDelta = new double[sums.Length];
        for (int i = 0; i < sums.Length; i++)
        {
            double change = outputs[i] - baselineOutputs[i];
            AbsoluteDelta[i] = Math.Abs(sums[i] - change);
            RelativeDelta[i] = Math.Abs(change) > 1e-12 ? AbsoluteDelta[i] / Math.Abs(change) : AbsoluteDelta[i];
        }
    }

    /// <summary>The attributions, shaped like the inputs, on their device.</summary>
    public Tensor Attributions { get; }

    /// <summary>f(x) for each row (the target output).</summary>
    public double[] Outputs { get; }

    /// <summary>f(b) for each row.</summary>
    public double[] BaselineOutputs { get; }

    /// <summary>The sum of each row's attributions.</summary>
    public double[] AttributionSums { get; }

    /// <summary>|Σ attributions − (f(x) − f(b))| for each row.</summary>
    public double[] AbsoluteDelta { get; }

    /// <summary>
    /// <see cref="AbsoluteDelta"/> divided by |f(x) − f(b)| for each row (the absolute delta where f(x) = f(b)).
    /// Below 0.01 the integral is within 1 % of the completeness target; raise the steps if not.
    /// </summary>
    public double[] RelativeDelta { get; }

    /// <summary>The largest <see cref="RelativeDelta"/> over the rows.</summary>
    public double MaxRelativeDelta => RelativeDelta.Max();
}
