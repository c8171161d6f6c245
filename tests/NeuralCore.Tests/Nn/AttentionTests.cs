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
