namespace NeuralCore;

public sealed partial class Tensor
{
    /// <summary>
    /// Sorts along <paramref name="dim"/> (stably: equal elements keep their order) and returns the sorted values
    /// and, as Int64, where each came from. NaN sorts as larger than every number, as in PyTorch. The values are
    /// differentiable: their gradient goes back to the positions the indices name.
    /// </summary>
    /// <remarks>
    /// The permutation is computed on the host from the tensor's values (one download, and one upload of the
    /// indices on an accelerator); the values are then gathered on the tensor's own device.
    /// </remarks>
    /// <exception cref="ArgumentException">The dimension is out of range.</exception>
    public (Tensor Values, Tensor Indices) Sort(int dim = -1, bool descending = false)
    {
        if (Dim == 0) return OnOneElement(t => t.Sort(dim, descending), 1);
        int d = SortDim(dim, nameof(Sort));
        var indices = SortIndices(d, shape[d], descending);
        return (Gather(d, indices), indices);
    }

    /// <summary>The indices that sort this tensor along <paramref name="dim"/> (stable; Int64); see <see cref="Sort"/>.</summary>
    /// <exception cref="ArgumentException">The dimension is out of range.</exception>
    public Tensor ArgSort(int dim = -1, bool descending = false)
    {
        if (Dim == 0) return OnOneElement(t => (t, t.ArgSort(dim, descending)), 1).Indices;
        int d = SortDim(dim, nameof(ArgSort));
        return SortIndices(d, shape[d], descending);
    }

    /// <summary>
    /// The <paramref name="k"/> largest (or, with <paramref name="largest"/> false, smallest) elements along
    /// <paramref name="dim"/> and their Int64 indices. Results always come in sorted order (largest first, or
    /// smallest first); <paramref name="sorted"/> is accepted for PyTorch compatibility, since an unsorted order
    /// is allowed but not required. Among equal elements the one with the lower index comes first. The values are
    /// differentiable.
    /// </summary>
    /// <exception cref="ArgumentException">The dimension is out of range, or <paramref name="k"/> is negative or larger than the dimension.</exception>
    public (Tensor Values, Tensor Indices) TopK(int k, int dim = -1, bool largest = true, bool sorted = true)
    {
        _ = sorted;
        int d = SortDim(dim, nameof(TopK));
        int n = Dim == 0 ? 1 : shape[d];
        if (k < 0 || k > n)
            throw new ArgumentOutOfRangeException(nameof(k), $"TopK: k = {k} is out of range for dimension {d} of size {n} (shape {Shape}).");
        if (Dim == 0) return OnOneElement(t => t.TopK(k, dim, largest), k);
        var indices = SortIndices(d, k, largest);
        return (Gather(d, indices), indices);
    }

    /// <summary>
    /// The maximum along <paramref name="dim"/> and its Int64 index (the first occurrence), like PyTorch's
    /// <c>torch.max(x, dim)</c>. The values are differentiable; the gradient goes to the first maximum.
    /// </summary>
    /// <exception cref="ArgumentException">The tensor is empty or the dimension is out of range.</exception>
    public (Tensor Values, Tensor Indices) MaxWithIndices(int dim, bool keepDim = false) => ExtremeAlong(dim, keepDim, Backends.ReduceOp.ArgMax);

    /// <summary>The minimum along <paramref name="dim"/> and its Int64 index (the first occurrence); see <see cref="MaxWithIndices"/>.</summary>
    /// <exception cref="ArgumentException">The tensor is empty or the dimension is out of range.</exception>
    public (Tensor Values, Tensor Indices) MinWithIndices(int dim, bool keepDim = false) => ExtremeAlong(dim, keepDim, Backends.ReduceOp.ArgMin);

    int SortDim(int dim, string op) => ShapeMath.NormalizeDim(dim, Math.Max(Dim, 1), op);

    // A 0-d tensor sorts as a one-element vector; the results are 0-d again (empty when TopK keeps nothing).
    (Tensor Values, Tensor Indices) OnOneElement(Func<Tensor, (Tensor Values, Tensor Indices)> op, int count)
    {
        var (values, indices) = op(Reshape(1));
        long[] to = count == 1 ? [] : [0];
        return (values.Reshape(to), indices.Reshape(to));
    }

    /// <summary>
    /// Int64 indices of the first <paramref name="count"/> elements of each lane along <paramref name="d"/> in
    /// sorted order, shaped like this tensor with that dimension of size <paramref name="count"/>.
    /// </summary>
    Tensor SortIndices(int d, int count, bool descending)
    {
        int n = shape[d];
        // Lanes run along the last dimension of this view, so each lane is a contiguous run of the host copy.
        var lanesView = Detach().Transpose(d, Dim - 1);
        long lanes = ShapeMath.Product(lanesView.shape.AsSpan(0, Dim - 1));
        var order = new long[lanes * count];
        if (n > 0 && count > 0)
        {
            if (DType == DType.Int64) FillOrder(lanesView.ToArray<long>(), n, count, descending, order, (a, b) => a.CompareTo(b));
            else FillOrder(lanesView.ToArray<double>(), n, count, descending, order, CompareNaNLast);
        }
        var outShape = (int[])lanesView.shape.Clone();
        outShape[Dim - 1] = count;
        return FromSpan<long>(order, outShape, Device).Transpose(d, Dim - 1).ContiguousRaw();
    }

    // Total order with NaN above +∞ (PyTorch's sort order), so the comparison sort is well defined.
    static int CompareNaNLast(double a, double b) =>
        double.IsNaN(a) ? (double.IsNaN(b) ? 0 : 1) : double.IsNaN(b) ? -1 : a.CompareTo(b);

    static void FillOrder<T>(T[] values, int n, int count, bool descending, long[] order, Comparison<T> compare)
    {
        int lanes = values.Length / n;
        var index = new int[n];
        for (int lane = 0; lane < lanes; lane++)
        {
            int start = lane * n;
            for (int i = 0; i < n; i++) index[i] = i;
            // Ties broken by position make the order total, so the unstable Array.Sort gives the stable result.
            Array.Sort(index, (i, j) =>
            {
                int c = compare(values[start + i], values[start + j]);
                if (descending) c = -c;
                return c != 0 ? c : i.CompareTo(j);
            });
            for (int i = 0; i < count; i++) order[(long)lane * count + i] = index[i];
        }
    }
}
