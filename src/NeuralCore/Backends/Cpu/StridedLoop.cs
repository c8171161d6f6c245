namespace NeuralCore.Backends.Cpu;

/// <summary>
/// Walks up to four operands of one shape row by row. Dimensions of size 1 are dropped and neighbouring
/// dimensions that are contiguous for every operand are merged, so the innermost run is as long as possible:
/// a contiguous tensor becomes a single row, and a broadcast bias becomes rows with inner stride 1 or 0.
/// The loop is immutable once built, so parallel workers may share it.
/// </summary>
internal sealed class StridedLoop
{
    const int MaxOperands = 4;
    readonly int operands;
    readonly int outerRank;
    // One allocation for the whole layout: inner strides [n], base offsets [n], outer sizes [outerRank], then
    // outer strides [outerRank * n] (the stride of operand k along outer dimension d at d * n + k).
    readonly int[] layout;

    public StridedLoop(int[] shape, params ReadOnlySpan<BufferView> operands)
    {
        int n = operands.Length;
        if (n > MaxOperands) throw new ArgumentException($"StridedLoop: at most {MaxOperands} operands, got {n}.");
        this.operands = n;
        // Merged dimensions are collected on the stack; only the final layout is kept on the heap.
        int rank = shape.Length;
        Span<int> dims = rank <= 16 ? stackalloc int[16] : new int[rank];
        Span<int> strides = rank <= 16 ? stackalloc int[16 * MaxOperands] : new int[rank * MaxOperands];
        int count = 0;
        for (int d = 0; d < rank; d++)
        {
            int size = shape[d];
            if (size == 1) continue;
            if (count > 0)
            {
                var last = strides.Slice((count - 1) * n, n);
                bool mergeable = true;
                for (int k = 0; k < n && mergeable; k++) mergeable = last[k] == operands[k].Strides[d] * size;
                if (mergeable)
                {
                    dims[count - 1] *= size;
                    for (int k = 0; k < n; k++) last[k] = operands[k].Strides[d];
                    continue;
                }
            }
            dims[count] = size;
            for (int k = 0; k < n; k++) strides[count * n + k] = operands[k].Strides[d];
            count++;
        }
        if (count == 0)
        {
            dims[0] = 1;
            strides.Slice(0, n).Clear();
            count = 1;
        }

        Count = (int)ShapeMath.Product(shape);
        Inner = dims[count - 1];
        Rows = Count == 0 ? 0 : Count / Inner;
        outerRank = count - 1;
        layout = new int[2 * n + outerRank * (n + 1)];
        strides.Slice(outerRank * n, n).CopyTo(layout);
        for (int k = 0; k < n; k++) layout[n + k] = operands[k].Offset;
        dims.Slice(0, outerRank).CopyTo(layout.AsSpan(2 * n));
        strides.Slice(0, outerRank * n).CopyTo(layout.AsSpan(2 * n + outerRank));
    }

    /// <summary>Total number of elements.</summary>
    public int Count { get; }

    /// <summary>Length of each innermost run.</summary>
    public int Inner { get; }

    /// <summary>Number of runs.</summary>
    public int Rows { get; }

    /// <summary>Per operand, the element stride inside a run.</summary>
    public ReadOnlySpan<int> InnerStrides => new(layout, 0, operands);

    /// <summary>True when every operand's run is dense (stride 1).</summary>
    public bool InnerContiguous(int operand) => Inner == 1 || layout[operand] == 1;

    /// <summary>Writes the element offset where run <paramref name="row"/> starts, per operand.</summary>
    public void RowOffsets(int row, Span<int> offsets)
    {
        int n = operands;
        var l = layout;
        for (int k = 0; k < n; k++) offsets[k] = l[n + k];
        int sizes = 2 * n, strides = 2 * n + outerRank;
        for (int d = outerRank - 1; d >= 0 && row > 0; d--)
        {
            int size = l[sizes + d];
            int i = row % size;
            row /= size;
            for (int k = 0; k < n; k++) offsets[k] += i * l[strides + d * n + k];
        }
    }
}
