using NeuralCore.Backends;

namespace NeuralCore.Gpu.Kernels;

/// <summary>
/// Host-side preparation of strided launches: drops size-1 dimensions and merges neighbours that are contiguous
/// for every operand (as the CPU backend's strided loop does), then packs the result into <see cref="Shape8"/>
/// and <see cref="Strides8"/>. Layouts that still have more than <see cref="Shape8.MaxRank"/> dimensions are
/// split on the host into launches over their leading dimensions.
/// </summary>
internal static class LayoutBuilder
{
    /// <summary>A coalesced iteration over <paramref name="shape"/> for operands with the given strides and offsets.</summary>
    public static (int[] Shape, int[][] Strides) Coalesce(int[] shape, params ReadOnlySpan<int[]> strides)
    {
        var dims = new List<int>();
        var st = new List<int>[strides.Length];
        for (int o = 0; o < strides.Length; o++) st[o] = [];
        for (int k = 0; k < shape.Length; k++)
        {
            if (shape[k] == 1) continue;
            if (dims.Count > 0)
            {
                int last = dims.Count - 1;
                bool merge = true;
                for (int o = 0; o < strides.Length && merge; o++) merge = st[o][last] == strides[o][k] * shape[k];
                if (merge)
                {
                    dims[last] *= shape[k];
                    for (int o = 0; o < strides.Length; o++) st[o][last] = strides[o][k];
                    continue;
                }
            }
            dims.Add(shape[k]);
            for (int o = 0; o < strides.Length; o++) st[o].Add(strides[o][k]);
        }
        return (dims.ToArray(), Array.ConvertAll(st, l => l.ToArray()));
    }

    /// <summary>Packs the trailing <see cref="Shape8.MaxRank"/> (or fewer) dimensions of a row-major shape.</summary>
    public static Shape8 Shape(ReadOnlySpan<int> shape)
    {
        var s = default(Shape8);
        s.Rank = shape.Length;
        Span<int> d = stackalloc int[Shape8.MaxRank];
        d.Fill(1);
        for (int k = 0; k < shape.Length; k++) d[k] = shape[shape.Length - 1 - k];
        s.D0 = d[0]; s.D1 = d[1]; s.D2 = d[2]; s.D3 = d[3]; s.D4 = d[4]; s.D5 = d[5]; s.D6 = d[6]; s.D7 = d[7];
        return s;
    }

    /// <summary>Packs row-major strides (same length as the shape they go with) and an offset.</summary>
    public static Strides8 Strides(ReadOnlySpan<int> strides, int offset)
    {
        var s = default(Strides8);
        s.Offset = offset;
        Span<int> d = stackalloc int[Shape8.MaxRank];
        for (int k = 0; k < strides.Length; k++) d[k] = strides[strides.Length - 1 - k];
        s.S0 = d[0]; s.S1 = d[1]; s.S2 = d[2]; s.S3 = d[3]; s.S4 = d[4]; s.S5 = d[5]; s.S6 = d[6]; s.S7 = d[7];
        return s;
    }

    /// <summary>
    /// Runs <paramref name="launch"/> once per combination of the dimensions beyond <see cref="Shape8.MaxRank"/>
    /// (none for ordinary tensors), giving it the packed inner shape and each operand's strides with the leading
    /// coordinates folded into its offset.
    /// </summary>
    public static void ForEachLaunch(int[] shape, int[][] strides, int[] offsets, Action<Shape8, Strides8[], int> launch)
    {
        int lead = Math.Max(0, shape.Length - Shape8.MaxRank);
        int inner = 1;
        for (int k = lead; k < shape.Length; k++) inner *= shape[k];
        var packed = Shape(shape.AsSpan(lead));
        int outer = 1;
        for (int k = 0; k < lead; k++) outer *= shape[k];
        var pos = new int[lead];
        for (int o = 0; o < outer; o++)
        {
            var s = new Strides8[strides.Length];
            for (int op = 0; op < strides.Length; op++)
            {
                int off = offsets[op];
                for (int k = 0; k < lead; k++) off += pos[k] * strides[op][k];
                s[op] = Strides(strides[op].AsSpan(lead), off);
            }
            launch(packed, s, inner);
            for (int k = lead - 1; k >= 0; k--)
            {
                if (++pos[k] < shape[k]) break;
                pos[k] = 0;
            }
        }
    }

    /// <summary>Coalesces the operands over <paramref name="shape"/> and launches (see <see cref="ForEachLaunch"/>).</summary>
    public static void Launch(int[] shape, ReadOnlySpan<BufferView> operands, Action<Shape8, Strides8[], int> launch)
    {
        var strides = new int[operands.Length][];
        var offsets = new int[operands.Length];
        for (int o = 0; o < operands.Length; o++)
        {
            strides[o] = operands[o].Strides;
            offsets[o] = operands[o].Offset;
        }
        var (dims, st) = Coalesce(shape, strides);
        ForEachLaunch(dims, st, offsets, launch);
    }
}
