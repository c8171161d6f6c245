using System.Runtime.CompilerServices;

namespace NeuralCore;

public sealed partial class Tensor
{
    /// <summary>
    /// Boolean-mask or integer-array indexing of the leading dimensions, as in PyTorch's <c>x[mask]</c> and
    /// <c>x[idx]</c>. A Bool <paramref name="index"/> must have the shape of this tensor's first
    /// <c>index.Dim</c> dimensions; the result stacks the selected sub-tensors in row-major order, so its shape is
    /// [number of true elements, remaining dimensions...]. An Int64 or Int32 index picks entries of dimension 0
    /// (negative values are not accepted); the result has shape index.Shape + the remaining dimensions.
    /// A copy, differentiable.
    /// </summary>
    /// <exception cref="ArgumentException">The mask shape does not match, or the index has another dtype.</exception>
    [IndexerName("At")]
    public Tensor this[Tensor index]
    {
        get
        {
            ArgumentNullException.ThrowIfNull(index);
            if (index.DType == DType.Bool) return SelectByMask(index);
            if (index.DType is not (DType.Int64 or DType.Int32))
                throw new ArgumentException($"Indexer: an index tensor must be Bool (a mask) or Int64/Int32 (indices), got {index.DType}.");
            if (Dim == 0) throw new ArgumentException("Indexer: a 0-d tensor cannot be indexed with a tensor.");
            long[] outShape = [.. index.Shape.ToArray(), .. Shape.ToArray()[1..]];
            return IndexSelect(0, index.Reshape(-1)).Reshape(outShape);
        }
    }

    Tensor SelectByMask(Tensor mask)
    {
        CheckSameDevice(this, mask, "Indexer");
        bool leading = mask.Dim <= Dim;
        for (int i = 0; leading && i < mask.Dim; i++) leading = mask.shape[i] == shape[i];
        if (!leading)
            throw new ArgumentException($"Indexer: the mask shape {mask.Shape} must equal the leading dimensions of the tensor shape {Shape}.");
        long rows = ShapeMath.Product(shape.AsSpan(0, mask.Dim));
        long[] flat = [rows, .. Shape.ToArray()[mask.Dim..]];
        return Reshape(flat).IndexSelect(0, TrueIndices(mask));
    }

    /// <summary>The row-major positions of the true elements of a Bool mask, as a 1-d Int64 tensor on its device.</summary>
    static Tensor TrueIndices(Tensor mask)
    {
        var values = mask.ToArray<bool>();
        int count = 0;
        foreach (var v in values) if (v) count++;
        var positions = new long[count];
        for (int i = 0, k = 0; i < values.Length; i++) if (values[i]) positions[k++] = i;
        return FromSpan<long>(positions, [count], mask.Device);
    }

    /// <summary>
    /// The elements where <paramref name="mask"/> (Bool, broadcast with this tensor) is true, as a 1-d tensor in
    /// row-major order, like PyTorch's <c>masked_select</c>. Differentiable.
    /// </summary>
    /// <exception cref="ArgumentException">The mask is not Bool, or the shapes do not broadcast.</exception>
    public Tensor MaskedSelect(Tensor mask)
    {
        RequireMask(mask, nameof(MaskedSelect));
        var common = ShapeMath.Broadcast(shape, mask.shape, nameof(MaskedSelect));
        long[] sizes = Array.ConvertAll(common, s => (long)s);
        var x = shape.AsSpan().SequenceEqual(common) ? this : Expand(sizes);
        var m = mask.shape.AsSpan().SequenceEqual(common) ? mask : mask.Expand(sizes);
        return x.Reshape(-1).IndexSelect(0, TrueIndices(m));
    }

    /// <summary>
    /// A copy with <paramref name="value"/> wherever <paramref name="mask"/> (Bool, broadcastable to this tensor's
    /// shape) is true, like PyTorch's <c>masked_fill</c>. The dtype stays this tensor's; the gradient flows where
    /// the mask is false.
    /// </summary>
    /// <exception cref="ArgumentException">The mask is not Bool or does not broadcast to this tensor's shape.</exception>
    public Tensor MaskedFill(Tensor mask, double value)
    {
        RequireMask(mask, nameof(MaskedFill));
        RequireBroadcastsTo(mask, nameof(MaskedFill));
        return Where(mask, Full([], value, DType, Device), this);
    }

    /// <summary>
    /// <see cref="MaskedFill(Tensor, double)"/> with a 0-d tensor value; differentiable in this tensor and in the
    /// value (which receives the sum of the gradient where the mask is true).
    /// </summary>
    /// <exception cref="ArgumentException">The mask is not Bool or does not broadcast, or the value is not 0-d.</exception>
    public Tensor MaskedFill(Tensor mask, Tensor value)
    {
        ArgumentNullException.ThrowIfNull(value);
        RequireMask(mask, nameof(MaskedFill));
        RequireBroadcastsTo(mask, nameof(MaskedFill));
        if (value.Dim != 0) throw new ArgumentException($"MaskedFill: the value must be a 0-d tensor, got shape {value.Shape}.");
        return Where(mask, value.DType == DType ? value : value.To(DType), this);
    }

    static void RequireMask(Tensor mask, string op)
    {
        ArgumentNullException.ThrowIfNull(mask);
        if (mask.DType != DType.Bool) throw new ArgumentException($"{op}: the mask must be a Bool tensor, got {mask.DType} (compare first, e.g. x.Gt(0)).");
    }

    void RequireBroadcastsTo(Tensor mask, string op)
    {
        var common = ShapeMath.Broadcast(shape, mask.shape, op);
        if (!common.AsSpan().SequenceEqual(shape))
            throw new ArgumentException($"{op}: the mask shape {mask.Shape} does not broadcast to the tensor shape {Shape}.");
    }

    /// <summary>
    /// Limits every element to [<paramref name="min"/>, <paramref name="max"/>] given as tensors that broadcast
    /// with this one (either may be null), computed as min(max(x, min), max) as in PyTorch. Differentiable in the
    /// input and in both bounds.
    /// </summary>
    /// <exception cref="ArgumentException">Both bounds are null, or the shapes do not broadcast.</exception>
    public Tensor Clamp(Tensor? min, Tensor? max)
    {
        if (min is null && max is null) throw new ArgumentException("Clamp: at least one of min and max must be given.");
        var r = this;
        if (min is not null) r = r.Maximum(min);
        if (max is not null) r = r.Minimum(max);
        return r;
    }

    /// <summary>
    /// Elementwise closeness, |a − b| ≤ <paramref name="atol"/> + <paramref name="rtol"/>·|b| (or a == b, which
    /// covers equal infinities), as a Bool tensor of the broadcast shape, like PyTorch's <c>isclose</c>. NaNs are
    /// close to each other only when <paramref name="equalNan"/> is set. Not differentiable.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes do not broadcast, or a tolerance is negative.</exception>
    public Tensor IsClose(Tensor other, double rtol = 1e-5, double atol = 1e-8, bool equalNan = false)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (!(rtol >= 0) || !(atol >= 0))
            throw new ArgumentException($"IsClose: rtol and atol must be non-negative, got rtol = {rtol}, atol = {atol}.");
        ShapeMath.Broadcast(shape, other.shape, nameof(IsClose));
        using var _ = NoGrad();
        var a = Detach().To(DType.Float64);
        var b = other.Detach().To(DType.Float64);
        var close = a.Sub(b).Abs().Le(b.Abs().Mul(rtol).Add(atol)).To(DType.Int32).Add(a.Eq(b).To(DType.Int32));
        if (equalNan) close = close.Add(a.Ne(a).To(DType.Int32).Mul(b.Ne(b).To(DType.Int32)));
        return close.Gt(0);
    }

    /// <summary>True when every element is close to the corresponding element of <paramref name="other"/>; see <see cref="IsClose"/>.</summary>
    /// <exception cref="ArgumentException">The shapes do not broadcast, or a tolerance is negative.</exception>
    public bool AllClose(Tensor other, double rtol = 1e-5, double atol = 1e-8, bool equalNan = false) =>
        IsClose(other, rtol, atol, equalNan).All().Item<bool>();

    /// <summary>The elements of a 2-d tensor as a rectangular array, converted to <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidOperationException">The tensor is not 2-d.</exception>
    public T[,] ToArray2D<T>() where T : unmanaged
    {
        RequireRank(2, nameof(ToArray2D));
        var r = new T[shape[0], shape[1]];
        CopyInto<T>(r);
        return r;
    }

    /// <summary>The elements of a 3-d tensor as a rectangular array, converted to <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidOperationException">The tensor is not 3-d.</exception>
    public T[,,] ToArray3D<T>() where T : unmanaged
    {
        RequireRank(3, nameof(ToArray3D));
        var r = new T[shape[0], shape[1], shape[2]];
        CopyInto<T>(r);
        return r;
    }

    void RequireRank(int rank, string op)
    {
        if (Dim != rank) throw new InvalidOperationException($"{op}: the tensor must be {rank}-d, got shape {Shape}.");
    }

    // A rectangular array is one row-major block, the same layout as ToArray's.
    void CopyInto<T>(Array destination) where T : unmanaged
    {
        var flat = ToArray<T>();
        var span = System.Runtime.InteropServices.MemoryMarshal.CreateSpan(
            ref Unsafe.As<byte, T>(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(destination)), destination.Length);
        flat.CopyTo(span);
    }
}
