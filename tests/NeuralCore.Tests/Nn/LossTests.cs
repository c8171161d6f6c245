using NeuralCore.Nn;
using NeuralCore.Testing;
using static NeuralCore.Tests.Nn.LossReference;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Tests.Nn;

public class LossTests
{
    static readonly Reduction[] AllReductions = [Reduction.None, Reduction.Mean, Reduction.Sum];

    static Tensor T(double[] data, params long[] shape) => Tensor.FromArray(data, shape);

    // Class indices in any shape, 0-d included (FromArray reads an empty shape as 1-d).
    static Tensor Idx(long[] data, long[] shape) => Tensor.FromArray(data, data.Length).Reshape(shape);

    static void Close(double expected, double actual, double tol = 1e-10, string what = "")
    {
        if (double.IsNaN(expected) && double.IsNaN(actual)) return;
        Assert.True(Math.Abs(expected - actual) <= tol * (1 + Math.Abs(expected)), $"{what}: expected {expected}, got {actual}.");
    }

    static void CloseAll(double[] expected, double[] actual, double tol = 1e-10, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Close(expected[i], actual[i], tol, $"{what}[{i}]");
    }

    // Compares a loss result with a per-element reference under the given reduction.
    static void Matches(Tensor actual, double[] perElement, Reduction reduction, long[] noneShape, double? meanDenominator = null, string what = "")
    {
        if (reduction == Reduction.None)
        {
            Assert.Equal(new Shape(noneShape), actual.Shape);
            CloseAll(perElement, actual.ToArray<double>(), what: what);
        }
        else
        {
            Assert.Equal(0, actual.Dim);
            Close(Reduce(perElement, reduction, meanDenominator), actual.Item<double>(), what: what);
        }
    }

    public static TheoryData<Reduction> Reductions => new() { Reduction.None, Reduction.Mean, Reduction.Sum };

    [Theory]
    [MemberData(nameof(Reductions))]
    public void RegressionLosses_MatchThePlainLoopReference(Reduction reduction)
    {
        var r = new System.Random(1);
        foreach (var shape in new[] { new long[] { 7 }, [3, 5], [2, 3, 4] })
        {
            int n = (int)shape.Aggregate(1L, (a, b) => a * b);
            double[] x = Rand(r, n, -3, 3), t = Rand(r, n, -3, 3);
            Tensor xt = T(x, shape), tt = T(t, shape);
            Matches(F.Mse(xt, tt, reduction), Pointwise(x, t, (a, b) => (a - b) * (a - b)), reduction, shape, what: "Mse");
            Matches(F.MseLoss(xt, tt, reduction), Pointwise(x, t, (a, b) => (a - b) * (a - b)), reduction, shape, what: "MseLoss");
            Matches(F.L1Loss(xt, tt, reduction), Pointwise(x, t, (a, b) => Math.Abs(a - b)), reduction, shape, what: "L1Loss");
            foreach (var delta in new[] { 0.5, 1.0, 2.5 })
            {
                Matches(F.HuberLoss(xt, tt, reduction, delta), Pointwise(x, t, (a, b) => Huber(a, b, delta)), reduction, shape, what: $"Huber {delta}");
                Matches(F.SmoothL1Loss(xt, tt, reduction, delta), Pointwise(x, t, (a, b) => SmoothL1(a, b, delta)), reduction, shape, what: $"SmoothL1 {delta}");
            }
            Matches(F.SmoothL1Loss(xt, tt, reduction, beta: 0), Pointwise(x, t, (a, b) => Math.Abs(a - b)), reduction, shape, what: "SmoothL1 beta 0");
        }
    }

    [Theory]
    [MemberData(nameof(Reductions))]
    public void BinaryLosses_MatchThePlainLoopReference(Reduction reduction)
    {
        var r = new System.Random(2);
        long[] shape = [4, 3];
        double[] p = Rand(r, 12, 0.01, 0.99), logits = Rand(r, 12, -6, 6), t = Rand(r, 12, 0, 1), w = Rand(r, 12, 0.2, 2), pw = Rand(r, 3, 0.5, 3);
        Matches(F.BinaryCrossEntropy(T(p, shape), T(t, shape), reduction), Pointwise(p, t, (a, b) => Bce(a, b, 1)), reduction, shape, what: "BCE");
        Matches(F.BinaryCrossEntropy(T(p, shape), T(t, shape), reduction, weight: T(w, shape)),
            p.Select((v, i) => Bce(v, t[i], w[i])).ToArray(), reduction, shape, what: "BCE weighted");
        Matches(F.BinaryCrossEntropyWithLogits(T(logits, shape), T(t, shape), reduction),
            Pointwise(logits, t, (a, b) => BceWithLogits(a, b, 1, 1)), reduction, shape, what: "BCEWithLogits");
        Matches(F.BinaryCrossEntropyWithLogits(T(logits, shape), T(t, shape), reduction, weight: T(w, shape), posWeight: T(pw, 3)),
            logits.Select((v, i) => BceWithLogits(v, t[i], w[i], pw[i % 3])).ToArray(), reduction, shape, what: "BCEWithLogits weighted");
    }

    [Theory]
    [MemberData(nameof(Reductions))]
    public void KlDiv_MatchesThePlainLoopReference_WithZeroTargets(Reduction reduction)
    {
        var r = new System.Random(3);
        long[] shape = [3, 4];
        double[] logp = Rand(r, 12, -4, 0), t = Rand(r, 12, 0, 1);
        t[2] = 0;
        t[7] = 0;
        Matches(F.KlDiv(T(logp, shape), T(t, shape), reduction), Pointwise(logp, t, (a, b) => KlDiv(a, b, false)), reduction, shape, what: "KlDiv");
        double[] logT = Rand(r, 12, -4, 0);
        Matches(F.KlDiv(T(logp, shape), T(logT, shape), reduction, logTarget: true),
            Pointwise(logp, logT, (a, b) => KlDiv(a, b, true)), reduction, shape, what: "KlDiv logTarget");
    }

    // (shape, batch, classes, inner) for [N, C], [N, C, d1, d2] and unbatched [C].
    static readonly (long[] Shape, int N, int C, int D)[] ClassLayouts = [([6, 5], 6, 5, 1), ([2, 4, 3, 2], 2, 4, 6), ([5], 1, 5, 1)];

    static long[] SampleShape(long[] inputShape) => inputShape.Length == 1 ? [] : inputShape.Where((_, i) => i != 1).ToArray();

    [Theory]
    [MemberData(nameof(Reductions))]
    public void CrossEntropy_WithClassIndices_MatchesTheReference_ForWeightsSmoothingAndIgnoreIndex(Reduction reduction)
    {
        var r = new System.Random(4);
        foreach (var (shape, n, c, d) in ClassLayouts)
            foreach (bool weighted in new[] { false, true })
                foreach (double eps in new[] { 0.0, 0.2 })
                    foreach (long ignore in new long[] { -100, 1 })
                    {
                        double[] x = Rand(r, n * c * d, -4, 4);
                        var target = Enumerable.Range(0, n * d).Select(_ => (long)r.Next(c)).ToArray();
                        if (target.Length > 2) target[1] = ignore; // at least one ignored entry (ignore -100 or class 1)
                        double[]? w = weighted ? Rand(r, c, 0.2, 2) : null;
                        var (loss, wsum) = IndexTargets(x, target, n, c, d, w, eps, ignore, inputIsLogits: true);
                        var actual = F.CrossEntropy(T(x, shape), Idx(target, SampleShape(shape)), reduction,
                            labelSmoothing: eps, ignoreIndex: ignore, weight: w is null ? null : T(w, c));
                        Matches(actual, loss, reduction, SampleShape(shape), wsum, $"CE {string.Join("x", shape)} w={weighted} eps={eps} ignore={ignore}");
                    }
    }

    [Theory]
    [MemberData(nameof(Reductions))]
    public void CrossEntropy_WithProbabilityTargets_MatchesTheReference(Reduction reduction)
    {
        var r = new System.Random(5);
        foreach (var (shape, n, c, d) in ClassLayouts)
            foreach (bool weighted in new[] { false, true })
                foreach (double eps in new[] { 0.0, 0.3 })
                {
                    double[] x = Rand(r, n * c * d, -4, 4);
                    var probs = T(Rand(r, n * c * d, -2, 2), shape).Softmax(shape.Length == 1 ? 0 : 1).ToArray<double>();
                    double[]? w = weighted ? Rand(r, c, 0.2, 2) : null;
                    var loss = ProbabilityTargets(x, probs, n, c, d, w, eps);
                    var actual = F.CrossEntropy(T(x, shape), T(probs, shape), reduction, labelSmoothing: eps, weight: w is null ? null : T(w, c));
                    Matches(actual, loss, reduction, SampleShape(shape), what: $"CE soft {string.Join("x", shape)} w={weighted} eps={eps}");
                }
    }

    [Theory]
    [MemberData(nameof(Reductions))]
    public void NllLoss_MatchesTheReference(Reduction reduction)
    {
        var r = new System.Random(6);
        foreach (var (shape, n, c, d) in ClassLayouts)
            foreach (bool weighted in new[] { false, true })
            {
                var logp = T(Rand(r, n * c * d, -3, 3), shape).LogSoftmax(shape.Length == 1 ? 0 : 1).ToArray<double>();
                var target = Enumerable.Range(0, n * d).Select(_ => (long)r.Next(c)).ToArray();
                if (target.Length > 2) target[0] = -100;
                double[]? w = weighted ? Rand(r, c, 0.2, 2) : null;
                var (loss, wsum) = IndexTargets(logp, target, n, c, d, w, 0, -100, inputIsLogits: false);
                var actual = F.NllLoss(T(logp, shape), Idx(target, SampleShape(shape)), reduction, weight: w is null ? null : T(w, c));
                Matches(actual, loss, reduction, SampleShape(shape), wsum, $"NLL {string.Join("x", shape)} w={weighted}");
            }
    }

    [Fact]
    public void CrossEntropy_AcceptsInt32Targets_AndFloat32Logits()
    {
        var r = new System.Random(7);
        double[] x = Rand(r, 12, -3, 3);
        long[] target = [2, 0, 3];
        var (loss, _) = IndexTargets(x, target, 3, 4, 1, null, 0, -100, inputIsLogits: true);
        var actual = F.CrossEntropy(T(x, 3, 4).To(DType.Float32), Tensor.FromArray(new[] { 2, 0, 3 }, 3));
        Assert.Equal(DType.Float32, actual.DType);
        Close(loss.Average(), actual.Item<double>(), 1e-6);
    }

    [Fact]
    public void CrossEntropy_IsNonNegative_OnRandomInputs()
    {
        var r = new System.Random(8);
        for (int trial = 0; trial < 50; trial++)
        {
            int n = 1 + r.Next(6), c = 2 + r.Next(8);
            var x = T(Rand(r, n * c, -20, 20), n, c);
            var target = Tensor.FromArray(Enumerable.Range(0, n).Select(_ => (long)r.Next(c)).ToArray(), n);
            double eps = r.NextDouble() * 0.5;
            var losses = F.CrossEntropy(x, target, Reduction.None, labelSmoothing: eps).ToArray<double>();
            Assert.All(losses, l => Assert.True(l >= 0, $"trial {trial}: loss {l} < 0"));
        }
    }

    [Fact]
    public void CrossEntropy_OfOneHotTargets_EqualsCrossEntropyOfIndices()
    {
        var r = new System.Random(9);
        var x = T(Rand(r, 20, -5, 5), 4, 5);
        long[] idx = [4, 0, 2, 2];
        var oneHot = new double[20];
        for (int i = 0; i < 4; i++) oneHot[i * 5 + idx[i]] = 1;
        var indices = Tensor.FromArray(idx, 4);
        foreach (var reduction in AllReductions)
            foreach (double eps in new[] { 0.0, 0.1 })
            {
                var expected = F.CrossEntropy(x, indices, reduction, labelSmoothing: eps).ToArray<double>();
                CloseAll(expected, F.CrossEntropy(x, T(oneHot, 4, 5), reduction, labelSmoothing: eps).ToArray<double>(), 1e-12, "float one-hot");
                CloseAll(expected, F.CrossEntropy(x, T(oneHot, 4, 5).To(DType.Int64), reduction, labelSmoothing: eps).ToArray<double>(), 1e-12, "Int64 one-hot");
            }
        // With class weights the two agree on the sum (their means differ by definition, as in PyTorch).
        var w = T([0.5, 1, 2, 1.5, 0.25], 5);
        Close(F.CrossEntropy(x, indices, Reduction.Sum, labelSmoothing: 0.1, weight: w).Item<double>(),
            F.CrossEntropy(x, T(oneHot, 4, 5), Reduction.Sum, labelSmoothing: 0.1, weight: w).Item<double>(), 1e-12);
    }

    [Fact]
    public void CrossEntropy_IgnoredEntriesGiveZero_EvenWithInfiniteLogits_AndAllIgnoredMeanIsNaN()
    {
        var x = T([double.NegativeInfinity, 1, 2, 0.5, 0.25, 3], 2, 3);
        var target = Tensor.FromArray(new long[] { -100, 2 }, 2);
        var none = F.CrossEntropy(x, target, Reduction.None).ToArray<double>();
        Assert.Equal(0.0, none[0]);
        Assert.True(double.IsFinite(none[1]));
        Close(none[1], F.CrossEntropy(x, target).Item<double>());
        Assert.True(double.IsNaN(F.CrossEntropy(x, Tensor.FromArray(new long[] { -100, -100 }, 2)).Item<double>()));
    }

    [Fact]
    public void Losses_StayFinite_ForExtremeLogits_InValueAndGradient()
    {
        var logits = Tensor.FromArray(new float[] { 1000, -1000, 0, -1000, 1000, 500 }, 2, 3).RequiresGrad_();
        var ce = F.CrossEntropy(logits, Tensor.FromArray(new long[] { 1, 0 }, 2));
        Close(2000, ce.Item<double>(), 1e-6);
        ce.Backward();
        Assert.All(logits.Grad!.ToArray<float>(), g => Assert.True(float.IsFinite(g)));

        var z = Tensor.FromArray(new float[] { 1000, -1000, 1000, -1000 }, 4).RequiresGrad_();
        var bce = F.BinaryCrossEntropyWithLogits(z, Tensor.FromArray(new float[] { 1, 0, 0, 1 }, 4), Reduction.None);
        Assert.Equal(new float[] { 0, 0, 1000, 1000 }, bce.ToArray<float>());
        bce.Sum().Backward();
        Assert.Equal(new float[] { 0, 0, 1, -1 }, z.Grad!.ToArray<float>());

        var p = Tensor.FromArray(new double[] { 0, 1, 0, 1 }, 4).RequiresGrad_();
        var clamped = F.BinaryCrossEntropy(p, T([1, 0, 0, 1], 4), Reduction.None);
        Assert.Equal(new double[] { 100, 100, 0, 0 }, clamped.ToArray<double>());
        clamped.Sum().Backward();
        Assert.All(p.Grad!.ToArray<double>(), g => Assert.True(double.IsFinite(g)));
    }

    [Fact]
    public void HuberLoss_IsDeltaTimesSmoothL1()
    {
        var r = new System.Random(10);
        Tensor x = T(Rand(r, 30, -4, 4), 30), t = T(Rand(r, 30, -4, 4), 30);
        Close(F.HuberLoss(x, t, delta: 1.7).Item<double>(), 1.7 * F.SmoothL1Loss(x, t, beta: 1.7).Item<double>());
    }

    static void Check(Func<Tensor[], Tensor> f, params Tensor[] inputs) => GradCheck.Assert(f, inputs);

    [Fact]
    public void GradCheck_RegressionAndBinaryLosses()
    {
        var r = new System.Random(11);
        Tensor X() => T(Rand(r, 12, -2, 2), 3, 4);
        var t = X();
        foreach (var reduction in AllReductions)
        {
            Check(a => F.Mse(a[0], a[1], reduction), X(), X());
            Check(a => F.L1Loss(a[0], t, reduction), X());
            Check(a => F.HuberLoss(a[0], t, reduction, delta: 0.8), X());
            Check(a => F.SmoothL1Loss(a[0], t, reduction, beta: 0.6), X());
            Check(a => F.BinaryCrossEntropy(a[0], a[1], reduction, weight: a[2]),
                T(Rand(r, 12, 0.05, 0.95), 3, 4), T(Rand(r, 12, 0, 1), 3, 4), T(Rand(r, 4, 0.5, 2), 4));
            Check(a => F.BinaryCrossEntropyWithLogits(a[0], a[1], reduction, weight: a[2], posWeight: a[3]),
                X(), T(Rand(r, 12, 0, 1), 3, 4), T(Rand(r, 12, 0.5, 2), 3, 4), T(Rand(r, 4, 0.5, 3), 4));
            Check(a => F.KlDiv(a[0].LogSoftmax(1), a[1].Softmax(1), reduction), X(), X());
            Check(a => F.KlDiv(a[0], a[1], reduction, logTarget: true), X(), X());
        }
    }

    [Fact]
    public void GradCheck_ClassLosses()
    {
        var r = new System.Random(12);
        foreach (var (shape, n, c, d) in ClassLayouts)
        {
            var target = Idx(Enumerable.Range(0, n * d).Select(i => i == 1 ? -100L : r.Next(c)).ToArray(), SampleShape(shape));
            var probs = T(Rand(r, n * c * d, -2, 2), shape).Softmax(shape.Length == 1 ? 0 : 1);
            var w = T(Rand(r, c, 0.3, 2), c);
            foreach (var reduction in AllReductions)
            {
                Check(a => F.CrossEntropy(a[0], target, reduction), T(Rand(r, n * c * d, -3, 3), shape));
                Check(a => F.CrossEntropy(a[0], target, reduction, labelSmoothing: 0.15, weight: w), T(Rand(r, n * c * d, -3, 3), shape));
                Check(a => F.CrossEntropy(a[0], a[1], reduction, labelSmoothing: 0.1, weight: w), T(Rand(r, n * c * d, -3, 3), shape), probs);
                Check(a => F.NllLoss(a[0], target, reduction, weight: w), T(Rand(r, n * c * d, -3, -0.1), shape));
            }
        }
    }

    [Fact]
    public void CrossEntropy_RejectsOutOfRangeTargets_WithTheClassCount()
    {
        var x = Tensor.Zeros(3, 10);
        var e = Assert.Throws<ArgumentException>(() => F.CrossEntropy(x, Tensor.FromArray(new long[] { 1, 12, 3 }, 3)));
        Assert.Contains("CrossEntropy: target 12 is out of range for 10 classes", e.Message);
        var neg = Assert.Throws<ArgumentException>(() => F.NllLoss(Tensor.Zeros(2, 3), Tensor.FromArray(new long[] { -1, 0 }, 2)));
        Assert.Contains("NllLoss: target -1 is out of range for 3 classes", neg.Message);
    }

    [Fact]
    public void ClassLosses_RejectMisShapedTargetsAndWeights_NamingBothShapes()
    {
        var x = Tensor.Zeros(4, 10);
        var e = Assert.Throws<ArgumentException>(() => F.CrossEntropy(x, Tensor.FromArray(new long[] { 1, 2, 3 }, 3)));
        Assert.Contains("[3]", e.Message);
        Assert.Contains("[4, 10]", e.Message);
        var soft = Assert.Throws<ArgumentException>(() => F.CrossEntropy(x, Tensor.Zeros(4, 9)));
        Assert.Contains("[4, 9]", soft.Message);
        Assert.Contains("[4, 10]", soft.Message);
        var floatIdx = Assert.Throws<ArgumentException>(() => F.NllLoss(x, Tensor.Zeros(4)));
        Assert.Contains("Int64", floatIdx.Message);
        var w = Assert.Throws<ArgumentException>(() => F.CrossEntropy(x, Tensor.FromArray(new long[] { 1, 2, 3, 4 }, 4), weight: Tensor.Ones(5)));
        Assert.Contains("[5]", w.Message);
        Assert.Throws<ArgumentException>(() => F.CrossEntropy(Tensor.Scalar(1), Tensor.Scalar(0, DType.Int64)));
        Assert.Throws<ArgumentOutOfRangeException>(() => F.CrossEntropy(x, Tensor.Zeros(4, 10), labelSmoothing: 1.5));
    }

    [Fact]
    public void PointwiseLosses_ThrowInsteadOfBroadcastingTheTarget()
    {
        var e = Assert.Throws<ArgumentException>(() => F.Mse(Tensor.Zeros(4, 1), Tensor.Zeros(4)));
        Assert.Contains("Mse", e.Message);
        Assert.Contains("[4, 1]", e.Message);
        Assert.Contains("[4]", e.Message);
        Assert.Throws<ArgumentException>(() => F.L1Loss(Tensor.Zeros(3), Tensor.Zeros(1)));
        Assert.Throws<ArgumentException>(() => F.BinaryCrossEntropyWithLogits(Tensor.Zeros(2, 3), Tensor.Zeros(3)));
        Assert.Throws<ArgumentException>(() => F.BinaryCrossEntropyWithLogits(Tensor.Zeros(2, 3), Tensor.Zeros(2, 3), posWeight: Tensor.Ones(2)));
        Assert.Throws<ArgumentOutOfRangeException>(() => F.HuberLoss(Tensor.Zeros(2), Tensor.Zeros(2), delta: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => F.SmoothL1Loss(Tensor.Zeros(2), Tensor.Zeros(2), beta: -1));
    }

    [Fact]
    public void BinaryCrossEntropy_RejectsInputsOutsideTheUnitInterval()
    {
        var e = Assert.Throws<ArgumentException>(() => F.BinaryCrossEntropy(Tensor.FromArray(new float[] { 0.5f, 1.5f }, 2), Tensor.Zeros(2)));
        Assert.Contains("[0, 1]", e.Message);
        Assert.Contains("1.5", e.Message);
    }

    [Fact]
    public void BinaryCrossEntropy_RejectsNaNInputs_AsPyTorch()
    {
        var e = Assert.Throws<ArgumentException>(() => F.BinaryCrossEntropy(Tensor.FromArray(new float[] { 0.5f, float.NaN }, 2), Tensor.Zeros(2)));
        Assert.Contains("[0, 1]", e.Message);
        Assert.Contains("NaN", e.Message);
        Assert.Equal(0, F.BinaryCrossEntropy(Tensor.Zeros(0), Tensor.Zeros(0), Reduction.Sum).Item<float>());
    }
}
