namespace NeuralCore.Testing;

/// <summary>Specs of matrix products, with <c>torch.matmul</c>'s rules for 1-d operands and broadcast batch dimensions.</summary>
internal static class LinalgSpecs
{
    static readonly DType[] Types = [DType.Float32, DType.Float64, DType.Int32, DType.Int64];

    public static IEnumerable<OpSpec> All()
    {
        yield return new OpSpec
        {
            Name = "MatMul",
            Arity = 2,
            Forward = (x, _) => x[0].MatMul(x[1]),
            Reference = (x, _) => MatMul(x[0], x[1]),
            DTypes = Types,
            Tolerances = OpTolerances.Accumulating,
            SampleGenerator = MatMulSamples,
        };
        yield return new OpSpec
        {
            Name = "Dot",
            Arity = 2,
            Forward = (x, _) => x[0].Dot(x[1]),
            Reference = (x, _) => MatMul(x[0], x[1]),
            DTypes = Types,
            Tolerances = OpTolerances.Accumulating,
            SampleGenerator = DotSamples,
        };
    }

    static IEnumerable<SampleInput> MatMulSamples(DType t, Generator rng)
    {
        Tensor M(int[] s, SampleLayout l = SampleLayout.Contiguous) => SampleTensors.Make(s, t, rng, ValueDomain.Standard, l);
        yield return new("1d-1d", [M([7]), M([7])]);
        yield return new("2d-1d", [M([3, 4]), M([4])]);
        yield return new("1d-2d", [M([4]), M([4, 5])]);
        yield return new("2d-2d", [M([3, 4]), M([4, 5])]);
        yield return new("2d-2d-odd-33x17x9", [M([33, 17]), M([17, 9])]);
        yield return new("2d-2d-1x1", [M([1, 1]), M([1, 1])]);
        yield return new("batched-3d-3d", [M([2, 3, 4]), M([2, 4, 2])]);
        yield return new("bcast-3d-2d", [M([2, 3, 4]), M([4, 5])]);
        yield return new("bcast-2x1x3x4-5x4x2", [M([2, 1, 3, 4]), M([5, 4, 2])]);
        yield return new("1d-3d", [M([4]), M([2, 4, 3])]);
        yield return new("3d-1d", [M([2, 3, 4]), M([4])]);
        yield return new("empty-k", [M([3, 0]), M([0, 4])]);
        yield return new("empty-m", [M([0, 3]), M([3, 2])]);
        yield return new("noncontig-transposed-a", [M([3, 4], SampleLayout.Transposed), M([4, 5])]);
        yield return new("noncontig-transposed-b", [M([3, 4]), M([4, 5], SampleLayout.Transposed)]);
        yield return new("noncontig-both", [M([2, 3, 4], SampleLayout.Permuted), M([4, 2], SampleLayout.Narrowed)]);
        yield return new("noncontig-expanded", [M([4, 6], SampleLayout.Expanded), M([6, 3], SampleLayout.Expanded)]);
    }

    static IEnumerable<SampleInput> DotSamples(DType t, Generator rng)
    {
        Tensor M(int[] s, SampleLayout l = SampleLayout.Contiguous) => SampleTensors.Make(s, t, rng, ValueDomain.Standard, l);
        foreach (var n in new[] { 1, 7, 8, 17, 33, 1000 }) yield return new($"len{n}", [M([n]), M([n])]);
        yield return new("empty", [M([0]), M([0])]);
        yield return new("noncontig-narrowed", [M([9], SampleLayout.Narrowed), M([9], SampleLayout.Narrowed)]);
        yield return new("noncontig-strided", [M([2, 9], SampleLayout.Transposed).Select(0, 1), M([9, 3], SampleLayout.Narrowed).Select(1, 2)]);
    }

    // torch.matmul: a 1-d left operand is a row (removed afterwards), a 1-d right operand a column; the
    // leading dimensions of both broadcast. Written as the triple loop over the broadcast batch.
    static RefTensor MatMul(RefTensor a, RefTensor b)
    {
        var a2 = a.Rank == 1 ? a.Reshape([1, a.Shape[0]]) : a;
        var b2 = b.Rank == 1 ? b.Reshape([b.Shape[0], 1]) : b;
        int m = a2.Shape[^2], k = a2.Shape[^1], n = b2.Shape[^1];
        var batch = RefTensor.BroadcastShape(a2.Shape[..^2], b2.Shape[..^2]);
        var dtype = PyTorchTypes.Promote(a.DType, b.DType);
        var full = RefTensor.Generate([.. batch, m, n], dtype, i =>
        {
            int r = i[^2], c = i[^1];
            double sum = 0;
            for (int p = 0; p < k; p++)
                sum += a2.AtBroadcast([.. i[..^2], r, p]) * b2.AtBroadcast([.. i[..^2], p, c]);
            return sum;
        });
        var shape = new List<int>(batch);
        if (a.Rank > 1) shape.Add(m);
        if (b.Rank > 1) shape.Add(n);
        var result = full.Reshape(shape.ToArray());
        return dtype.IsFloatingPoint() ? result : result.Cast(dtype);
    }
}
