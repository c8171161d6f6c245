using NeuralCore.Autograd;
using NeuralCore.Autograd.Rules;
using NeuralCore.Profiling;

namespace NeuralCore;

public sealed partial class Tensor
{
    /// <summary>
    /// Matrix product with <c>torch.matmul</c> semantics: vector·vector is a dot product (0-d), a 1-d operand
    /// is treated as a row or column and that dimension is removed afterwards, and leading (batch)
    /// dimensions broadcast. Differentiable.
    /// </summary>
    /// <exception cref="ArgumentException">The inner dimensions differ or the batch dimensions do not broadcast.</exception>
    public Tensor MatMul(Tensor other)
    {
        CheckSameDevice(this, other, nameof(MatMul));
        if (Dim == 0 || other.Dim == 0)
            throw new ArgumentException($"MatMul: both arguments need at least one dimension, got {Shape} x {other.Shape}.");
        if (Dim == 1 && other.Dim == 1)
        {
            if (shape[0] != other.shape[0]) throw new ArgumentException($"MatMul: {Shape} x {other.Shape} (vector lengths differ).");
            return Unsqueeze(0).MatMul(other.Unsqueeze(1)).Reshape();
        }
        if (Dim == 1)
        {
            CheckInner(other.shape[^2], other);
            return Unsqueeze(0).MatMul(other).Squeeze(-2);
        }
        if (other.Dim == 1)
        {
            CheckInner(other.shape[0], other);
            return MatMul(other.Unsqueeze(1)).Squeeze(-1);
        }
        CheckInner(other.shape[^2], other);
        return Engine.Record(MatMulRaw(this, other), LinalgRules.MatMul, [this, other]);
    }

    void CheckInner(int otherRows, Tensor other)
    {
        if (shape[^1] != otherRows)
            throw new ArgumentException($"MatMul: {Shape} x {other.Shape} (inner dimensions {shape[^1]} and {otherRows} differ).");
    }

    /// <summary>Dot product of two 1-d tensors (0-d result).</summary>
    public Tensor Dot(Tensor other)
    {
        if (Dim != 1 || other.Dim != 1) throw new ArgumentException($"Dot: expects two 1-d tensors, got {Shape} and {other.Shape}.");
        return MatMul(other);
    }

    static Tensor MatMulRaw(Tensor a, Tensor b)
    {
        int m = a.shape[^2], k = a.shape[^1], n = b.shape[^1];
        var batch = ShapeMath.TryBroadcast(a.shape[..^2], b.shape[..^2], out _)
            ?? throw new ArgumentException($"MatMul: {a.Shape} x {b.Shape} (batch dimensions {ShapeMath.Format(a.shape[..^2])} and {ShapeMath.Format(b.shape[..^2])} do not broadcast).");
        // The output and both operands broadcast over the batch must be tensors of their own.
        int[] outShape = [.. batch, m, n];
        if (!ShapeMath.FitsElements(outShape)) throw ShapeMath.TooManyElements(nameof(MatMul), outShape, $"{a.Shape} x {b.Shape}");
        var dtype = DTypes.Promote(a.DType, b.DType);
        if (dtype == DType.Bool) throw new ArgumentException("MatMul: not defined for Bool tensors.");
        ShapeMath.RequireBytes(nameof(MatMul), ShapeMath.Product(outShape), dtype, a.Backend, $"the result {ShapeMath.Format(outShape)} of {a.Shape} x {b.Shape}");
        // An empty product needs no kernel (nor operands broadcast over a batch that may be huge).
        if (ShapeMath.Product(outShape) == 0) return Empty(outShape, dtype, a.Backend, nameof(MatMul));
        int[] aFull = [.. batch, m, k], bFull = [.. batch, k, n];
        if (!ShapeMath.FitsElements(aFull)) throw ShapeMath.TooManyElements(nameof(MatMul), aFull, $"the left operand of {a.Shape} x {b.Shape} broadcast over the batch");
        if (!ShapeMath.FitsElements(bFull)) throw ShapeMath.TooManyElements(nameof(MatMul), bFull, $"the right operand of {a.Shape} x {b.Shape} broadcast over the batch");
        var ac = a.DType == dtype ? a : a.CastRaw(dtype);
        var bc = b.DType == dtype ? b : b.CastRaw(dtype);
        int batchCount = (int)ShapeMath.Product(batch);
        var a3 = Batched(ac, batch, m, k, batchCount);
        var b3 = Batched(bc, batch, k, n, batchCount);
        var r = Empty([batchCount, m, n], dtype, a.Backend, nameof(MatMul));
        a.Backend.MatMul(a3.Buf, b3.Buf, r.Buf);
        FlopCosts.MatMul(batchCount, m, n, a3.Buf.Shape[2]);
        return r.AsStrided(outShape, ShapeMath.ContiguousStrides(outShape), 0);
    }

    // Broadcasts the batch dimensions and folds them into one, as a view when the strides allow it.
    static Tensor Batched(Tensor t, int[] batch, int rows, int cols, int batchCount)
    {
        int[] full = [.. batch, rows, cols];
        var v = BroadcastView(t, full);
        var expanded = t.AsStrided(v.Shape, v.Strides, v.Offset);
        int[] target = [batchCount, rows, cols];
        var s = expanded.ViewStrides(target);
        return s is not null ? expanded.AsStrided(target, s, expanded.offset)
            : expanded.CopyRaw().AsStrided(target, ShapeMath.ContiguousStrides(target), 0);
    }
}
