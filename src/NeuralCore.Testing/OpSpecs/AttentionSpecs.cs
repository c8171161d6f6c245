using NeuralCore.Nn;

namespace NeuralCore.Testing;

/// <summary>
/// Specs of scaled dot-product attention: the fused kernel on backends that have one (the CPU), the composed
/// MatMul/Softmax form elsewhere, both against a plain-loop softmax(q·kᵀ·scale + mask)·v.
/// </summary>
internal static class AttentionSpecs
{
    static readonly DType[] Types = [DType.Float32, DType.Float64];

    public static IEnumerable<OpSpec> All()
    {
        // Ints[0] = 1: causal.
        yield return new OpSpec
        {
            Name = "ScaledDotProductAttention",
            Arity = 3,
            Forward = (x, s) => Functional.ScaledDotProductAttention(x[0], x[1], x[2], isCausal: s.Ints[0] != 0),
            Reference = (x, s) => Attention(x[0], x[1], x[2], null, s.Ints[0] != 0),
            DTypes = Types,
            Tolerances = OpTolerances.Accumulating,
            SampleGenerator = Samples,
        };
        // A Bool mask (true: attend), broadcast to the scores' shape.
        yield return new OpSpec
        {
            Name = "ScaledDotProductAttention.mask",
            Arity = 4,
            Forward = (x, s) => Functional.ScaledDotProductAttention(x[0], x[1], x[2], x[3], isCausal: s.Ints[0] != 0),
            Reference = (x, s) => Attention(x[0], x[1], x[2], x[3], s.Ints[0] != 0),
            DTypes = Types,
            Tolerances = OpTolerances.Accumulating,
            SampleGenerator = MaskSamples,
        };
    }

    static IEnumerable<SampleInput> Samples(DType t, Generator rng)
    {
        Tensor M(int[] s, SampleLayout l = SampleLayout.Contiguous) => SampleTensors.Make(s, t, rng, ValueDomain.Standard, l);
        foreach (int causal in new[] { 0, 1 })
        {
            string c = causal == 1 ? "-causal" : "";
            yield return new($"4d-2x2x5x4{c}", [M([2, 2, 5, 4]), M([2, 2, 5, 4]), M([2, 2, 5, 4])]) { Ints = [causal] };
            yield return new($"3d-lq3-lk7-dv5{c}", [M([2, 3, 4]), M([2, 7, 4]), M([2, 7, 5])]) { Ints = [causal] };
            yield return new($"2d-single-query{c}", [M([1, 6]), M([9, 6]), M([9, 3])]) { Ints = [causal] };
            // More keys than one key block of the CPU kernel (64), so the online softmax rescales across blocks.
            yield return new($"3d-lk70-two-blocks{c}", [M([1, 3, 2]), M([1, 70, 2]), M([1, 70, 3])]) { Ints = [causal] };
            yield return new($"noncontig-transposed{c}", [M([1, 2, 4, 3], SampleLayout.Transposed), M([1, 2, 5, 3], SampleLayout.Narrowed), M([1, 2, 5, 2], SampleLayout.Permuted)]) { Ints = [causal] };
            yield return new($"noncontig-expanded{c}", [M([2, 3, 4], SampleLayout.Expanded), M([2, 3, 4], SampleLayout.Expanded), M([2, 3, 4])]) { Ints = [causal] };
            yield return new($"empty-queries{c}", [M([2, 0, 4]), M([2, 3, 4]), M([2, 3, 4])]) { Ints = [causal] };
        }
        // No key at all: every row sees nothing and gives 0.
        yield return new("empty-keys", [M([2, 3, 4]), M([2, 0, 4]), M([2, 0, 5])]) { Ints = [0] };
    }

    static IEnumerable<SampleInput> MaskSamples(DType t, Generator rng)
    {
        Tensor M(int[] s) => SampleTensors.Make(s, t, rng, ValueDomain.Standard);
        // Roughly one key in three masked out; some rows of the small masks are fully masked (output 0).
        Tensor Mask(int[] s) => SampleTensors.Make(s, DType.Float32, rng, ValueDomain.Standard).Gt(-0.4);
        yield return new("mask-lq-lk", [M([2, 4, 3]), M([2, 6, 3]), M([2, 6, 3]), Mask([4, 6])]) { Ints = [0] };
        yield return new("mask-key-padding-4d", [M([2, 2, 3, 4]), M([2, 2, 5, 4]), M([2, 2, 5, 2]), Mask([2, 1, 1, 5])]) { Ints = [0] };
        yield return new("mask-full-4d-causal", [M([1, 2, 4, 3]), M([1, 2, 4, 3]), M([1, 2, 4, 3]), Mask([1, 2, 4, 4])]) { Ints = [1] };
        yield return new("mask-batch-3d", [M([3, 2, 4]), M([3, 5, 4]), M([3, 5, 4]), Mask([3, 2, 5])]) { Ints = [0] };
        yield return new("noncontig-expanded-mask", [SampleTensors.Make([1, 2, 3, 4], t, rng, ValueDomain.Standard, SampleLayout.Transposed),
            M([1, 2, 5, 4]), M([1, 2, 5, 4]), Mask([1, 1, 1, 5]).Expand(1, 2, 3, 5)]) { Ints = [0] };
        yield return new("mask-fully-masked", [M([1, 2, 3]), M([1, 4, 3]), M([1, 4, 3]), Tensor.Zeros([2, 4], DType.Bool)]) { Ints = [0] };
    }

    // softmax over the allowed keys of (q·k)/√D, times v; a row with no allowed key gives 0.
    static RefTensor Attention(RefTensor q, RefTensor k, RefTensor v, RefTensor? mask, bool causal)
    {
        int r = q.Rank, lq = q.Shape[r - 2], d = q.Shape[r - 1], lk = k.Shape[r - 2], dv = v.Shape[r - 1];
        double scale = d > 0 ? 1 / Math.Sqrt(d) : 1;
        int[] outShape = [.. q.Shape[..(r - 2)], lq, dv];
        var batch = q.Shape[..(r - 2)];
        var result = new double[RefTensor.Count(outShape)];
        int batches = RefTensor.Count(batch);
        var scores = new double[lk];
        for (int bi = 0; bi < batches; bi++)
        {
            var b = RefTensor.Unravel(bi, batch);
            for (int i = 0; i < lq; i++)
            {
                double max = double.NegativeInfinity;
                for (int j = 0; j < lk; j++)
                {
                    bool allowed = (!causal || j <= i) && (mask is null || mask.AtBroadcast([.. b, i, j]) != 0);
                    double s = 0;
                    for (int p = 0; p < d; p++) s += q[[.. b, i, p]] * k[[.. b, j, p]];
                    scores[j] = allowed ? s * scale : double.NegativeInfinity;
                    max = Math.Max(max, scores[j]);
                }
                double sum = 0;
                for (int j = 0; j < lk; j++) sum += double.IsNegativeInfinity(scores[j]) ? 0 : Math.Exp(scores[j] - max);
                for (int c = 0; c < dv; c++)
                {
                    double acc = 0;
                    for (int j = 0; j < lk; j++)
                        if (!double.IsNegativeInfinity(scores[j])) acc += Math.Exp(scores[j] - max) / sum * v[[.. b, j, c]];
                    result[RefTensor.Ravel([.. b, i, c], outShape)] = acc;
                }
            }
        }
        return new RefTensor(result, outShape, q.DType);
    }
}
