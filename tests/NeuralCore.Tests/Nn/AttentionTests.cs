using NeuralCore.Nn;
using NeuralCore.Testing;
using NeuralCore.Tests.Tensors;

namespace NeuralCore.Tests.Nn;

// Uses the process-wide default generator (dropout) and reads memory statistics, so it runs in the non-parallel collection.
[Collection("Memory")]
public class AttentionTests
{
    static Tensor R(DType dtype, params long[] shape) => Tensor.Randn(shape, dtype);

    static void Close(Tensor expected, Tensor actual, double tol)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        TensorTestHelpers.AllClose(expected.To(DType.Float64).D(), actual.To(DType.Float64).D(), atol: tol, rtol: tol * 10);
    }

    // softmax(q·kᵀ/√D + mask)·v written with tensor ops, the formula the fused kernel must equal.
    static Tensor Composed(Tensor q, Tensor k, Tensor v, Tensor? additiveMask, bool causal)
    {
        long lq = q.Shape[^2], lk = k.Shape[^2];
        var scores = q.MatMul(k.Transpose(-1, -2)) * (1 / Math.Sqrt(q.Shape[^1]));
        if (additiveMask is not null) scores = scores + additiveMask;
        if (causal)
            scores = scores + Tensor.Where(Functional.CausalMask(lq, lk), Tensor.Zeros([lq, lk], q.DType), double.NegativeInfinity);
        return scores.Softmax(-1).MatMul(v);
    }

    [Theory]
    [InlineData(false, DType.Float32)]
    [InlineData(true, DType.Float32)]
    [InlineData(false, DType.Float64)]
    [InlineData(true, DType.Float64)]
    public void Fused_ForwardAndGradients_MatchTheComposedFormula_OverSeveralKeyBlocks(bool causal, DType dtype)
    {
        Rng.ManualSeed(3);
        // 150 keys: three blocks of the CPU kernel (64 + 64 + 22), so the online softmax rescales twice.
        var q = R(dtype, 2, 3, 150, 8).RequiresGrad_();
        var k = R(dtype, 2, 3, 150, 8).RequiresGrad_();
        var v = R(dtype, 2, 3, 150, 6).RequiresGrad_();
        var mask = Tensor.Where(Tensor.Rand([2, 1, 1, 150]).Gt(0.2), Tensor.Zeros([2, 1, 1, 150], dtype), double.NegativeInfinity);
        var dy = R(dtype, 2, 3, 150, 6);

        var fused = Functional.ScaledDotProductAttention(q, k, v, mask, isCausal: causal);
        Assert.Equal("ScaledDotProductAttentionBackward", fused.GradFnName);
        (fused * dy).Sum().Backward();
        var (gq, gk, gv) = (q.Grad!, k.Grad!, v.Grad!);
        q.Grad = k.Grad = v.Grad = null;
        var reference = Composed(q, k, v, mask, causal);
        (reference * dy).Sum().Backward();

        double tol = dtype == DType.Float32 ? 2e-5 : 1e-12;
        Close(reference, fused, tol);
        Close(q.Grad!, gq, tol * 10);
        Close(k.Grad!, gk, tol * 10);
        Close(v.Grad!, gv, tol * 10);
    }

    [Fact]
    public void FloatMaskThatRequiresGrad_TakesTheComposedPath_AndPassesGradCheck()
    {
        Rng.ManualSeed(4);
        var q = R(DType.Float64, 2, 3, 4);
        var k = R(DType.Float64, 2, 5, 4);
        var v = R(DType.Float64, 2, 5, 3);
        var mask = R(DType.Float64, 3, 5);
        GradCheck.Assert(x => Functional.ScaledDotProductAttention(x[0], x[1], x[2], x[3]), [q, k, v, mask]);
    }

    [Fact]
    public void Dropout_IsSeeded_ChangesTheOutput_AndPOneGivesZero()
    {
        var q = Tensor.Randn([1, 2, 6, 4]);
        var k = Tensor.Randn([1, 2, 6, 4]);
        var v = Tensor.Randn([1, 2, 6, 4]);
        Rng.ManualSeed(9);
        var a = Functional.ScaledDotProductAttention(q, k, v, dropoutP: 0.5);
        Rng.ManualSeed(9);
        var b = Functional.ScaledDotProductAttention(q, k, v, dropoutP: 0.5);
        var plain = Functional.ScaledDotProductAttention(q, k, v);
        Assert.Equal(a.F(), b.F());
        Assert.NotEqual(a.F(), plain.F());
        Assert.Equal(0, Functional.ScaledDotProductAttention(q, k, v, dropoutP: 1).Abs().Max().Item<float>());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FusedDropout_MatchesTheComposedPathAndTheExplicitMask(bool causal)
    {
        Rng.ManualSeed(5);
        // 150 keys: the fused forward crosses three key blocks with dropout applied inside each.
        var q = R(DType.Float64, 2, 3, 150, 8).RequiresGrad_();
        var k = R(DType.Float64, 2, 3, 150, 8).RequiresGrad_();
        var v = R(DType.Float64, 2, 3, 150, 6).RequiresGrad_();
        var mask = Tensor.Where(Tensor.Rand([2, 1, 1, 150]).Gt(0.2), Tensor.Zeros([2, 1, 1, 150], DType.Float64), double.NegativeInfinity);
        var dy = R(DType.Float64, 2, 3, 150, 6);
        double scale = 1 / Math.Sqrt(8);

        Rng.ManualSeed(17);
        var fused = Functional.ScaledDotProductAttention(q, k, v, mask, dropoutP: 0.3, isCausal: causal);
        Assert.Equal("ScaledDotProductAttentionBackward", fused.GradFnName);
        (fused * dy).Sum().Backward();
        var (gq, gk, gv) = (q.Grad!, k.Grad!, v.Grad!);
        q.Grad = k.Grad = v.Grad = null;

        // The composed path draws the same mask from the same generator state.
        Rng.ManualSeed(17);
        var composed = Functional.ComposedAttention(q, k, v, mask, 0.3, causal, scale);
        Assert.NotEqual("ScaledDotProductAttentionBackward", composed.GradFnName);
        (composed * dy).Sum().Backward();
        Close(composed, fused, 1e-12);
        Close(q.Grad!, gq, 1e-11);
        Close(k.Grad!, gk, 1e-11);
        Close(v.Grad!, gv, 1e-11);

        // And the mask is the documented one: AttentionDropout's factors over the [B, H, Lq, Lk] weights.
        Rng.ManualSeed(17);
        var factors = NeuralCore.Backends.AttentionDropout.Draw(0.3, 2L * 3 * 150 * 150).Factors(2, 3, 150, 150, DType.Float64);
        using (Tensor.NoGrad())
        {
            var explicitWeights = Composed(q, k, v, mask, causal).Detach();
            var scores = q.MatMul(k.Transpose(-1, -2)) * scale + mask;
            if (causal) scores = scores + Tensor.Where(Functional.CausalMask(150, 150), Tensor.Zeros([150, 150], DType.Float64), double.NegativeInfinity);
            var expected = (scores.Softmax(-1) * factors).MatMul(v);
            Close(expected, fused.Detach(), 1e-12);
            Assert.True((explicitWeights - fused.Detach()).Abs().Max().Item<double>() > 1e-3, "dropout changed nothing");
        }
        var f = factors.ToArray<double>();
        double dropped = f.Count(x => x == 0) / (double)f.Length;
        Assert.InRange(dropped, 0.29, 0.31);
        Assert.All(f, x => Assert.True(x == 0 || Math.Abs(x - 1 / 0.7) < 1e-15));
    }

    [Fact]
    public void FusedDropout_PassesGradCheck_WithAFixedSeed()
    {
        Rng.ManualSeed(6);
        var q = R(DType.Float64, 1, 2, 5, 3);
        var k = R(DType.Float64, 1, 2, 7, 3);
        var v = R(DType.Float64, 1, 2, 7, 2);
        var mask = R(DType.Float64, 5, 7);
        // The seed is reset before every evaluation, so each finite-difference pass sees the same mask.
        bool fused = false;
        GradCheck.Assert(x =>
        {
            Rng.ManualSeed(23);
            var y = Functional.ScaledDotProductAttention(x[0], x[1], x[2], mask, dropoutP: 0.4, isCausal: true);
            fused |= y.GradFnName == "ScaledDotProductAttentionBackward";
            return y;
        }, [q, k, v]);
        Assert.True(fused, "the analytic gradients did not come from the fused kernel");
    }

    [Fact]
    public void MultiheadAttention_WithDropout_ForwardAndForwardWithWeightsDropTheSameWeights()
    {
        Rng.ManualSeed(8);
        var mha = new MultiheadAttention(8, 2, dropout: 0.3, batchFirst: true);
        mha.Train();
        var x = Tensor.Randn(2, 9, 8);
        Rng.ManualSeed(40);
        var fused = mha.Forward(x);
        Rng.ManualSeed(40);
        var (withWeights, _) = mha.ForwardWithWeights(x, x, x);
        Close(withWeights, fused, 2e-6);
        mha.Eval();
        Assert.True((mha.Forward(x) - fused).Abs().Max().Item<float>() > 1e-3);
    }

    [Fact]
    public void Fused_HoldsMemoryLinearInTheSequenceLength()
    {
        // With the graph alive after the forward (inputs, output and the saved log Σ exp) and after the backward
        // (gradients), the bytes held grow with L·D; the composed form would hold the [L, L] weights (16 MiB here).
        const int L = 2048, D = 16;
        var q = Tensor.Randn([1, 1, L, D]).RequiresGrad_();
        var k = Tensor.Randn([1, 1, L, D]).RequiresGrad_();
        var v = Tensor.Randn([1, 1, L, D]).RequiresGrad_();
        MemoryStats.Collect();
        long before = MemoryStats.Cpu.UsedBytes;
        var y = Functional.ScaledDotProductAttention(q, k, v, isCausal: true);
        long afterForward = MemoryStats.Cpu.UsedBytes - before;
        y.Sum().Backward();
        MemoryStats.Collect();
        long afterBackward = MemoryStats.Cpu.UsedBytes - before;
        long quadratic = 4L * L * L;
        Assert.True(afterForward < quadratic / 16, $"forward holds {afterForward} bytes");
        Assert.True(afterBackward < quadratic / 16, $"backward holds {afterBackward} bytes");
        Assert.Equal(q.Shape, q.Grad!.Shape);
    }

    [Fact]
    public void BadInputs_GetClearErrors()
    {
        var q = Tensor.Randn([2, 3, 4]);
        var ex = Assert.Throws<ArgumentException>(() => Functional.ScaledDotProductAttention(q, Tensor.Randn([2, 5, 3]), Tensor.Randn([2, 5, 4])));
        Assert.Contains("ScaledDotProductAttention", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Functional.ScaledDotProductAttention(q, Tensor.Randn([2, 5, 4]), Tensor.Randn([2, 6, 4])));
        Assert.Contains("do not fit", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Functional.ScaledDotProductAttention(q, q, q, Tensor.Ones([3, 5])));
        Assert.Contains("does not broadcast", ex.Message);
        Assert.Throws<ArgumentException>(() => Functional.ScaledDotProductAttention(q, q, q, Tensor.Ones([3, 3], DType.Int64)));
        Assert.Throws<ArgumentException>(() => Functional.ScaledDotProductAttention(q, Tensor.Randn([3, 3, 4]), q));
        Assert.Throws<ArgumentOutOfRangeException>(() => Functional.ScaledDotProductAttention(q, q, q, dropoutP: 1.5));
        Assert.Throws<ArgumentException>(() => Functional.ScaledDotProductAttention(Tensor.Randn([1, 1, 1, 2, 3]), q, q));
    }

    [Fact]
    public void Masks_CausalAndPadding()
    {
        Assert.Equal(new[] { true, false, false, true, true, false }, Functional.CausalMask(2, 3).ToArray<bool>());
        Assert.Equal(new[] { false, false, true, false, false, false }, Functional.PaddingMask([2, 3], 3).ToArray<bool>());
        Assert.Throws<ArgumentException>(() => Functional.PaddingMask([4], 3));
    }
}
