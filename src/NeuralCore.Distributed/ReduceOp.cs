namespace NeuralCore.Distributed;

/// <summary>How a reducing collective combines the ranks' values, element by element.</summary>
public enum ReduceOp
{
    /// <summary>The sum over ranks.</summary>
    Sum,

    /// <summary>The sum over ranks divided by the world size (floating-point element types only).</summary>
    Mean,

    /// <summary>The largest value.</summary>
    Max,

    /// <summary>The smallest value.</summary>
    Min,
}
