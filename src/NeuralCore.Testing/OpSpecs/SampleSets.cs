namespace NeuralCore.Testing;

/// <summary>
/// The standard sample families the registry's specs draw from: 0-d, empty, odd and SIMD-edge lengths
/// (1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 1000: remainders of 4-, 8- and 16-wide vectors), broadcast pairs and
/// every non-contiguous layout.
/// </summary>
public static class SampleSets
{
    /// <summary>Lengths around the 4-, 8- and 16-lane vector widths, plus 1000 for the blocked paths.</summary>
    public static IReadOnlyList<int> EdgeLengths { get; } = [1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 1000];

    /// <summary>Samples for a one-input op with values from <paramref name="domain"/>.</summary>
    public static IEnumerable<SampleInput> Unary(DType dtype, Generator rng, ValueDomain domain)
    {
        Tensor M(int[] s, SampleLayout l = SampleLayout.Contiguous) => SampleTensors.Make(s, dtype, rng, domain, l);
        yield return new("0d", [M([])]);
        yield return new("empty-0", [M([0])]);
        yield return new("empty-2x0x3", [M([2, 0, 3])]);
        foreach (var n in EdgeLengths) yield return new($"len{n}", [M([n])]);
        yield return new("2d-3x5", [M([3, 5])]);
        yield return new("3d-2x3x4", [M([2, 3, 4])]);
        yield return new("noncontig-transposed", [M([4, 6], SampleLayout.Transposed)]);
        yield return new("noncontig-narrowed", [M([3, 5], SampleLayout.Narrowed)]);
        yield return new("noncontig-expanded", [M([4, 6], SampleLayout.Expanded)]);
        yield return new("noncontig-permuted", [M([2, 3, 4], SampleLayout.Permuted)]);
        yield return new("noncontig-transposed-33x5", [M([33, 5], SampleLayout.Transposed)]);
    }

    /// <summary>
    /// Samples for a two-input elementwise op: equal shapes, broadcasting in both directions, 0-d with n-d,
    /// empty, non-contiguous operands, and (when <paramref name="promote"/>) a second operand of another dtype.
    /// </summary>
    public static IEnumerable<SampleInput> Binary(DType dtype, Generator rng, ValueDomain a, ValueDomain b, bool promote = true)
    {
        Tensor A(int[] s, SampleLayout l = SampleLayout.Contiguous) => SampleTensors.Make(s, dtype, rng, a, l);
        Tensor B(int[] s, SampleLayout l = SampleLayout.Contiguous) => SampleTensors.Make(s, dtype, rng, b, l);
        yield return new("0d", [A([]), B([])]);
        yield return new("0d-with-2x3", [A([]), B([2, 3])]);
        yield return new("2x3-with-0d", [A([2, 3]), B([])]);
        yield return new("empty-0", [A([0]), B([0])]);
        yield return new("empty-bcast-2x0-1", [A([2, 0]), B([1])]);
        foreach (var n in new[] { 1, 7, 8, 9, 17, 33, 1000 }) yield return new($"len{n}", [A([n]), B([n])]);
        yield return new("bcast-3x1-1x4", [A([3, 1]), B([1, 4])]);
        yield return new("bcast-2x3x4-4", [A([2, 3, 4]), B([4])]);
        yield return new("bcast-4-2x3x4", [A([4]), B([2, 3, 4])]);
        yield return new("bcast-2x1x4-3x1", [A([2, 1, 4]), B([3, 1])]);
        yield return new("noncontig-transposed", [A([4, 6], SampleLayout.Transposed), B([4, 6])]);
        yield return new("noncontig-narrowed", [A([3, 5], SampleLayout.Narrowed), B([3, 5], SampleLayout.Narrowed)]);
        yield return new("noncontig-expanded", [A([4, 6], SampleLayout.Expanded), B([4, 6], SampleLayout.Transposed)]);
        yield return new("noncontig-permuted-bcast", [A([2, 3, 4], SampleLayout.Permuted), B([3, 4], SampleLayout.Narrowed)]);
        if (promote)
        {
            var other = dtype switch
            {
                DType.Bool => DType.UInt8,
                DType.Int64 => DType.Int32,
                _ when dtype.IsFloatingPoint() => DType.Int32,
                _ => DType.Int64,
            };
            yield return new($"promote-{other}", [A([3, 4]), SampleTensors.Make([4], other, rng, b)]);
        }
    }
}
