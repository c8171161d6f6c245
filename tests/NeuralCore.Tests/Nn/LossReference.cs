using NeuralCore.Nn;

namespace NeuralCore.Tests.Nn;

/// <summary>
/// Plain-loop double-precision references for the losses, written from the formulas in PyTorch's documentation
/// (torch.nn.CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss, KLDivLoss, HuberLoss, SmoothL1Loss), and
/// deliberately not from the library's compositions (e.g. BCE-with-logits uses log σ(x), not softplus).
/// Class losses see the input as [N, C, D] (D = product of the trailing dimensions, 1 for [N, C]).
/// </summary>
internal static class LossReference
{
    public static double[] Rand(System.Random r, int n, double lo, double hi)
    {
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = lo + (hi - lo) * r.NextDouble();
        return v;
    }

    public static double Reduce(double[] perElement, Reduction reduction, double? meanDenominator = null) => reduction switch
    {
        Reduction.Sum => perElement.Sum(),
        Reduction.Mean => perElement.Sum() / (meanDenominator ?? perElement.Length),
        _ => throw new ArgumentOutOfRangeException(nameof(reduction)),
    };

    static double[] LogSoftmaxAt(double[] x, int n, int d, int classes, int inner)
    {
        var logits = new double[classes];
        for (int c = 0; c < classes; c++) logits[c] = x[(n * classes + c) * inner + d];
        double max = logits.Max();
        double lse = max + Math.Log(logits.Sum(v => Math.Exp(v - max)));
        return logits.Select(v => v - lse).ToArray();
    }

    static double[] ColumnAt(double[] x, int n, int d, int classes, int inner)
    {
        var col = new double[classes];
        for (int c = 0; c < classes; c++) col[c] = x[(n * classes + c) * inner + d];
        return col;
    }

    /// <summary>Per-sample losses [N·D] and the weighted-mean denominator Σ weight[target] over non-ignored samples.</summary>
    public static (double[] Loss, double WeightSum) IndexTargets(double[] x, long[] target, int batch, int classes, int inner,
        double[]? weight, double labelSmoothing, long ignoreIndex, bool inputIsLogits)
    {
        var loss = new double[batch * inner];
        double weightSum = 0;
        for (int n = 0; n < batch; n++)
            for (int d = 0; d < inner; d++)
            {
                long t = target[n * inner + d];
                if (t == ignoreIndex) continue;
                var logp = inputIsLogits ? LogSoftmaxAt(x, n, d, classes, inner) : ColumnAt(x, n, d, classes, inner);
                double wt = weight?[t] ?? 1;
                double nll = -wt * logp[t];
                double smooth = 0;
                for (int c = 0; c < classes; c++) smooth -= (weight?[c] ?? 1) * logp[c];
                loss[n * inner + d] = (1 - labelSmoothing) * nll + labelSmoothing / classes * smooth;
                weightSum += wt;
            }
        return (loss, weightSum);
    }

    /// <summary>Per-sample losses [N·D] for class-probability targets of the input's layout.</summary>
    public static double[] ProbabilityTargets(double[] x, double[] target, int batch, int classes, int inner, double[]? weight, double labelSmoothing)
    {
        var loss = new double[batch * inner];
        for (int n = 0; n < batch; n++)
            for (int d = 0; d < inner; d++)
            {
                var logp = LogSoftmaxAt(x, n, d, classes, inner);
                var t = ColumnAt(target, n, d, classes, inner);
                double s = 0;
                for (int c = 0; c < classes; c++)
                    s -= (weight?[c] ?? 1) * ((1 - labelSmoothing) * t[c] + labelSmoothing / classes) * logp[c];
                loss[n * inner + d] = s;
            }
        return loss;
    }

    public static double[] Pointwise(double[] x, double[] t, Func<double, double, double> f)
    {
        var r = new double[x.Length];
        for (int i = 0; i < x.Length; i++) r[i] = f(x[i], t[i]);
        return r;
    }

    public static double Huber(double x, double t, double delta)
    {
        double d = Math.Abs(x - t);
        return d < delta ? 0.5 * d * d : delta * (d - 0.5 * delta);
    }

    public static double SmoothL1(double x, double t, double beta)
    {
        double d = Math.Abs(x - t);
        return d < beta ? 0.5 * d * d / beta : d - 0.5 * beta;
    }

    public static double Bce(double x, double t, double w) =>
        -w * (t * Math.Max(Math.Log(x), -100) + (1 - t) * Math.Max(Math.Log(1 - x), -100));

    public static double BceWithLogits(double x, double t, double w, double posWeight)
    {
        double s = 1 / (1 + Math.Exp(-x));
        return -w * (posWeight * t * Math.Log(s) + (1 - t) * Math.Log(1 - s));
    }

    public static double KlDiv(double x, double t, bool logTarget) =>
        logTarget ? Math.Exp(t) * (t - x) : t > 0 ? t * (Math.Log(t) - x) : 0;
}
