using static NeuralCore.Autograd.Gradients;

namespace NeuralCore.Autograd.Rules;

/// <summary>Backward rules of views, copies and indexing.</summary>
internal static class MovementRules
{
    static Tensor X(Node n) => n.Inputs[0];

    public static readonly BackwardRule Identity = new("Clone", (n, g) => [g]);

    public static readonly BackwardRule Cast = new("ToCopy", (n, g) => [g.To(X(n).DType)]);

    public static readonly BackwardRule ToDevice = new("ToDevice", (n, g) => [g.To(X(n).Device)]);

    public static readonly BackwardRule Reshape = new("Reshape", (n, g) => [g.Reshape(X(n).Shape.ToArray())]);

    /// <summary>Ints: the permutation; the gradient goes through its inverse.</summary>
    public static readonly BackwardRule Permute = new("Permute", (n, g) =>
    {
        var inverse = new int[n.Ints.Length];
        for (int i = 0; i < inverse.Length; i++) inverse[n.Ints[i]] = i;
        return [g.Permute(inverse)];
    });

    public static readonly BackwardRule Expand = new("Expand", (n, g) => [SumToShape(g, X(n).Shape)]);

    /// <summary>Ints: [dim, start].</summary>
    public static readonly BackwardRule Narrow = new("Narrow", (n, g) =>
        [Embed(X(n), g, z => z.Narrow(n.Ints[0], n.Ints[1], g.Shape[n.Ints[0]]))]);

    /// <summary>Ints: [dim, index].</summary>
    public static readonly BackwardRule Select = new("Select", (n, g) =>
        [Embed(X(n), g, z => z.Select(n.Ints[0], n.Ints[1]))]);

    /// <summary>Ints: [dim, size of input 0, size of input 1, ...].</summary>
    public static readonly BackwardRule Cat = new("Cat", (n, g) =>
    {
        int d = n.Ints[0];
        var grads = new Tensor?[n.Inputs.Length];
        long at = 0;
        for (int i = 0; i < grads.Length; i++)
        {
            grads[i] = g.Narrow(d, at, n.Ints[i + 1]);
            at += n.Ints[i + 1];
        }
        return grads;
    });

    /// <summary>Ints: [dim]; Saved: the Int64 index vector.</summary>
    public static readonly BackwardRule IndexSelect = new("IndexSelect", (n, g) =>
        [Tensor.ZerosLike(X(n)).To(g.DType).IndexAdd(n.Ints[0], n.Saved!, g)]);

    /// <summary>Ints: [dim]; Saved: the Int64 index vector.</summary>
    public static readonly BackwardRule IndexAdd = new("IndexAdd", (n, g) =>
        [g, n.NeedsGrad(1) ? g.IndexSelect(n.Ints[0], n.Saved!) : null]);

    /// <summary>Ints: [dim]; Saved: the Int64 index.</summary>
    public static readonly BackwardRule Gather = new("Gather", (n, g) =>
        [Tensor.ZerosLike(X(n)).To(g.DType).ScatterAdd(n.Ints[0], n.Saved!, g)]);

    /// <summary>Ints: [dim]; Saved: the Int64 index. The source's gradient is the output gradient gathered back.</summary>
    public static readonly BackwardRule ScatterAdd = new("ScatterAdd", (n, g) =>
    {
        var source = n.Inputs[1];
        Tensor? gs = null;
        if (n.NeedsGrad(1))
        {
            var gathered = g.Gather(n.Ints[0], n.Saved!);
            gs = gathered.Shape == source.Shape ? gathered : Embed(source, gathered, z => Window(z, gathered.Shape));
        }
        return [g, gs];
    });

    static Tensor Window(Tensor t, Shape shape)
    {
        for (int d = 0; d < shape.Count; d++) t = t.Narrow(d, 0, shape[d]);
        return t;
    }
}
