namespace NeuralCore.Explain;

/// <summary>Kernel SHAP values of one input row.</summary>
public sealed class KernelShapResult
{
    internal KernelShapResult(double[] values, double baseValue, double output, bool exact, int coalitions)
    {
        Values = values;
        BaseValue = baseValue;
        Output = output;
        Exact = exact;
        Coalitions = coalitions;
    }

    /// <summary>One Shapley value per feature group; they sum to <see cref="Output"/> − <see cref="BaseValue"/>.</summary>
    public double[] Values { get; }

    /// <summary>E[f]: the model's mean target output over the background dataset.</summary>
    public double BaseValue { get; }

    /// <summary>f(x): the target output for the row.</summary>
    public double Output { get; }

    /// <summary>True when every coalition was enumerated (the values are the exact Shapley values of the game).</summary>
    public bool Exact { get; }

    /// <summary>Coalitions evaluated besides the empty and the full one.</summary>
    public int Coalitions { get; }
}
