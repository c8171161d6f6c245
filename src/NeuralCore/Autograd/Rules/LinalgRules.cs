using static NeuralCore.Autograd.Gradients;

namespace NeuralCore.Autograd.Rules;

/// <summary>Backward rules of linear algebra.</summary>
internal static class LinalgRules
{
    /// <summary>C = A·B (batched, broadcast): dA = dC·Bᵀ, dB = Aᵀ·dC, summed over broadcast batch dimensions.</summary>
    public static readonly BackwardRule MatMul = new("MatMul", (n, g) =>
    {
        Tensor a = n.Inputs[0], b = n.Inputs[1];
        return
        [
            n.NeedsGrad(0) ? SumToShape(g.MatMul(b.Transpose(-1, -2)), a.Shape) : null,
            n.NeedsGrad(1) ? SumToShape(a.Transpose(-1, -2).MatMul(g), b.Shape) : null,
        ];
    });
}
