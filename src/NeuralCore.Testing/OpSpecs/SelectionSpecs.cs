namespace NeuralCore.Testing;

/// <summary>
/// Specs of the ops that select or rearrange elements by value or by mask (sort, top-k, max with indices, masked
/// fill and select), tensor-bound clamp, and einsum. Sort-like samples carry the dimension in
/// <see cref="SampleInput.Ints"/>.
/// </summary>
internal static class SelectionSpecs
{
    static readonly DType[] Floats = ElementwiseSpecs.Floats;
    static readonly DType[] Numeric = ElementwiseSpecs.Numeric;

    // Distinct values keep GradCheck away from ties, where the sorted order (and so the gradient) jumps.
    static readonly ValueDomain Distinct = ValueDomain.Standard with { Distinct = true };

    // Three lattices offset from one another: the input and both bounds never tie, so clamp never sits on a kink.
    static readonly ValueDomain LatticeX = ValueDomain.Standard with { Lattice = 0.25, LatticeOffset = 0.0625 };
    static readonly ValueDomain LatticeLow = new(-1.5, 0.5) { Lattice = 0.25, LatticeOffset = 0.125, Integers = (-3, 0) };
    static readonly ValueDomain LatticeHigh = new(-0.5, 1.5) { Lattice = 0.25, LatticeOffset = 0.1875, Integers = (0, 3) };

    public static IEnumerable<OpSpec> All()
    {
        yield return Lanes("Sort.values", (x, s) => x.Sort(s.Ints[0]).Values, (x, s) => SortLanes(x, s.Ints[0], null, false, false), true);
        yield return Lanes("Sort.indices", (x, s) => x.Sort(s.Ints[0]).Indices, (x, s) => SortLanes(x, s.Ints[0], null, false, true), false);
        yield return Lanes("Sort.descending.values", (x, s) => x.Sort(s.Ints[0], descending: true).Values,
            (x, s) => SortLanes(x, s.Ints[0], null, true, false), true);
        yield return Lanes("ArgSort.descending", (x, s) => x.ArgSort(s.Ints[0], descending: true), (x, s) => SortLanes(x, s.Ints[0], null, true, true), false);
        yield return Lanes("TopK.values", (x, s) => x.TopK(TopCount(x, s), s.Ints[0]).Values, (x, s) => SortLanes(x, s.Ints[0], TopCount(x, s), true, false), true);
        yield return Lanes("TopK.smallest.indices", (x, s) => x.TopK(TopCount(x, s), s.Ints[0], largest: false).Indices,
            (x, s) => SortLanes(x, s.Ints[0], TopCount(x, s), false, true), false);
        yield return Lanes("MaxWithIndices.indices", (x, s) => x.MaxWithIndices(s.Ints[0], s.KeepDim).Indices,
            (x, s) => x.Reduce(s.Ints, s.KeepDim, g => g.IndexOf(g.Max()), DType.Int64), false, nonEmpty: true);
        yield return Lanes("MinWithIndices.values", (x, s) => x.MinWithIndices(s.Ints[0], s.KeepDim).Values,
            (x, s) => x.Reduce(s.Ints, s.KeepDim, g => g.Min(), x.DType), true, nonEmpty: true);
        yield return MaskedFill();
        yield return MaskedSelect();
        yield return ClampTensor();
        yield return Einsum("Einsum.matmul", "ij,jk->ik", [[3, 4], [4, 5]], [[7, 1], [1, 9]]);
        yield return Einsum("Einsum.batched", "bij,bjk->bik", [[2, 3, 4], [2, 4, 5]], [[1, 3, 2], [1, 2, 0]]);
        yield return Einsum("Einsum.attention", "bhqd,bhkd->bhqk", [[2, 2, 3, 4], [2, 2, 5, 4]], [[1, 2, 0, 4], [1, 2, 3, 4]]);
        yield return Einsum("Einsum.dot", "i,i->", [[6], [6]], [[0], [0]]);
        yield return Einsum("Einsum.outer-implicit", "i,j", [[3], [4]], [[0], [1]]);
        yield return Einsum("Einsum.trace-columns", "iij->j", [[3, 3, 4]], [[2, 2, 0]]);
        yield return Einsum("Einsum.transpose-sum", "ijk->ki", [[2, 3, 4]], [[1, 7, 2]]);
    }

    static int TopCount(RefTensor x, SampleInput s) => x.Rank == 0 ? 1 : Math.Min(2, x.Shape[(s.Ints[0] + x.Rank) % x.Rank]);

    static int TopCount(Tensor x, SampleInput s) => x.Dim == 0 ? 1 : (int)Math.Min(2, x.Shape[(s.Ints[0] + x.Dim) % x.Dim]);

    static OpSpec Lanes(string name, Func<Tensor, SampleInput, Tensor> op, Func<RefTensor, SampleInput, RefTensor> reference, bool differentiable,
        bool nonEmpty = false) => new()
        {
            Name = name,
            Arity = 1,
            Forward = (x, s) => op(x[0], s),
            Reference = (x, s) => reference(x[0], s),
            DTypes = Numeric,
            Differentiable = differentiable,
            Tolerances = OpTolerances.Exact,
            SampleGenerator = (dtype, rng) => nonEmpty ? ReductionSpecs.AlongDimNonEmpty(dtype, rng, Distinct) : ReductionSpecs.AlongDim(dtype, rng, Distinct),
        };

    // Each lane along dim sorted stably (ties by position), keeping the first `count` entries: values or positions.
    static RefTensor SortLanes(RefTensor x, int dim, int? count, bool descending, bool indices)
    {
        var dtype = indices ? DType.Int64 : x.DType;
        if (x.Rank == 0) return RefTensor.Scalar(indices ? 0 : x.Data[0], dtype);
        int d = (dim + x.Rank) % x.Rank;
        int n = x.Shape[d], k = count ?? n;
        var shape = (int[])x.Shape.Clone();
        shape[d] = k;
        return RefTensor.Generate(shape, dtype, at =>
        {
            var lane = new List<(double Value, int Position)>();
            for (int i = 0; i < n; i++)
            {
                var j = (int[])at.Clone();
                j[d] = i;
                lane.Add((x[j], i));
            }
            var ordered = descending ? lane.OrderByDescending(e => e.Value).ThenBy(e => e.Position) : lane.OrderBy(e => e.Value).ThenBy(e => e.Position);
            var pick = ordered.ElementAt(at[d]);
            return indices ? pick.Position : pick.Value;
        });
    }

    static OpSpec MaskedFill() => new()
    {
        Name = "MaskedFill",
        Arity = 2,
        Forward = (x, _) => x[0].MaskedFill(x[1], 3),
        Reference = (x, _) => RefTensor.Generate(x[0].Shape, x[0].DType,
            i => x[1].AtBroadcast(i) != 0 ? 3 : x[0][i]),
        DTypes = Numeric,
        Tolerances = OpTolerances.Exact,
        SampleGenerator = MaskSamples,
    };

    static OpSpec MaskedSelect() => new()
    {
        Name = "MaskedSelect",
        Arity = 2,
        Forward = (x, _) => x[0].MaskedSelect(x[1]),
        Reference = (x, _) =>
        {
            var shape = RefTensor.BroadcastShape(x[0].Shape, x[1].Shape);
            var picked = new List<double>();
            for (int f = 0; f < RefTensor.Count(shape); f++)
            {
                var i = RefTensor.Unravel(f, shape);
                if (x[1].AtBroadcast(i) != 0) picked.Add(x[0].AtBroadcast(i));
            }
            return new RefTensor([.. picked], [picked.Count], x[0].DType);
        },
        DTypes = Numeric,
        Tolerances = OpTolerances.Exact,
        SampleGenerator = MaskSamples,
    };

    static IEnumerable<SampleInput> MaskSamples(DType dtype, Generator rng)
    {
        var d = ValueDomain.Standard;
        Tensor M(int[] s, SampleLayout l = SampleLayout.Contiguous) => SampleTensors.Make(s, DType.Bool, rng, d, l);
        Tensor V(int[] s, SampleLayout l = SampleLayout.Contiguous) => SampleTensors.Make(s, dtype, rng, d, l);
        yield return new("0d", [V([]), M([])]);
        yield return new("empty-0", [V([0]), M([0])]);
        foreach (var n in new[] { 1, 7, 33, 1000 }) yield return new($"len{n}", [V([n]), M([n])]);
        yield return new("bcast-mask-3x1", [V([3, 4]), M([3, 1])]);
        yield return new("bcast-0d-mask", [V([2, 3]), M([])]);
        yield return new("noncontig", [V([4, 6], SampleLayout.Transposed), M([4, 6], SampleLayout.Narrowed)]);
    }

    static OpSpec ClampTensor() => new()
    {
        Name = "Clamp.tensor",
        Arity = 3,
        Forward = (x, _) => x[0].Clamp(x[1], x[2]),
        Reference = (x, _) => RefTensor.Generate(RefTensor.BroadcastShape(x[0].Shape, x[1].Shape, x[2].Shape),
            PyTorchTypes.Promote(PyTorchTypes.Promote(x[0].DType, x[1].DType), x[2].DType),
            i => Math.Min(Math.Max(x[0].AtBroadcast(i), x[1].AtBroadcast(i)), x[2].AtBroadcast(i))),
        DTypes = Numeric,
        Tolerances = OpTolerances.Exact,
        SampleGenerator = ClampSamples,
    };

    static IEnumerable<SampleInput> ClampSamples(DType dtype, Generator rng)
    {
        Tensor X(int[] s, SampleLayout l = SampleLayout.Contiguous) => SampleTensors.Make(s, dtype, rng, LatticeX, l);
        Tensor Lo(int[] s, SampleLayout l = SampleLayout.Contiguous) => SampleTensors.Make(s, dtype, rng, LatticeLow, l);
        Tensor Hi(int[] s, SampleLayout l = SampleLayout.Contiguous) => SampleTensors.Make(s, dtype, rng, LatticeHigh, l);
        yield return new("0d", [X([]), Lo([]), Hi([])]);
        yield return new("empty-0", [X([0]), Lo([0]), Hi([0])]);
        foreach (var n in new[] { 1, 7, 33 }) yield return new($"len{n}", [X([n]), Lo([n]), Hi([n])]);
        yield return new("bcast-rows-and-0d", [X([3, 4]), Lo([3, 1]), Hi([])]);
        yield return new("noncontig", [X([4, 6], SampleLayout.Transposed), Lo([4, 6], SampleLayout.Narrowed), Hi([4, 6], SampleLayout.Expanded)]);
    }

    /// <summary>
    /// Einsum with a fixed equation. Samples: the given shapes (dense and with the first operand transposed when it
    /// is at least 2-d) and <paramref name="emptyShapes"/>, which may contain zero sizes.
    /// </summary>
    static OpSpec Einsum(string name, string equation, int[][] shapes, int[][] emptyShapes) => new()
    {
        Name = name,
        Arity = shapes.Length,
        Forward = (x, _) => Tensor.Einsum(equation, x),
        Reference = (x, _) => EinsumReference(equation, x),
        DTypes = Floats,
        Tolerances = OpTolerances.Accumulating,
        SampleGenerator = (dtype, rng) => EinsumSamples(dtype, rng, shapes, emptyShapes),
    };

    static IEnumerable<SampleInput> EinsumSamples(DType dtype, Generator rng, int[][] shapes, int[][] emptyShapes)
    {
        var d = ValueDomain.Standard;
        yield return new("dense", [.. shapes.Select(s => SampleTensors.Make(s, dtype, rng, d))]);
        yield return new("other-sizes", [.. emptyShapes.Select(s => SampleTensors.Make(s, dtype, rng, d))]);
        // A permuted first operand and expanded others: the labels keep their meaning, the storage order changes.
        yield return new("noncontig", [.. shapes.Select((s, i) => SampleTensors.Make(s, dtype, rng, d, i == 0 && s.Length >= 2 ? SampleLayout.Permuted : SampleLayout.Expanded))]);
    }

    // Plain loops over every assignment of the labels: out[output labels] += Π operand[its labels].
    static RefTensor EinsumReference(string equation, RefTensor[] x)
    {
        var parts = equation.Split("->");
        var inputs = parts[0].Split(',');
        string output = parts.Length > 1 ? parts[1]
            : string.Concat(parts[0].Where(c => c != ',' && parts[0].Count(o => o == c) == 1).OrderBy(c => c));
        var sizes = new Dictionary<char, int>();
        for (int i = 0; i < inputs.Length; i++)
            for (int k = 0; k < inputs[i].Length; k++) sizes[inputs[i][k]] = x[i].Shape[k];
        var labels = sizes.Keys.ToArray();
        var outShape = output.Select(c => sizes[c]).ToArray();
        var result = new double[RefTensor.Count(outShape)];
        var all = labels.Select(c => sizes[c]).ToArray();
        for (int f = 0; f < RefTensor.Count(all); f++)
        {
            var at = RefTensor.Unravel(f, all);
            int Of(char c) => at[Array.IndexOf(labels, c)];
            double p = 1;
            for (int i = 0; i < inputs.Length; i++) p *= x[i][inputs[i].Select(Of).ToArray()];
            result[RefTensor.Ravel(output.Select(Of).ToArray(), outShape)] += p;
        }
        return new RefTensor(result, outShape, x[0].DType);
    }
}
