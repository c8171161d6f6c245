using NeuralCore.Autograd;
using NeuralCore.Autograd.Rules;

namespace NeuralCore;

public sealed partial class Tensor
{
    /// <summary>A view of this tensor's storage; the shape must fit <see cref="TensorLimits.MaxElements"/> (checked here, for every view).</summary>
    internal Tensor AsStrided(int[] newShape, int[] newStrides, int newOffset)
    {
        ThrowIfDisposed();
        if (!ShapeMath.FitsElements(newShape)) throw ShapeMath.TooManyElements("View", newShape, $"a view of a tensor of shape {Shape}");
        return new Tensor(storage, newShape, newStrides, newOffset);
    }

    int[] InferShape(long[] requested, string op)
    {
        int infer = -1;
        long known = 1;
        var dims = new int[requested.Length];
        for (int i = 0; i < requested.Length; i++)
        {
            long s = requested[i];
            if (s == -1)
            {
                if (infer >= 0) throw new ArgumentException($"{op}: only one dimension can be -1, got {ShapeMath.Format(requested)}.");
                infer = i;
                continue;
            }
            if (s < 0 || s > int.MaxValue)
                throw new ArgumentException($"{op}: invalid size {s} in {ShapeMath.Format(requested)} (sizes are -1 or in [0, {int.MaxValue}], TensorLimits.MaxElements).");
            dims[i] = (int)s;
            known = ShapeMath.MulSaturating(known, s);
        }
        long n = NumElements;
        if (infer >= 0)
        {
            if (known == 0 || n % known != 0)
                throw new ArgumentException($"{op}: shape {ShapeMath.Format(requested)} is invalid for input of size {n} (shape {Shape}).");
            dims[infer] = (int)(n / known);
        }
        else if (known != n)
            throw new ArgumentException($"{op}: shape {ShapeMath.Format(requested)} is invalid for input of size {n} (shape {Shape}).");
        return dims;
    }

    // Strides that present the same elements in the new shape without copying, if they exist: each run of old
    // dimensions that is contiguous within itself can be re-split freely (the rule PyTorch's view uses).
    int[]? ViewStrides(int[] newShape)
    {
        if (NumElements == 0 || Dim == 0) return ShapeMath.ContiguousStrides(newShape);
        var result = new int[newShape.Length];
        int viewD = newShape.Length - 1;
        long chunkBase = strides.Length > 0 ? strides[^1] : 1;
        long tensorNumel = 1, viewNumel = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            tensorNumel *= shape[d];
            if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensorNumel * chunkBase))
            {
                while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] == 1))
                {
                    result[viewD] = (int)(viewNumel * chunkBase);
                    viewNumel *= newShape[viewD];
                    viewD--;
                }
                if (viewNumel != tensorNumel) return null;
                if (d > 0)
                {
                    chunkBase = strides[d - 1];
                    tensorNumel = 1;
                    viewNumel = 1;
                }
            }
        }
        if (viewD != -1) return null;
        return result;
    }

    /// <summary>The same elements with a new shape, sharing storage (one size may be -1). Differentiable.</summary>
    /// <exception cref="InvalidOperationException">The strides make a view impossible; use <see cref="Reshape(long[])"/>.</exception>
    public Tensor View(params long[] newShape)
    {
        var dims = InferShape(newShape, nameof(View));
        var s = ViewStrides(dims) ?? throw new InvalidOperationException(
            $"View: shape {ShapeMath.Format(dims)} is not compatible with the input's size and strides (shape {Shape}); use Reshape or Contiguous() first.");
        return Engine.Record(AsStrided(dims, s, offset), MovementRules.Reshape, [this]);
    }

    /// <summary>The same elements with a new shape: a view when the strides allow it, else a copy. Differentiable.</summary>
    public Tensor Reshape(params long[] newShape)
    {
        var dims = InferShape(newShape, nameof(Reshape));
        var s = ViewStrides(dims);
        var r = s is not null ? AsStrided(dims, s, offset) : CopyRaw().AsStrided(dims, ShapeMath.ContiguousStrides(dims), 0);
        return Engine.Record(r, MovementRules.Reshape, [this]);
    }

    internal Tensor Reshape(int[] dims) => Reshape(Array.ConvertAll(dims, d => (long)d));

    /// <summary>Flattens dimensions <paramref name="startDim"/>..<paramref name="endDim"/> into one (as <c>torch.flatten</c>).</summary>
    public Tensor Flatten(int startDim = 0, int endDim = -1)
    {
        if (Dim == 0) return Reshape(1);
        int s = ShapeMath.NormalizeDim(startDim, Dim, nameof(Flatten)), e = ShapeMath.NormalizeDim(endDim, Dim, nameof(Flatten));
        if (s > e) throw new ArgumentException($"Flatten: startDim {startDim} comes after endDim {endDim} for shape {Shape}.");
        var dims = new List<long>();
        for (int i = 0; i < s; i++) dims.Add(shape[i]);
        long merged = 1;
        for (int i = s; i <= e; i++) merged *= shape[i];
        dims.Add(merged);
        for (int i = e + 1; i < Dim; i++) dims.Add(shape[i]);
        return Reshape(dims.ToArray());
    }

    /// <summary>Swaps two dimensions (a view). Differentiable.</summary>
    public Tensor Transpose(int dim0, int dim1)
    {
        int a = ShapeMath.NormalizeDim(dim0, Dim, nameof(Transpose)), b = ShapeMath.NormalizeDim(dim1, Dim, nameof(Transpose));
        if (Dim == 0) return this;
        var order = new int[Dim];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        (order[a], order[b]) = (order[b], order[a]);
        return PermuteChecked(order);
    }

    /// <summary>The transpose of a matrix (a view); 0-d and 1-d tensors are returned as they are.</summary>
    public Tensor T => Dim < 2 ? this : Dim == 2 ? Transpose(0, 1)
        : throw new InvalidOperationException($"T: expects a tensor with at most 2 dimensions, got shape {Shape}; use Permute or Transpose.");

    /// <summary>Reorders dimensions (a view): result dimension i is input dimension <paramref name="dims"/>[i]. Differentiable.</summary>
    public Tensor Permute(params int[] dims)
    {
        if (dims.Length != Dim)
            throw new ArgumentException($"Permute: got {dims.Length} dimensions for a tensor of shape {Shape}.");
        var order = new int[Dim];
        var seen = new bool[Dim];
        for (int i = 0; i < dims.Length; i++)
        {
            int d = ShapeMath.NormalizeDim(dims[i], Dim, nameof(Permute));
            if (seen[d]) throw new ArgumentException($"Permute: dimension {dims[i]} repeats in [{string.Join(", ", dims)}].");
            seen[d] = true;
            order[i] = d;
        }
        return PermuteChecked(order);
    }

    Tensor PermuteChecked(int[] order)
    {
        var ns = new int[Dim];
        var nst = new int[Dim];
        for (int i = 0; i < order.Length; i++)
        {
            ns[i] = shape[order[i]];
            nst[i] = strides[order[i]];
        }
        return Engine.Record(AsStrided(ns, nst, offset), MovementRules.Permute, [this], ints: order);
    }

    /// <summary>
    /// Broadcasts to a larger shape without copying (stride 0 along expanded dimensions); -1 keeps a size.
    /// New dimensions are added at the front. Differentiable (the gradient is summed back).
    /// </summary>
    public Tensor Expand(params long[] sizes)
    {
        if (sizes.Length < Dim)
            throw new ArgumentException($"Expand: the target {ShapeMath.Format(sizes)} has fewer dimensions than the tensor's shape {Shape}.");
        int lead = sizes.Length - Dim;
        var ns = new int[sizes.Length];
        var nst = new int[sizes.Length];
        for (int i = 0; i < sizes.Length; i++)
        {
            long want = sizes[i];
            if (i < lead)
            {
                if (want < 0) throw new ArgumentException($"Expand: size {want} is not allowed for the new leading dimension {i} in {ShapeMath.Format(sizes)}.");
                if (want > int.MaxValue) throw ShapeMath.TooManyElements(nameof(Expand), sizes, $"expanding {Shape}");
                ns[i] = (int)want;
                nst[i] = 0;
                continue;
            }
            int have = shape[i - lead];
            if (want == -1 || want == have)
            {
                ns[i] = have;
                nst[i] = strides[i - lead];
            }
            else if (have == 1 && want >= 0)
            {
                if (want > int.MaxValue) throw ShapeMath.TooManyElements(nameof(Expand), sizes, $"expanding {Shape}");
                ns[i] = (int)want;
                nst[i] = 0;
            }
            else throw new ArgumentException($"Expand: cannot expand shape {Shape} to {ShapeMath.Format(sizes)} (dimension {i}: {have} to {want}).");
        }
        if (!ShapeMath.FitsElements(ns)) throw ShapeMath.TooManyElements(nameof(Expand), ns, $"expanding {Shape}");
        return Engine.Record(AsStrided(ns, nst, offset), MovementRules.Expand, [this]);
    }

    internal Tensor BroadcastTo(int[] target)
    {
        if (shape.AsSpan().SequenceEqual(target)) return this;
        return Expand(Array.ConvertAll(target, v => (long)v));
    }

    /// <summary>Expands to <paramref name="other"/>'s shape.</summary>
    public Tensor ExpandAs(Tensor other) => Expand(other.Shape.ToArray());

    /// <summary>Removes dimensions of size 1: all of them, or only <paramref name="dim"/> (a no-op when its size is not 1).</summary>
    public Tensor Squeeze(int? dim = null)
    {
        var keep = new List<long>();
        if (dim is int d0)
        {
            if (Dim == 0) return this;
            int d = ShapeMath.NormalizeDim(d0, Dim, nameof(Squeeze));
            if (shape[d] != 1) return this;
            for (int i = 0; i < Dim; i++) if (i != d) keep.Add(shape[i]);
        }
        else
        {
            foreach (var s in shape) if (s != 1) keep.Add(s);
        }
        return Reshape(keep.ToArray());
    }

    /// <summary>Inserts a dimension of size 1 at <paramref name="dim"/> (in [-Dim-1, Dim]).</summary>
    public Tensor Unsqueeze(int dim)
    {
        int d = ShapeMath.NormalizeDim(dim, Dim + 1, nameof(Unsqueeze));
        var ns = new List<long>(Shape.ToArray());
        ns.Insert(d, 1);
        return Reshape(ns.ToArray());
    }

    /// <summary>
    /// A view of <paramref name="length"/> elements of dimension <paramref name="dim"/> starting at
    /// <paramref name="start"/> (negative counts from the end). Differentiable.
    /// </summary>
    public Tensor Narrow(int dim, long start, long length)
    {
        if (Dim == 0) throw new ArgumentException("Narrow: cannot narrow a 0-d tensor.");
        int d = ShapeMath.NormalizeDim(dim, Dim, nameof(Narrow));
        int size = shape[d];
        if (start < 0) start += size;
        if (start < 0 || length < 0 || start + length > size)
            throw new ArgumentOutOfRangeException(nameof(start), $"Narrow: start {start} and length {length} are out of range for dimension {dim} of size {size} (shape {Shape}).");
        var ns = (int[])shape.Clone();
        ns[d] = (int)length;
        var r = AsStrided(ns, (int[])strides.Clone(), offset + (int)start * strides[d]);
        return Engine.Record(r, MovementRules.Narrow, [this], ints: [d, (int)start]);
    }

    /// <summary>Removes dimension <paramref name="dim"/> by taking element <paramref name="index"/> of it (a view). Differentiable.</summary>
    public Tensor Select(int dim, long index)
    {
        if (Dim == 0) throw new ArgumentException("Select: cannot index a 0-d tensor.");
        int d = ShapeMath.NormalizeDim(dim, Dim, nameof(Select));
        int size = shape[d];
        if (index < -size || index >= size)
            throw new ArgumentOutOfRangeException(nameof(index), $"Select: index {index} is out of range for dimension {dim} of size {size} (shape {Shape}).");
        if (index < 0) index += size;
        var ns = new int[Dim - 1];
        var nst = new int[Dim - 1];
        for (int i = 0, j = 0; i < Dim; i++)
        {
            if (i == d) continue;
            ns[j] = shape[i];
            nst[j++] = strides[i];
        }
        var r = AsStrided(ns, nst, offset + (int)index * strides[d]);
        return Engine.Record(r, MovementRules.Select, [this], ints: [d, (int)index]);
    }

    /// <summary>Splits into pieces of <paramref name="splitSize"/> along <paramref name="dim"/> (the last may be shorter); views.</summary>
    public Tensor[] Split(long splitSize, int dim = 0)
    {
        if (splitSize <= 0) throw new ArgumentException($"Split: splitSize must be positive, got {splitSize}.");
        int d = ShapeMath.NormalizeDim(dim, Dim, nameof(Split));
        var parts = new List<Tensor>();
        for (long s = 0; s < shape[d]; s += splitSize) parts.Add(Narrow(d, s, Math.Min(splitSize, shape[d] - s)));
        return parts.ToArray();
    }

    /// <summary>Splits into <paramref name="chunks"/> nearly equal pieces along <paramref name="dim"/>; views.</summary>
    public Tensor[] Chunk(int chunks, int dim = 0)
    {
        if (chunks <= 0) throw new ArgumentException($"Chunk: chunks must be positive, got {chunks}.");
        int d = ShapeMath.NormalizeDim(dim, Dim, nameof(Chunk));
        long size = (shape[d] + chunks - 1) / chunks;
        return Split(Math.Max(size, 1), d);
    }
}
