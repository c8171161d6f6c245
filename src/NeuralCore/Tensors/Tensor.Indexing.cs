using System.Runtime.CompilerServices;
using NeuralCore.Autograd;
using NeuralCore.Autograd.Rules;
using NeuralCore.Profiling;

namespace NeuralCore;

public sealed partial class Tensor
{
    /// <summary>Element <paramref name="index"/> of dimension 0 (a view with one dimension less); negative counts from the end.</summary>
    [IndexerName("At")]
    public Tensor this[long index] => Select(0, index);

    /// <summary>A range of dimension 0 (a view): <c>t[..8]</c>, <c>t[2..^1]</c>.</summary>
    [IndexerName("At")]
    public Tensor this[Range range]
    {
        get
        {
            int dim = 0;
            return ((TensorIndex)range).Apply(this, ref dim);
        }
    }

    /// <summary>Indexes leading dimensions with integers and ranges: <c>t[1.., 2]</c>. A view.</summary>
    [IndexerName("At")]
    public Tensor this[params TensorIndex[] indices]
    {
        get
        {
            var t = this;
            int dim = 0;
            foreach (var i in indices) t = i.Apply(t, ref dim);
            return t;
        }
    }

    /// <summary>Concatenates tensors along <paramref name="dim"/>; all other sizes must match. Differentiable.</summary>
    public static Tensor Cat(IEnumerable<Tensor> tensors, int dim = 0) => Cat(tensors, dim, nameof(Cat));

    static Tensor Cat(IEnumerable<Tensor> tensors, int dim, string op)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var all = tensors.ToList();
        if (all.Count == 0) throw new ArgumentException("Cat: expects a non-empty list of tensors.");
        var first = all[0];
        if (first.Dim == 0) throw new ArgumentException("Cat: 0-d tensors cannot be concatenated; use Stack.");
        int d = ShapeMath.NormalizeDim(dim, first.Dim, nameof(Cat));
        var dtype = first.DType;
        long total = 0;
        foreach (var t in all)
        {
            CheckSameDevice(first, t, nameof(Cat));
            if (t.Dim != first.Dim)
                throw new ArgumentException($"Cat: tensors must have the same number of dimensions, got {first.Shape} and {t.Shape}.");
            for (int i = 0; i < t.Dim; i++)
                if (i != d && t.shape[i] != first.shape[i])
                    throw new ArgumentException($"Cat: sizes must match except in dimension {d}, got {first.Shape} and {t.Shape}.");
            dtype = DTypes.Promote(dtype, t.DType);
            total += t.shape[d];
        }
        var wide = first.Shape.ToArray();
        wide[d] = total;
        if (!ShapeMath.FitsElements(wide))
            throw ShapeMath.TooManyElements(op, wide, $"concatenating {all.Count} tensors along dimension {d}, the first of shape {first.Shape}");
        var outShape = (int[])first.shape.Clone();
        outShape[d] = (int)total;
        var r = Empty(outShape, dtype, first.Backend, op);
        int at = 0;
        var sizes = new int[all.Count + 1];
        sizes[0] = d;
        for (int k = 0; k < all.Count; k++)
        {
            var t = all[k];
            var target = new Backends.BufferView(r.storage, t.shape, r.strides, at * r.strides[d]);
            r.Backend.Copy(t.Buf, target);
            at += t.shape[d];
            sizes[k + 1] = t.shape[d];
        }
        return Engine.Record(r, MovementRules.Cat, all.ToArray(), ints: sizes);
    }

    /// <summary>Stacks equally shaped tensors along a new dimension <paramref name="dim"/>. Differentiable.</summary>
    public static Tensor Stack(IEnumerable<Tensor> tensors, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var all = tensors.ToList();
        if (all.Count == 0) throw new ArgumentException("Stack: expects a non-empty list of tensors.");
        foreach (var t in all)
            if (t.Shape != all[0].Shape)
                throw new ArgumentException($"Stack: all tensors must have the same shape, got {all[0].Shape} and {t.Shape}.");
        int d = ShapeMath.NormalizeDim(dim, all[0].Dim + 1, nameof(Stack));
        return Cat(all.Select(t => t.Unsqueeze(d)), d, nameof(Stack));
    }

    Tensor IndexTensor(Tensor index, string op)
    {
        CheckSameDevice(this, index, op);
        if (index.DType is not (DType.Int64 or DType.Int32))
            throw new ArgumentException($"{op}: the index must be an Int64 or Int32 tensor, got {index.DType}.");
        return index.DType == DType.Int64 ? index : index.CastRaw(DType.Int64);
    }

    /// <summary>Picks entries <paramref name="index"/> (a 1-d integer tensor) along <paramref name="dim"/>. Differentiable.</summary>
    public Tensor IndexSelect(int dim, Tensor index)
    {
        var idx = IndexTensor(index, nameof(IndexSelect));
        if (idx.Dim > 1) throw new ArgumentException($"IndexSelect: the index must be 1-d, got shape {index.Shape}.");
        if (Dim == 0) throw new ArgumentException("IndexSelect: cannot index a 0-d tensor.");
        int d = ShapeMath.NormalizeDim(dim, Dim, nameof(IndexSelect));
        var flatIdx = idx.Dim == 0 ? idx.Reshape(1) : idx;
        var outShape = (int[])shape.Clone();
        outShape[d] = flatIdx.shape[0];
        if (!ShapeMath.FitsElements(outShape))
            throw ShapeMath.TooManyElements(nameof(IndexSelect), outShape, $"selecting {flatIdx.shape[0]} entries along dimension {d} of {Shape}");
        var r = Empty(outShape, DType, Backend, nameof(IndexSelect));
        Backend.IndexSelect(Buf, d, flatIdx.Buf, r.Buf);
        return Engine.Record(r, MovementRules.IndexSelect, [this], ints: [d], saved: flatIdx);
    }

    /// <summary>
    /// Gathers values along <paramref name="dim"/>: out[i][j] = x[i][index[i][j]] for dim 1. The index has the
    /// same number of dimensions as this tensor. Differentiable.
    /// </summary>
    public Tensor Gather(int dim, Tensor index)
    {
        var idx = IndexTensor(index, nameof(Gather));
        int d = ShapeMath.NormalizeDim(dim, Dim, nameof(Gather));
        CheckIndexShape(idx, d, nameof(Gather));
        return Engine.Record(GatherRaw(d, idx), MovementRules.Gather, [this], ints: [d], saved: idx);
    }

    void CheckIndexShape(Tensor idx, int d, string op)
    {
        if (idx.Dim != Dim)
            throw new ArgumentException($"{op}: the index must have as many dimensions as the input, got {idx.Shape} for {Shape}.");
        for (int i = 0; i < Dim; i++)
            if (i != d && idx.shape[i] > shape[i])
                throw new ArgumentException($"{op}: index shape {idx.Shape} exceeds input shape {Shape} in dimension {i}.");
    }

    internal Tensor GatherRaw(int d, Tensor idx)
    {
        var r = Empty((int[])idx.shape.Clone(), DType, Backend);
        Backend.Gather(Buf, d, idx.Buf, r.Buf);
        return r;
    }

    /// <summary>
    /// A copy of this tensor with <paramref name="source"/> added at positions given by <paramref name="index"/>
    /// along <paramref name="dim"/> (duplicates accumulate). Differentiable in this tensor and the source.
    /// </summary>
    public Tensor ScatterAdd(int dim, Tensor index, Tensor source)
    {
        var idx = IndexTensor(index, nameof(ScatterAdd));
        int d = ShapeMath.NormalizeDim(dim, Dim, nameof(ScatterAdd));
        CheckIndexShape(idx, d, nameof(ScatterAdd));
        if (source.Dim != Dim) throw new ArgumentException($"ScatterAdd: source shape {source.Shape} must have as many dimensions as {Shape}.");
        for (int i = 0; i < Dim; i++)
            if (source.shape[i] < idx.shape[i])
                throw new ArgumentException($"ScatterAdd: source shape {source.Shape} is smaller than index shape {idx.Shape} in dimension {i}.");
        var r = CopyRaw();
        var src = source.DType == DType ? source : source.CastRaw(DType);
        Backend.ScatterAdd(r.Buf, d, idx.Buf, src.Buf.With(idx.shape, src.strides));
        FlopCosts.Accumulate("scatter_add", idx.Buf);
        return Engine.Record(r, MovementRules.ScatterAdd, [this, source], ints: [d], saved: idx);
    }

    /// <summary>
    /// A copy of this tensor with slices of <paramref name="source"/> added at the positions <paramref name="index"/>
    /// (1-d) gives along <paramref name="dim"/>; duplicates accumulate. Differentiable in this tensor and the source.
    /// </summary>
    public Tensor IndexAdd(int dim, Tensor index, Tensor source)
    {
        var idx = IndexTensor(index, nameof(IndexAdd));
        if (idx.Dim != 1) throw new ArgumentException($"IndexAdd: the index must be 1-d, got shape {index.Shape}.");
        int d = ShapeMath.NormalizeDim(dim, Dim, nameof(IndexAdd));
        var expected = (int[])shape.Clone();
        expected[d] = idx.shape[0];
        if (!source.shape.AsSpan().SequenceEqual(expected))
            throw new ArgumentException($"IndexAdd: source shape {source.Shape} must be {ShapeMath.Format(expected)} for input {Shape} and {idx.shape[0]} indices.");
        CheckSameDevice(this, source, nameof(IndexAdd));
        var r = CopyRaw();
        var src = source.DType == DType ? source : source.CastRaw(DType);
        Backend.IndexAdd(r.Buf, d, idx.Buf, src.Buf);
        FlopCosts.Accumulate("index_add", src.Buf);
        return Engine.Record(r, MovementRules.IndexAdd, [this, source], ints: [d], saved: idx);
    }
}
