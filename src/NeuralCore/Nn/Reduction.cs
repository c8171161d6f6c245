namespace NeuralCore.Nn;

/// <summary>How a loss combines its per-element values, as PyTorch's <c>reduction</c> argument.</summary>
public enum Reduction
{
    /// <summary>No reduction: the per-element losses, in the target's shape.</summary>
    None,

    /// <summary>The mean of the per-element losses (a weighted mean for losses that take class weights).</summary>
    Mean,

    /// <summary>The sum of the per-element losses.</summary>
    Sum,
}
