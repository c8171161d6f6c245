namespace NeuralCore.Testing;

internal static partial class MovementSpecs
{
    static IEnumerable<OpSpec> Joins()
    {
        yield return new OpSpec
        {
            Name = "Cat",
            Arity = -1,
            Forward = (x, s) => Tensor.Cat(x, s.Ints[0]),
            Reference = (x, s) => Cat(x, s.Ints[0]),
            DTypes = AllTypes,
            Tolerances = OpTolerances.Exact,
            SampleGenerator = CatSamples,
        };
        yield return new OpSpec
        {
            Name = "Stack",
            Arity = -1,
            Forward = (x, s) => Tensor.Stack(x, s.Ints[0]),
            Reference = (x, s) =>
            {
                int d = Norm(s.Ints[0], x[0].Rank + 1);
                return Cat(Array.ConvertAll(x, t => t.Reshape(UnsqueezeShape(t.Shape, d))), d);
            },
            DTypes = AllTypes,
            Tolerances = OpTolerances.Exact,
            SampleGenerator = StackSamples,
        };
    }

    static IEnumerable<SampleInput> CatSamples(DType dtype, Generator rng)
    {
        Tensor M(int[] s, SampleLayout l = Dense) => SampleTensors.Make(s, dtype, rng, ValueDomain.Standard, l);
        yield return new("rows", [M([2, 3]), M([4, 3])]) { Ints = [0] };
        yield return new("cols-three", [M([2, 3]), M([2, 1]), M([2, 2])]) { Ints = [1] };
        yield return new("negative-dim", [M([2, 3, 2]), M([2, 3, 5])]) { Ints = [-1] };
        yield return new("one-piece", [M([7])]) { Ints = [0] };
        yield return new("empty-piece", [M([0, 3]), M([2, 3])]) { Ints = [0] };
        yield return new("len33-len40", [M([33]), M([40])]) { Ints = [0] };
        yield return new("noncontig", [M([4, 6], Transposed), M([3, 6], Narrowed), M([2, 6], Expanded)]) { Ints = [0] };
        yield return new("noncontig-permuted-dim1", [M([2, 3, 4], Permuted), M([2, 1, 4])]) { Ints = [1] };
        var other = dtype == DType.Float64 ? DType.Int32 : DType.Float64;
        yield return new($"promote-{other}", [M([2, 3]), SampleTensors.Make([1, 3], other, rng, ValueDomain.Standard)]) { Ints = [0] };
    }

    static IEnumerable<SampleInput> StackSamples(DType dtype, Generator rng)
    {
        Tensor M(int[] s, SampleLayout l = Dense) => SampleTensors.Make(s, dtype, rng, ValueDomain.Standard, l);
        yield return new("dim0", [M([2, 3]), M([2, 3]), M([2, 3])]) { Ints = [0] };
        yield return new("dim-last", [M([2, 3]), M([2, 3])]) { Ints = [-1] };
        yield return new("dim1", [M([2, 3]), M([2, 3])]) { Ints = [1] };
        yield return new("0d", [M([]), M([])]) { Ints = [0] };
        yield return new("empty", [M([0, 2]), M([0, 2])]) { Ints = [1] };
        yield return new("noncontig", [M([4, 6], Transposed), M([4, 6], Narrowed), M([4, 6], Expanded)]) { Ints = [1] };
    }

    static RefTensor Cat(RefTensor[] parts, int dim)
    {
        int d = Norm(dim, parts[0].Rank);
        var shape = (int[])parts[0].Shape.Clone();
        shape[d] = parts.Sum(p => p.Shape[d]);
        var dtype = parts.Select(p => p.DType).Aggregate(PyTorchTypes.Promote);
        return RefTensor.Generate(shape, dtype, i =>
        {
            int at = i[d];
            foreach (var p in parts)
            {
                if (at < p.Shape[d])
                {
                    var j = (int[])i.Clone();
                    j[d] = at;
                    return p[j];
                }
                at -= p.Shape[d];
            }
            throw new InvalidOperationException("Cat reference: index past the last piece.");
        });
    }

    static IEnumerable<OpSpec> Casts()
    {
        foreach (var target in AllTypes)
        {
            yield return new OpSpec
            {
                Name = $"To.{target}",
                Arity = 1,
                Forward = (x, _) => x[0].To(target),
                Reference = (x, _) => x[0].Cast(target),
                DTypes = AllTypes,
                // Casts to Float32 round and to integers truncate, so Float64 GradCheck of them measures rounding, not
                // the gradient; Float64 → Float64 is the identity. The Cast rule is covered by composite ops instead.
                Differentiable = false,
                Tolerances = OpTolerances.Exact,
                SampleGenerator = (dtype, rng) => SampleSets.Unary(dtype, rng, CastDomain(target)),
            };
        }
    }

    // Floating → UInt8 of a negative or ≥ 256 value is undefined in C and PyTorch, so UInt8 targets draw from
    // [0, 250); other targets see fractional values of both signs (truncation toward zero) and exact zeros (Bool).
    static ValueDomain CastDomain(DType target) => target == DType.UInt8
        ? new ValueDomain(0, 250) { Integers = (0, 250) }
        : new ValueDomain(-3, 3) { Lattice = 0.375, Integers = (-9, 9) };
}
