namespace NeuralCore.Testing;

/// <summary>Specs of views, copies, joins and casts. Movement is exact: every spec compares bit for bit.</summary>
internal static partial class MovementSpecs
{
    static readonly DType[] AllTypes = ElementwiseSpecs.AllTypes;
    static readonly DType[] Numeric = ElementwiseSpecs.Numeric;

    const SampleLayout Dense = SampleLayout.Contiguous;
    const SampleLayout Transposed = SampleLayout.Transposed;
    const SampleLayout Narrowed = SampleLayout.Narrowed;
    const SampleLayout Expanded = SampleLayout.Expanded;
    const SampleLayout Permuted = SampleLayout.Permuted;

    /// <summary>One single-input sample: a description, the input's shape and layout, and the op's integer arguments.</summary>
    readonly record struct Case(string Description, int[] Shape, SampleLayout Layout, int[] Ints);

    public static IEnumerable<OpSpec> All() => Views().Concat(Joins()).Concat(Indexing()).Concat(Casts());

    static IEnumerable<OpSpec> Views()
    {
        yield return View1("Reshape", (x, a) => x.Reshape(Longs(a)), (x, a) => x.Reshape(Infer(a, x.NumElements)),
            new("3d-to-2d", [2, 3, 4], Dense, [6, 4]), new("infer-flat", [2, 3, 4], Dense, [-1]), new("0d-to-1", [], Dense, [1]),
            new("1-to-0d", [1], Dense, []), new("add-ones", [5], Dense, [1, 5, 1]), new("empty", [0, 3], Dense, [3, 0]),
            new("noncontig-transposed-copy", [4, 6], Transposed, [24]), new("noncontig-narrowed-copy", [3, 5], Narrowed, [5, -1]),
            new("noncontig-expanded", [4, 6], Expanded, [2, 12]), new("noncontig-permuted", [2, 3, 4], Permuted, [6, 4]),
            new("len1000", [1000], Dense, [10, -1, 4]));
        yield return View1("View", (x, a) => x.View(Longs(a)), (x, a) => x.Reshape(Infer(a, x.NumElements)),
            new("3d-to-2d", [2, 3, 4], Dense, [6, 4]), new("infer", [2, 3, 4], Dense, [2, -1]), new("0d-to-1x1", [], Dense, [1, 1]),
            new("empty", [0, 3], Dense, [-1]), new("noncontig-transposed-split-ones", [4, 6], Transposed, [4, 1, 6]),
            new("noncontig-rows", [4, 6], Narrowed, [4, 6, 1]), new("noncontig-expanded-split", [4, 6], Expanded, [2, 2, 6]));
        yield return View1("Flatten", (x, a) => x.Flatten(a[0], a[1]), (x, a) => x.Reshape(FlattenShape(x.Shape, a[0], a[1])),
            new("3d-all", [2, 3, 4], Dense, [0, -1]), new("3d-tail", [2, 3, 4], Dense, [1, 2]), new("0d", [], Dense, [0, -1]),
            new("empty", [2, 0, 3], Dense, [0, 1]), new("noncontig-transposed", [4, 6], Transposed, [0, 1]), new("noncontig-permuted", [2, 3, 4], Permuted, [0, 1]));
        yield return View1("Transpose", (x, a) => x.Transpose(a[0], a[1]), (x, a) => Permute(x, SwapOrder(x.Rank, a[0], a[1])),
            new("2d", [3, 5], Dense, [0, 1]), new("3d-0-2", [2, 3, 4], Dense, [0, 2]), new("3d-negative", [2, 3, 4], Dense, [-1, -2]),
            new("1d-same", [7], Dense, [0, 0]), new("empty", [0, 3], Dense, [0, 1]), new("noncontig-transposed", [4, 6], Transposed, [0, 1]),
            new("noncontig-narrowed", [3, 4, 5], Narrowed, [2, 0]), new("len33x40", [33, 40], Dense, [1, 0]));
        yield return View1("Permute", (x, a) => x.Permute(a), Permute,
            new("3d", [2, 3, 4], Dense, [2, 0, 1]), new("4d", [2, 1, 3, 2], Dense, [1, 3, 0, 2]), new("identity", [3, 5], Dense, [0, 1]),
            new("negative", [2, 3, 4], Dense, [-1, 0, 1]), new("empty", [2, 0, 3], Dense, [2, 1, 0]), new("noncontig-permuted", [2, 3, 4], Permuted, [1, 2, 0]),
            new("noncontig-expanded", [3, 4, 5], Expanded, [2, 0, 1]));
        yield return View1("Expand", (x, a) => x.Expand(Longs(a)), (x, a) => RefTensor.Generate(ExpandShape(x.Shape, a), x.DType, x.AtBroadcast),
            new("column", [3, 1], Dense, [3, 4]), new("new-leading", [1], Dense, [2, 3, 5]), new("0d", [], Dense, [2, 3]),
            new("keep-minus-one", [2, 1, 4], Dense, [3, -1, 5, -1]), new("to-empty", [4], Dense, [0, 4]), new("same", [3, 4], Dense, [3, 4]),
            new("noncontig-transposed", [1, 6], Transposed, [5, 1, 6]), new("noncontig-narrowed", [3, 1], Narrowed, [3, 7]));
        yield return View1("Squeeze", (x, a) => x.Squeeze(), (x, a) => x.Reshape(x.Shape.Where(s => s != 1).ToArray()),
            new("ones", [1, 3, 1, 4], Dense, []), new("0d", [], Dense, []), new("all-ones", [1, 1], Dense, []), new("none", [2, 3], Dense, []),
            new("empty", [1, 0, 1], Dense, []), new("noncontig-narrowed", [1, 3, 1, 4], Narrowed, []));
        yield return View1("Squeeze.dim", (x, a) => x.Squeeze(a[0]), (x, a) => x.Reshape(SqueezeShape(x.Shape, a[0])),
            new("middle", [3, 1, 4], Dense, [1]), new("not-one", [3, 1, 4], Dense, [0]), new("negative", [3, 4, 1], Dense, [-1]),
            new("0d", [], Dense, [0]), new("noncontig-narrowed", [3, 1, 4], Narrowed, [1]));
        yield return View1("Unsqueeze", (x, a) => x.Unsqueeze(a[0]), (x, a) => x.Reshape(UnsqueezeShape(x.Shape, a[0])),
            new("front", [3, 4], Dense, [0]), new("end", [3, 4], Dense, [2]), new("negative", [3, 4], Dense, [-1]), new("0d", [], Dense, [0]),
            new("empty", [0], Dense, [1]), new("noncontig-transposed", [4, 6], Transposed, [1]), new("noncontig-expanded", [4, 6], Expanded, [-3]));
        yield return View1("Narrow", (x, a) => x.Narrow(a[0], a[1], a[2]), (x, a) => Narrow(x, a[0], a[1], a[2]),
            new("rows", [5, 4], Dense, [0, 1, 3]), new("cols", [5, 4], Dense, [1, 2, 2]), new("negative-start", [7], Dense, [0, -3, 2]),
            new("to-empty", [5, 4], Dense, [0, 2, 0]), new("full", [33], Dense, [0, 0, 33]), new("noncontig-transposed", [4, 6], Transposed, [1, 1, 4]),
            new("noncontig-permuted", [2, 3, 4], Permuted, [2, 1, 2]), new("noncontig-expanded", [4, 6], Expanded, [0, 1, 2]));
        yield return View1("Select", (x, a) => x.Select(a[0], a[1]), (x, a) => Select(x, a[0], a[1]),
            new("row", [5, 4], Dense, [0, 2]), new("col", [5, 4], Dense, [1, 3]), new("negative-index", [5, 4], Dense, [0, -1]),
            new("1d-to-0d", [7], Dense, [0, 6]), new("empty-rest", [3, 0], Dense, [0, 1]), new("noncontig-transposed", [4, 6], Transposed, [1, 2]),
            new("noncontig-narrowed", [3, 4, 5], Narrowed, [2, 4]));
        yield return View1("Indexer.range-int", (x, a) => x[1.., 2], (x, a) => Select(Narrow(x, 0, 1, x.Shape[0] - 1), 1, 2),
            new("2d", [4, 5], Dense, []), new("3d", [3, 4, 2], Dense, []), new("noncontig-transposed", [4, 6], Transposed, []),
            new("noncontig-narrowed", [5, 3, 2], Narrowed, []));
        yield return View1("Indexer.fromEnd-range", (x, a) => x[^1, 1..3], (x, a) => Narrow(Select(x, 0, x.Shape[0] - 1), 0, 1, 2),
            new("2d", [4, 5], Dense, []), new("3d", [2, 4, 3], Dense, []), new("noncontig-permuted", [2, 3, 4], Permuted, []));
        yield return View1("Contiguous", (x, a) => x.Contiguous(), (x, a) => x,
            new("dense", [3, 4], Dense, []), new("0d", [], Dense, []), new("empty", [0, 2], Dense, []), new("noncontig-transposed", [4, 6], Transposed, []),
            new("noncontig-narrowed", [3, 5], Narrowed, []), new("noncontig-expanded", [4, 6], Expanded, []), new("noncontig-permuted", [2, 3, 4], Permuted, []),
            new("noncontig-transposed-33x40", [33, 40], Transposed, []));
        yield return View1("Clone", (x, a) => x.Clone(), (x, a) => x,
            new("dense", [3, 4], Dense, []), new("0d", [], Dense, []), new("empty", [0, 2], Dense, []), new("len1000", [1000], Dense, []),
            new("noncontig-transposed", [4, 6], Transposed, []), new("noncontig-expanded", [4, 6], Expanded, []));
    }

    /// <summary>A one-input exact movement op over the given cases, for every dtype.</summary>
    static OpSpec View1(string name, Func<Tensor, int[], Tensor> op, Func<RefTensor, int[], RefTensor> reference, params Case[] cases) => new()
    {
        Name = name,
        Arity = 1,
        Forward = (x, s) => op(x[0], s.Ints),
        Reference = (x, s) => reference(x[0], s.Ints),
        DTypes = AllTypes,
        Tolerances = OpTolerances.Exact,
        SampleGenerator = (dtype, rng) => cases.Select(c =>
            new SampleInput(c.Description, [SampleTensors.Make(c.Shape, dtype, rng, ValueDomain.Standard, c.Layout)]) { Ints = c.Ints }),
    };

    static long[] Longs(int[] a) => Array.ConvertAll(a, v => (long)v);

    static int[] Infer(int[] shape, int count)
    {
        var r = (int[])shape.Clone();
        int known = r.Where(s => s != -1).Aggregate(1, (p, s) => p * s);
        for (int i = 0; i < r.Length; i++) if (r[i] == -1) r[i] = count / known;
        return r;
    }

    static int Norm(int d, int rank) => d < 0 ? d + rank : d;

    static int[] FlattenShape(int[] s, int start, int end)
    {
        if (s.Length == 0) return [1];
        int a = Norm(start, s.Length), b = Norm(end, s.Length);
        return [.. s[..a], s[a..(b + 1)].Aggregate(1, (p, v) => p * v), .. s[(b + 1)..]];
    }

    static int[] SwapOrder(int rank, int d0, int d1)
    {
        var order = Enumerable.Range(0, rank).ToArray();
        if (rank > 0) (order[Norm(d0, rank)], order[Norm(d1, rank)]) = (order[Norm(d1, rank)], order[Norm(d0, rank)]);
        return order;
    }

    // Result dimension k is input dimension order[k]: out[i] = x[j] with j[order[k]] = i[k].
    static RefTensor Permute(RefTensor x, int[] order)
    {
        var o = Array.ConvertAll(order, d => Norm(d, x.Rank));
        return RefTensor.Generate(Array.ConvertAll(o, d => x.Shape[d]), x.DType, i =>
        {
            var j = new int[x.Rank];
            for (int k = 0; k < o.Length; k++) j[o[k]] = i[k];
            return x[j];
        });
    }

    static int[] ExpandShape(int[] have, int[] want)
    {
        var r = (int[])want.Clone();
        int lead = want.Length - have.Length;
        for (int i = lead; i < r.Length; i++) if (r[i] == -1) r[i] = have[i - lead];
        return r;
    }

    static int[] SqueezeShape(int[] s, int dim)
    {
        if (s.Length == 0) return s;
        int d = Norm(dim, s.Length);
        return s[d] != 1 ? s : [.. s[..d], .. s[(d + 1)..]];
    }

    static int[] UnsqueezeShape(int[] s, int dim)
    {
        int d = Norm(dim, s.Length + 1);
        return [.. s[..d], 1, .. s[d..]];
    }

    static RefTensor Narrow(RefTensor x, int dim, int start, int length)
    {
        int d = Norm(dim, x.Rank), s0 = start < 0 ? start + x.Shape[d] : start;
        var shape = (int[])x.Shape.Clone();
        shape[d] = length;
        return RefTensor.Generate(shape, x.DType, i =>
        {
            var j = (int[])i.Clone();
            j[d] += s0;
            return x[j];
        });
    }

    static RefTensor Select(RefTensor x, int dim, int index)
    {
        int d = Norm(dim, x.Rank), at = index < 0 ? index + x.Shape[d] : index;
        int[] shape = [.. x.Shape[..d], .. x.Shape[(d + 1)..]];
        return RefTensor.Generate(shape, x.DType, i => x[[.. i[..d], at, .. i[d..]]]);
    }
}
