using static NeuralCore.Autograd.Gradients;

namespace NeuralCore.Autograd.Rules;

/// <summary>
/// Backward rules of elementwise ops, one per op, in Tensor operations so they run on every backend.
/// Inputs are <c>n.Inputs</c>; <c>n.Output</c> is the saved result where the rule uses it.
/// </summary>
internal static class ElementwiseRules
{
    static Tensor X(Node n) => n.Inputs[0];

    static Tensor Y(Node n) => n.Inputs[1];

    public static readonly BackwardRule Add = new("Add", (n, g) => [SumToShape(g, X(n).Shape), SumToShape(g, Y(n).Shape)]);

    public static readonly BackwardRule Sub = new("Sub", (n, g) => [SumToShape(g, X(n).Shape), SumToShape(-g, Y(n).Shape)]);

    public static readonly BackwardRule Mul = new("Mul", (n, g) =>
    [
        n.NeedsGrad(0) ? SumToShape(g * Y(n), X(n).Shape) : null,
        n.NeedsGrad(1) ? SumToShape(g * X(n), Y(n).Shape) : null,
    ]);

    public static readonly BackwardRule Div = new("Div", (n, g) =>
    [
        n.NeedsGrad(0) ? SumToShape(g / Y(n), X(n).Shape) : null,
        n.NeedsGrad(1) ? SumToShape(-g * X(n) / Y(n).Square(), Y(n).Shape) : null,
    ]);

    // Tensor-with-scalar forms taken by the by-value scalar path (the scalar is n.A, there is no 0-d operand).
    // Each computes the same values as the tensor-tensor rule above with a 0-d operand holding that scalar.

    public static readonly BackwardRule AddScalar = new("Add", (n, g) => [g]);

    /// <summary>x − s.</summary>
    public static readonly BackwardRule SubScalar = new("Sub", (n, g) => [g]);

    /// <summary>s − x.</summary>
    public static readonly BackwardRule ScalarSub = new("Sub", (n, g) => [-g]);

    public static readonly BackwardRule MulScalar = new("Mul", (n, g) => [g * n.A]);

    /// <summary>x / s.</summary>
    public static readonly BackwardRule DivScalar = new("Div", (n, g) => [g / n.A]);

    /// <summary>s / x: d/dx = −s / x².</summary>
    public static readonly BackwardRule ScalarDiv = new("Div", (n, g) => [-g * n.A / X(n).Square()]);

    // d/da a^b = b·a^(b−1) (0 where b = 0, as PyTorch, avoiding 0·∞); d/db a^b = a^b·ln a (0 where a = 0).
    public static readonly BackwardRule Pow = new("Pow", (n, g) =>
    [
        n.NeedsGrad(0) ? SumToShape(Tensor.Where(Y(n).Eq(0), 0, g * Y(n) * X(n).Pow(Y(n) - 1)), X(n).Shape) : null,
        n.NeedsGrad(1) ? SumToShape(Tensor.Where(X(n).Eq(0), 0, g * n.Output * X(n).Log()), Y(n).Shape) : null,
    ]);

    public static readonly BackwardRule PowScalar = new("Pow", (n, g) =>
        [n.A == 0 ? Tensor.ZerosLike(g) : g * n.A * X(n).Pow(n.A - 1)]);

    // Ties split the gradient evenly between the two inputs (PyTorch's convention).
    public static readonly BackwardRule Maximum = new("Maximum", (n, g) => SplitBetween(n, g, X(n).Gt(Y(n))));

    public static readonly BackwardRule Minimum = new("Minimum", (n, g) => SplitBetween(n, g, X(n).Lt(Y(n))));

    static Tensor?[] SplitBetween(Node n, Tensor g, Tensor firstWins)
    {
        var share = firstWins.To(g.DType) + X(n).Eq(Y(n)).To(g.DType) * 0.5;
        return [SumToShape(g * share, X(n).Shape), SumToShape(g * (1 - share), Y(n).Shape)];
    }

    public static readonly BackwardRule Neg = new("Neg", (n, g) => [-g]);

    public static readonly BackwardRule Abs = new("Abs", (n, g) => [g * X(n).Sign()]);

    public static readonly BackwardRule Square = new("Square", (n, g) => [g * X(n) * 2]);

    public static readonly BackwardRule Exp = new("Exp", (n, g) => [g * n.Output]);

    public static readonly BackwardRule Log = new("Log", (n, g) => [g / X(n)]);

    public static readonly BackwardRule Sqrt = new("Sqrt", (n, g) => [g / (n.Output * 2)]);

    public static readonly BackwardRule Rsqrt = new("Rsqrt", (n, g) => [g * n.Output.Pow(3) * -0.5]);

    public static readonly BackwardRule Reciprocal = new("Reciprocal", (n, g) => [-g * n.Output.Square()]);

    public static readonly BackwardRule Tanh = new("Tanh", (n, g) => [g * (1 - n.Output.Square())]);

    public static readonly BackwardRule Sigmoid = new("Sigmoid", (n, g) => [g * n.Output * (1 - n.Output)]);

    public static readonly BackwardRule Sin = new("Sin", (n, g) => [g * X(n).Cos()]);

    public static readonly BackwardRule Cos = new("Cos", (n, g) => [-g * X(n).Sin()]);

    public static readonly BackwardRule Erf = new("Erf", (n, g) => [g * (-X(n).Square()).Exp() * (2 * SpecialFunctions.InvSqrtPi)]);

    // One fused pass (BinaryOp.ReluBackward) instead of a Bool mask and a Where.
    public static readonly BackwardRule Relu = new("Relu", (n, g) => [Tensor.ReluBackward(g, n.Output)]);

    public static readonly BackwardRule LeakyRelu = new("LeakyRelu", (n, g) => [Tensor.Where(X(n).Gt(0), g, g * n.A)]);

    public static readonly BackwardRule Elu = new("Elu", (n, g) => [Tensor.Where(X(n).Gt(0), g, g * (n.Output + n.A))]);

    // d/dx x·Φ(x) = Φ(x) + x·φ(x).
    public static readonly BackwardRule Gelu = new("Gelu", (n, g) =>
    {
        var x = X(n);
        var cdf = ((x * SpecialFunctions.InvSqrt2).Erf() + 1) * 0.5;
        var pdf = (x.Square() * -0.5).Exp() * (SpecialFunctions.InvSqrt2 * SpecialFunctions.InvSqrtPi);
        return [g * (cdf + x * pdf)];
    });

    public static readonly BackwardRule Softplus = new("Softplus", (n, g) => [g * X(n).Sigmoid()]);

    public static readonly BackwardRule Clamp = new("Clamp", (n, g) =>
        [Tensor.Where(X(n).Lt(n.A), 0, Tensor.Where(X(n).Gt(n.B), 0, g))]);

    public static readonly BackwardRule Where = new("Where", (n, g) =>
    [
        n.NeedsGrad(0) ? SumToShape(Tensor.Where(n.Saved!, g, 0), X(n).Shape) : null,
        n.NeedsGrad(1) ? SumToShape(Tensor.Where(n.Saved!, 0, g), Y(n).Shape) : null,
    ]);

    /// <summary>Piecewise-constant ops (sign, rounding): the gradient is zero.</summary>
    public static readonly BackwardRule ZeroGrad = new("ZeroGrad", (n, g) => [Tensor.ZerosLike(g)]);
}
