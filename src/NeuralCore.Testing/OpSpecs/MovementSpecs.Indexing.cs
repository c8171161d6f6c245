namespace NeuralCore.Testing;

internal static partial class MovementSpecs
{
    static IEnumerable<OpSpec> Indexing()
    {
        yield return Indexed("IndexSelect", 2, (x, d) => x[0].IndexSelect(d, x[1]), IndexSelectRef, AllTypes, IndexSelectSamples);
        yield return Indexed("Gather", 2, (x, d) => x[0].Gather(d, x[1]), GatherRef, AllTypes, GatherSamples);
        yield return Indexed("ScatterAdd", 3, (x, d) => x[0].ScatterAdd(d, x[1], x[2]), ScatterAddRef, Numeric, ScatterSamples);
        yield return Indexed("IndexAdd", 3, (x, d) => x[0].IndexAdd(d, x[1], x[2]), IndexAddRef, Numeric, IndexAddSamples);
    }

    // ScatterAdd/IndexAdd accumulate duplicates in an unspecified order, so floating sums may round differently.
    static OpSpec Indexed(string name, int arity, Func<Tensor[], int, Tensor> op, Func<RefTensor[], int, RefTensor> reference, DType[] dtypes,
        Func<DType, Generator, IEnumerable<SampleInput>> samples) => new()
        {
            Name = name,
            Arity = arity,
            Forward = (x, s) => op(x, s.Ints[0]),
            Reference = (x, s) => reference(x, Norm(s.Ints[0], x[0].Rank)),
            DTypes = dtypes,
            Tolerances = arity == 3 ? OpTolerances.Arithmetic : OpTolerances.Exact,
            SampleGenerator = samples,
        };

    static RefTensor IndexSelectRef(RefTensor[] x, int d)
    {
        var shape = (int[])x[0].Shape.Clone();
        shape[d] = x[1].NumElements;
        return RefTensor.Generate(shape, x[0].DType, i =>
        {
            var j = (int[])i.Clone();
            j[d] = (int)x[1].Data[i[d]];
            return x[0][j];
        });
    }

    static RefTensor GatherRef(RefTensor[] x, int d) => RefTensor.Generate(x[1].Shape, x[0].DType, i =>
    {
        var j = (int[])i.Clone();
        j[d] = (int)x[1][i];
        return x[0][j];
    });

    static RefTensor ScatterAddRef(RefTensor[] x, int d)
    {
        var result = (double[])x[0].Data.Clone();
        for (int k = 0; k < x[1].NumElements; k++)
        {
            var i = RefTensor.Unravel(k, x[1].Shape);
            var j = (int[])i.Clone();
            j[d] = (int)x[1][i];
            result[RefTensor.Ravel(j, x[0].Shape)] += x[2][i];
        }
        return Accumulated(result, x[0]);
    }

    static RefTensor IndexAddRef(RefTensor[] x, int d)
    {
        var result = (double[])x[0].Data.Clone();
        for (int k = 0; k < x[2].NumElements; k++)
        {
            var i = RefTensor.Unravel(k, x[2].Shape);
            var j = (int[])i.Clone();
            j[d] = (int)x[1].Data[i[d]];
            result[RefTensor.Ravel(j, x[0].Shape)] += x[2].Data[k];
        }
        return Accumulated(result, x[0]);
    }

    // Integer accumulation wraps to the dtype's width, as the hardware does.
    static RefTensor Accumulated(double[] result, RefTensor like)
    {
        var r = new RefTensor(result, like.Shape, like.DType);
        return like.DType.IsFloatingPoint() ? r : r.Cast(like.DType);
    }

    static Tensor V(DType dtype, Generator rng, int[] shape, SampleLayout l = Dense) => SampleTensors.Make(shape, dtype, rng, ValueDomain.Standard, l);

    static IEnumerable<SampleInput> IndexSelectSamples(DType t, Generator rng)
    {
        yield return new("rows-with-duplicates", [V(t, rng, [5, 3]), Idx([4, 0, 4, 2])]) { Ints = [0] };
        yield return new("cols", [V(t, rng, [3, 5]), SampleTensors.Index([7], 5, rng)]) { Ints = [1] };
        yield return new("negative-dim", [V(t, rng, [2, 3, 4]), SampleTensors.Index([5], 4, rng)]) { Ints = [-1] };
        yield return new("empty-index", [V(t, rng, [4, 3]), Idx([])]) { Ints = [0] };
        yield return new("1d-len40", [V(t, rng, [40]), SampleTensors.Index([33], 40, rng)]) { Ints = [0] };
        yield return new("noncontig-transposed", [V(t, rng, [4, 6], Transposed), SampleTensors.Index([3], 6, rng)]) { Ints = [1] };
        yield return new("noncontig-narrowed", [V(t, rng, [3, 5], Narrowed), Idx([2, 2, 0])]) { Ints = [0] };
    }

    static IEnumerable<SampleInput> GatherSamples(DType t, Generator rng)
    {
        yield return new("dim1", [V(t, rng, [3, 5]), SampleTensors.Index([3, 4], 5, rng)]) { Ints = [1] };
        yield return new("dim0-smaller-index", [V(t, rng, [4, 5]), SampleTensors.Index([2, 3], 4, rng)]) { Ints = [0] };
        yield return new("3d-negative-dim", [V(t, rng, [2, 3, 4]), SampleTensors.Index([2, 3, 6], 4, rng)]) { Ints = [-1] };
        yield return new("1d", [V(t, rng, [33]), SampleTensors.Index([40], 33, rng)]) { Ints = [0] };
        yield return new("empty-index", [V(t, rng, [3, 4]), SampleTensors.Index([3, 0], 4, rng)]) { Ints = [1] };
        yield return new("noncontig-transposed", [V(t, rng, [4, 6], Transposed), SampleTensors.Index([4, 6], 6, rng)]) { Ints = [1] };
        yield return new("noncontig-index", [V(t, rng, [3, 5], Narrowed), SampleTensors.Index([5, 3], 5, rng).Transpose(0, 1)]) { Ints = [1] };
    }

    static IEnumerable<SampleInput> ScatterSamples(DType t, Generator rng)
    {
        yield return new("dim1-duplicates", [V(t, rng, [3, 5]), SampleTensors.Index([3, 6], 5, rng), V(t, rng, [3, 6])]) { Ints = [1] };
        yield return new("dim0-smaller-index", [V(t, rng, [4, 3]), SampleTensors.Index([2, 3], 4, rng), V(t, rng, [3, 3])]) { Ints = [0] };
        yield return new("1d", [V(t, rng, [7]), SampleTensors.Index([33], 7, rng), V(t, rng, [33])]) { Ints = [0] };
        yield return new("empty-index", [V(t, rng, [3, 4]), SampleTensors.Index([3, 0], 4, rng), V(t, rng, [3, 2])]) { Ints = [1] };
        yield return new("noncontig", [V(t, rng, [4, 6], Transposed), SampleTensors.Index([4, 3], 6, rng), V(t, rng, [4, 3], Narrowed)]) { Ints = [1] };
    }

    static IEnumerable<SampleInput> IndexAddSamples(DType t, Generator rng)
    {
        yield return new("rows-duplicates", [V(t, rng, [4, 3]), Idx([1, 3, 1]), V(t, rng, [3, 3])]) { Ints = [0] };
        yield return new("cols", [V(t, rng, [3, 5]), SampleTensors.Index([7], 5, rng), V(t, rng, [3, 7])]) { Ints = [1] };
        yield return new("empty-index", [V(t, rng, [4, 3]), Idx([]), V(t, rng, [0, 3])]) { Ints = [0] };
        yield return new("1d-len33", [V(t, rng, [33]), SampleTensors.Index([40], 33, rng), V(t, rng, [40])]) { Ints = [0] };
        yield return new("noncontig", [V(t, rng, [4, 6], Narrowed), Idx([5, 0]), V(t, rng, [4, 2], Transposed)]) { Ints = [-1] };
    }

    static Tensor Idx(double[] values) => SampleTensors.FromDoubles(values, [values.Length], DType.Int64);
}
