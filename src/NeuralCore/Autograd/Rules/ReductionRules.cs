namespace NeuralCore.Autograd.Rules;

/// <summary>Backward rules of reductions.</summary>
internal static class ReductionRules
{
    /// <summary>Ints: the dimensions removed (none when keepDim). The gradient is broadcast back.</summary>
    public static readonly BackwardRule Sum = new("Sum", (n, g) =>
    {
        var x = n.Inputs[0];
        foreach (var d in n.Ints) g = g.Unsqueeze(d);
        return [g.Expand(x.Shape.ToArray())];
    });

    /// <summary>Full max/min: shared evenly among every element equal to the result.</summary>
    public static readonly BackwardRule ExtremeAll = new("ExtremeAll", (n, g) =>
    {
        var mask = n.Inputs[0].Eq(n.Output);
        return [Tensor.Where(mask, g / mask.Sum(), 0)];
    });

    /// <summary>Max/min along a dimension: the gradient goes to the selected index. Ints: [dim, keepDim].</summary>
    public static readonly BackwardRule ExtremeAlong = new("ExtremeAlong", (n, g) =>
    {
        int d = n.Ints[0];
        var gk = n.Ints[1] == 1 ? g : g.Unsqueeze(d);
        return [Tensor.ZerosLike(n.Inputs[0]).To(g.DType).ScatterAdd(d, n.Saved!, gk)];
    });
}
