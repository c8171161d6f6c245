using NeuralCore.Nn;
using NeuralCore.Testing;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Tests.Nn;

/// <summary>
/// The single-op forms of Linear (2-d input) and CrossEntropy (2-d logits, index targets) against the composed
/// ops they replace: values and gradients, plus numerical gradient checks of the single ops themselves.
/// </summary>
public class FusedLinearAndLossTests
{
    static void AssertNear(Tensor expected, Tensor actual, double tol, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var e = expected.To(DType.Float64).ToArray<double>();
        var a = actual.To(DType.Float64).ToArray<double>();
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= tol * Math.Max(1, Math.Abs(e[i])), $"{what}, element {i}: expected {e[i]:R}, got {a[i]:R}");
    }

    /// <summary>
    /// A Linear forward on one to four rows (the unpacked small-row GEMM) gives each row the bits it gets inside a larger
    /// batch, so a served request's answer does not depend on what it was batched with; also in a sample MLP.
    /// </summary>
    [Theory]
    [InlineData(784, 64)]
    [InlineData(64, 10)]
    [InlineData(300, 37)]
    public void Linear_RowsAlone_AreBitIdenticalToTheSameRowsInABatch(int inFeatures, int outFeatures)
    {
        var gen = new Generator(21);
        var x = Tensor.Randn([24, inFeatures], DType.Float32, gen);
        var w = Tensor.Randn([outFeatures, inFeatures], DType.Float32, gen);
        var b = Tensor.Randn([outFeatures], DType.Float32, gen);
        using var noGrad = Tensor.NoGrad();
        var batched = F.Linear(x, w, b).ToArray<float>();
        foreach (int rows in new[] { 1, 2, 3, 4, 5 })
            for (int start = 0; start + rows <= 24; start += 7)
            {
                var part = F.Linear(x[start..(start + rows)], w, b).ToArray<float>();
                Assert.Equal(batched.AsSpan(start * outFeatures, rows * outFeatures).ToArray(), part);   // exact
            }

        var mlp = new Sequential(new Dense(64, activation: Activation.Relu), new Dense(32, activation: Activation.Relu), new Dense(10));
        mlp.Eval();
        var all = mlp.Forward(x).ToArray<float>();
        for (int row = 0; row < 24; row += 5)
            Assert.Equal(all.AsSpan(row * 10, 10).ToArray(), mlp.Forward(x[row..(row + 1)]).ToArray<float>());
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void Linear_MatchesMatMulPlusBias_InValueAndGradients(bool withBias, bool inputNeedsGrad)
    {
        var gen = new Generator(5);
        var x = Tensor.Randn([37, 50], DType.Float32, gen).RequiresGrad_(inputNeedsGrad);
        var w = Tensor.Randn([19, 50], DType.Float32, gen).RequiresGrad_();
        var b = withBias ? Tensor.Randn([19], DType.Float32, gen).RequiresGrad_() : null;
        var dy = Tensor.Randn([37, 19], DType.Float32, gen);

        var y = F.Linear(x, w, b);
        Assert.Equal("LinearBackward", y.GradFnName);
        y.Backward(dy);
        var (gx, gw, gb) = (x.Grad, w.Grad!, b?.Grad);
        x.Grad = null; w.Grad = null;
        if (b is not null) b.Grad = null;

        var reference = x.MatMul(w.T);
        if (b is not null) reference = reference + b;
        reference.Backward(dy);

        AssertNear(reference, y, 1e-5, "output");
        AssertNear(w.Grad!, gw, 1e-5, "weight gradient");
        Assert.True(gw.IsContiguous);
        if (b is not null) AssertNear(b.Grad!, gb!, 1e-5, "bias gradient");
        if (inputNeedsGrad) AssertNear(x.Grad!, gx!, 1e-5, "input gradient");
        else Assert.Null(gx);
    }

    [Theory]
    [InlineData(new long[] { 7 })]
    [InlineData(new long[] { 3, 4, 7 })]
    [InlineData(new long[] { 2, 0, 7 })]
    public void Linear_OnOtherInputRanks_MatchesMatMulPlusBias(long[] shape)
    {
        var gen = new Generator(4);
        var x = Tensor.Randn(shape, DType.Float64, gen).RequiresGrad_();
        var w = Tensor.Randn([5, 7], DType.Float64, gen).RequiresGrad_();
        var b = Tensor.Randn([5], DType.Float64, gen).RequiresGrad_();
        var y = F.Linear(x, w, b);
        var outShape = shape.ToArray();
        outShape[^1] = 5;
        Assert.Equal(new Shape(outShape), y.Shape);
        var dy = Tensor.Randn(outShape, DType.Float64, gen);
        y.Backward(dy);
        var (gx, gw, gb) = (x.Grad!, w.Grad!, b.Grad!);
        x.Grad = null; w.Grad = null; b.Grad = null;
        var reference = x.MatMul(w.T) + b;
        reference.Backward(dy);
        AssertNear(reference, y, 1e-12, "output");
        AssertNear(x.Grad!, gx, 1e-12, "input gradient");
        AssertNear(w.Grad!, gw, 1e-12, "weight gradient");
        AssertNear(b.Grad!, gb, 1e-12, "bias gradient");
    }

    [Fact]
    public void Linear_GradCheck_OnTheSingleOp()
    {
        var gen = new Generator(6);
        Tensor R(params long[] s) => Tensor.Randn(s, DType.Float64, gen);
        GradCheck.Assert(a => F.Linear(a[0], a[1], a[2]), [R(4, 3), R(5, 3), R(5)]);
        GradCheck.Assert(a => F.Linear(a[0], a[1]), [R(2, 3), R(4, 3)]);
        GradCheck.Assert(a => F.Linear(a[0], a[1], a[2]), [R(2, 0), R(4, 0), R(4)]);
    }

    [Fact]
    public void Linear_OnTransposedInputAndWeightViews_ReadsThemInPlace()
    {
        var gen = new Generator(7);
        var xt = Tensor.Randn([6, 9], DType.Float32, gen);
        var wt = Tensor.Randn([6, 4], DType.Float32, gen);
        AssertNear(xt.T.MatMul(wt), F.Linear(xt.T, wt.T), 1e-5, "transposed operands");
    }

    [Theory]
    [InlineData(Reduction.Mean)]
    [InlineData(Reduction.Sum)]
    [InlineData(Reduction.None)]
    public void CrossEntropy_MatchesLogSoftmaxAndNllLoss_InValueAndGradient(Reduction reduction)
    {
        var gen = new Generator(8);
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
            foreach (long ignore in new long[] { -100, 3 })
            {
                var logits = (Tensor.Randn([64, 10], dtype, gen) * 3).RequiresGrad_();
                var target = Tensor.RandInt(0, 10, [64], gen);
                var loss = F.CrossEntropy(logits, target, reduction, ignoreIndex: ignore);
                Assert.Equal("CrossEntropyBackward", loss.GradFnName);
                var dy = reduction == Reduction.None ? Tensor.Randn([64], dtype, gen) : null;
                loss.Backward(dy);
                var fusedGrad = logits.Grad!;
                logits.Grad = null;

                var reference = F.NllLoss(logits.LogSoftmax(1), target, reduction, ignoreIndex: ignore);
                reference.Backward(dy);
                double tol = dtype == DType.Float32 ? 1e-5 : 1e-12;
                AssertNear(reference, loss, tol, $"{dtype} loss, ignore {ignore}");
                AssertNear(logits.Grad!, fusedGrad, tol, $"{dtype} gradient, ignore {ignore}");
            }
    }

    [Fact]
    public void CrossEntropy_AcceptsNonContiguousLogits_AndInt32Targets()
    {
        var gen = new Generator(9);
        var logits = Tensor.Randn([5, 7], DType.Float64, gen).RequiresGrad_();
        var target = Tensor.FromArray(new int[] { 0, 4, 2, 1, 3, 0, 4 }, 7);
        var loss = F.CrossEntropy(logits.T, target);
        loss.Backward();
        var reference = F.NllLoss(logits.T.LogSoftmax(1), target.To(DType.Int64));
        AssertNear(reference, loss, 1e-12, "loss");
        GradCheck.Assert(a => F.CrossEntropy(a[0].T, target, Reduction.Sum), [Tensor.Randn([5, 7], DType.Float64, gen)]);
    }

    [Theory]
    [InlineData(true, 3.0)]
    [InlineData(false, 1.0)]
    public void CrossEntropyKernels_KeepTheMeanDivisorInTheSavedBuffer_ForTheBackward(bool mean, double divisor)
    {
        // Four rows, one ignored (class 7): the forward writes the divisor (3 non-ignored rows for the mean, else 1)
        // after the per-row log Σ exp, and the backward takes it from there rather than from the caller.
        var kernels = NeuralCore.Backends.Cpu.CpuBackend.Instance;
        var x = Tensor.Randn([4, 5], DType.Float64, new Generator(3));
        var t = Tensor.FromArray(new long[] { 1, 7, 4, 0 }, 4);
        var saved = Tensor.Zeros([5], DType.Float64);
        var loss = Tensor.Scalar(0.0, DType.Float64);
        kernels.CrossEntropyForward(x.Buf, t.Buf, 7, mean, saved.Buf, loss.Buf);

        var lse = x.LogSumExp(1).ToArray<double>();
        var values = saved.ToArray<double>();
        for (int i = 0; i < 4; i++) Assert.Equal(lse[i], values[i], 12);
        Assert.Equal(divisor, values[4]);

        var dx = Tensor.Zeros([4, 5], DType.Float64);
        var dy = Tensor.Scalar(6.0, DType.Float64);
        kernels.CrossEntropyBackward(x.Buf, t.Buf, 7, saved.Buf, dy.Buf, dx.Buf);
        saved[4].Fill_(2 * divisor);
        var halved = Tensor.Zeros([4, 5], DType.Float64);
        kernels.CrossEntropyBackward(x.Buf, t.Buf, 7, saved.Buf, dy.Buf, halved.Buf);
        AssertNear(dx, halved * 2, 1e-12, "the backward divides by saved[N]");
        Assert.Equal(new double[5], dx[1].ToArray<double>());
    }
}
