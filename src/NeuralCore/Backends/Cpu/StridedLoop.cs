namespace NeuralCore.Backends.Cpu;

/// <summary>
/// Walks up to four operands of one shape row by row. Dimensions of size 1 are dropped and neighbouring
/// dimensions that are contiguous for every operand are merged, so the innermost run is as long as possible:
/// a contiguous tensor becomes a single row, and a broadcast bias becomes rows with inner stride 1 or 0.
/// </summary>
internal sealed class StridedLoop
{
    readonly int[] outerShape;
    readonly int[][] outerStrides;
    readonly int[] baseOffsets;

    public StridedLoop(int[] shape, params ReadOnlySpan<BufferView> operands)
    {
        int n = operands.Length;
        var dims = new List<int>(shape.Length);
        var strides = new List<int[]>(shape.Length);
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] == 1) continue;
            var s = new int[n];
            for (int k = 0; k < n; k++) s[k] = operands[k].Strides[d];
            if (dims.Count > 0)
            {
                int last = dims.Count - 1;
                bool mergeable = true;
                for (int k = 0; k < n && mergeable; k++) mergeable = strides[last][k] == s[k] * shape[d];
                if (mergeable)
                {
                    dims[last] *= shape[d];
                    strides[last] = s;
                    continue;
                }
            }
            dims.Add(shape[d]);
            strides.Add(s);
        }
        if (dims.Count == 0)
        {
            dims.Add(1);
            strides.Add(new int[n]);
        }

        Count = (int)ShapeMath.Product(shape);
        Inner = dims[^1];
        InnerStrides = strides[^1];
        int outerRank = dims.Count - 1;
        outerShape = new int[outerRank];
        outerStrides = new int[outerRank][];
        for (int d = 0; d < outerRank; d++)
        {
            outerShape[d] = dims[d];
            outerStrides[d] = strides[d];
        }
        Rows = Count == 0 ? 0 : Count / Inner;
        baseOffsets = new int[n];
        for (int k = 0; k < n; k++) baseOffsets[k] = operands[k].Offset;
    }

    /// <summary>Total number of elements.</summary>
    public int Count { get; }

    /// <summary>Length of each innermost run.</summary>
    public int Inner { get; }

    /// <summary>Number of runs.</summary>
    public int Rows { get; }

    /// <summary>Per operand, the element stride inside a run.</summary>
    public int[] InnerStrides { get; }

    /// <summary>True when every operand's run is dense (stride 1).</summary>
    public bool InnerContiguous(int operand) => Inner == 1 || InnerStrides[operand] == 1;

    /// <summary>Writes the element offset where run <paramref name="row"/> starts, per operand.</summary>
    public void RowOffsets(int row, Span<int> offsets)
    {
        for (int k = 0; k < baseOffsets.Length; k++) offsets[k] = baseOffsets[k];
        for (int d = outerShape.Length - 1; d >= 0 && row > 0; d--)
        {
            int size = outerShape[d];
            int i = row % size;
            row /= size;
            var s = outerStrides[d];
            for (int k = 0; k < s.Length; k++) offsets[k] += i * s[k];
        }
    }
}
