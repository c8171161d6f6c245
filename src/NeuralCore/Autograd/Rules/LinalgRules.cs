using NeuralCore.Backends;
using NeuralCore.Profiling;
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

    /// <summary>
    /// y = x·Wᵀ + b for x [N, in], W [out, in], b [out] (inputs x, W and optionally b):
    /// dx = dy·W, dW = dyᵀ·x, db = Σ_rows dy. Both products read their operands in place (dyᵀ is the GEMM's
    /// transposed-operand mode, not a copy), and dW comes out dense in W's own layout.
    /// </summary>
    public static readonly BackwardRule Linear = new("Linear", (n, g) =>
    {
        Tensor x = n.Inputs[0], w = n.Inputs[1];
        var grads = new Tensor?[n.Inputs.Length];
        if (n.NeedsGrad(0)) grads[0] = MatMul2d(g, false, w, false);
        if (n.NeedsGrad(1)) grads[1] = MatMul2d(g, true, x, false);
        if (n.Inputs.Length > 2 && n.NeedsGrad(2)) grads[2] = g.Sum(0);
        return grads;
    });

    /// <summary>
    /// op(a)·op(b) for 2-d tensors of one floating dtype on one backend, where op transposes when asked: one
    /// backend GEMM over strided views of the operands (no transposed copies, no graph recorded). Returns a new
    /// dense [rows of op(a), columns of op(b)] tensor.
    /// </summary>
    internal static Tensor MatMul2d(Tensor a, bool transA, Tensor b, bool transB)
    {
        BufferView av = a.Buf, bv = b.Buf;
        int m = transA ? av.Shape[1] : av.Shape[0], k = transA ? av.Shape[0] : av.Shape[1];
        int n = transB ? bv.Shape[0] : bv.Shape[1];
        var r = Tensor.Empty([m, n], a.DType, a.Backend);
        if (r.NumElements == 0) return r;
        if (k == 0)
        {
            r.Backend.Fill(r.Buf, 0);
            return r;
        }
        var a3 = new BufferView(av.Storage, [1, m, k],
            transA ? [0, av.Strides[1], av.Strides[0]] : [0, av.Strides[0], av.Strides[1]], av.Offset);
        var b3 = new BufferView(bv.Storage, [1, k, n],
            transB ? [0, bv.Strides[1], bv.Strides[0]] : [0, bv.Strides[0], bv.Strides[1]], bv.Offset);
        var rv = r.Buf;
        a.Backend.MatMul(a3, b3, new BufferView(rv.Storage, [1, m, n], [m * n, n, 1], rv.Offset));
        FlopCosts.MatMul(1, m, n, k);
        return r;
    }
}
