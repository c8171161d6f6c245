using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NeuralCore.Nn;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Tests.Tensors;

/// <summary>
/// Bad-input properties: random shapes (zero, huge, negative sizes) and random layer arguments thrown at ops
/// and layers. Each call either succeeds with the shape an independent reference formula predicts, or throws
/// <see cref="ArgumentException"/> (including <see cref="ArgumentOutOfRangeException"/>) exactly when the reference
/// says the request is invalid or over <see cref="TensorLimits"/>; never another exception, never a crash. Real
/// tensors stay tiny: a shape with a huge size always has a zero size too.
/// </summary>
public class SizeLimitPropertyTests
{
    const long MaxElements = int.MaxValue;
    const long CpuBytes = 1L << 30;

    static readonly long[] Sizes = [0, 1, 2, 3, 5, 46341, 65536, 65537, int.MaxValue];
    static readonly long[] WildSizes = [-5, -1, 0, 1, 2, 3, 46341, 65537, int.MaxValue, 1L << 31, 1L << 40];
    static readonly int[] Args = [-1, 0, 1, 2, 3, 46341, int.MaxValue];

    // A valid shape of a real tensor: at most 256 elements, or empty (a zero size) when a size is large.
    static Gen<long[]> TensorShape(int minRank, int maxRank) =>
        from rank in Gen.Choose(minRank, maxRank)
        from dims in Gen.ArrayOf(Gen.Elements(Sizes), rank)
        from zeroAt in Gen.Choose(0, Math.Max(rank - 1, 0))
        select Fix(dims, zeroAt);

    static long[] Fix(long[] dims, int zeroAt)
    {
        long n = 1;
        foreach (var d in dims) n = Math.Min(n * Math.Min(d, 1L << 20), 1L << 40);
        if (n > 256) dims[zeroAt] = 0;
        return dims;
    }

    static long Count(IEnumerable<long> dims)
    {
        long n = 1;
        foreach (var d in dims)
        {
            if (d == 0) return 0;
            n = n > long.MaxValue / d ? long.MaxValue : n * d;
        }
        return n;
    }

    // What one CPU tensor may be: every size in [0, 2^31), at most 2^31 − 1 elements and 1 GiB.
    static bool Fits(IReadOnlyList<long> dims, int elementSize = 4) =>
        dims.All(d => d >= 0 && d <= int.MaxValue) && Count(dims) <= MaxElements && Count(dims) <= CpuBytes / elementSize;

    static bool FitsView(IReadOnlyList<long> dims) => dims.All(d => d >= 0 && d <= int.MaxValue) && Count(dims) <= MaxElements;

    static Tensor Make(long[] shape) => Tensor.Zeros(shape);

    // The call must succeed with `expected` (null: must throw ArgumentException).
    static void Check(long[]? expected, Func<Tensor> call)
    {
        if (expected is null)
        {
            var e = Record.Exception(() => call());
            Assert.NotNull(e);
            Assert.IsAssignableFrom<ArgumentException>(e);
            return;
        }
        var r = call();
        Assert.Equal(expected, r.Shape.ToArray());
    }

    static Arbitrary<T> Arb<T>(Gen<T> gen) => gen.ToArbitrary();

    static Gen<(A, B)> Z<A, B>(Gen<A> a, Gen<B> b) => from x in a from y in b select (x, y);

    static Gen<(A, B, C)> Z<A, B, C>(Gen<A> a, Gen<B> b, Gen<C> c) => from x in a from y in b from z in c select (x, y, z);

    static Gen<(A, B, C, D)> Z<A, B, C, D>(Gen<A> a, Gen<B> b, Gen<C> c, Gen<D> d) =>
        from x in a from y in b from z in c from w in d select (x, y, z, w);

    [Property(MaxTest = 200)]
    public Property Creation_OfAnyShape_FollowsTheLimits() =>
        Prop.ForAll(Arb(Gen.Choose(0, 4).SelectMany(r => Gen.ArrayOf(Gen.Elements(WildSizes), r))), shape =>
        {
            bool fits = Fits(shape);
            // valid but large requests are skipped: they would really allocate
            if (fits && Count(shape) > 1 << 16) return;
            Check(fits ? shape : null, () => Tensor.Zeros(shape));
            Check(Fits(shape, 1) && Count(shape) <= 1 << 16 ? shape : null, () => Tensor.Zeros(shape, DType.UInt8));
        });

    static long[]? NumpyBroadcast(long[] a, long[] b)
    {
        int n = Math.Max(a.Length, b.Length);
        var r = new long[n];
        for (int i = 1; i <= n; i++)
        {
            long da = i <= a.Length ? a[^i] : 1, db = i <= b.Length ? b[^i] : 1;
            if (da != db && da != 1 && db != 1) return null;
            r[^i] = da == 1 ? db : da;
        }
        return r;
    }

    [Property(MaxTest = 300)]
    public Property BroadcastingBinaryOps_FollowTheReference() =>
        Prop.ForAll(Arb(Z(TensorShape(0, 4), TensorShape(0, 4))), pair =>
        {
            var (sa, sb) = pair;
            var r = NumpyBroadcast(sa, sb);
            var expected = r is not null && Fits(r) ? r : null;
            Tensor a = Make(sa), b = Make(sb);
            Check(expected, () => a + b);
            Check(expected, () => a * b);
            Check(expected, () => a.Sub(b));
        });

    // torch.matmul's output shape, or null when the operands do not fit together.
    static long[]? MatMulShape(long[] a, long[] b)
    {
        if (a.Length == 0 || b.Length == 0) return null;
        long[] a2 = a.Length == 1 ? [1, a[0]] : a, b2 = b.Length == 1 ? [b[0], 1] : b;
        if (a2[^1] != b2[^2]) return null;
        var batch = NumpyBroadcast(a2[..^2], b2[..^2]);
        if (batch is null) return null;
        var r = new List<long>(batch);
        if (a.Length > 1) r.Add(a2[^2]);
        if (b.Length > 1) r.Add(b2[^1]);
        return r.ToArray();
    }

    [Property(MaxTest = 300)]
    public Property MatMul_FollowsTheReference() =>
        Prop.ForAll(Arb(Z(TensorShape(1, 4), TensorShape(1, 4), Gen.Elements(true, false))), input =>
        {
            var (sa, sb, alignInner) = input;
            // Half the cases share the inner size so that products happen, not only mismatches.
            if (alignInner && sa.Length > 0 && sb.Length > 0) sb[sb.Length == 1 ? 0 : ^2] = sa[^1];
            if (!Fits(sb)) return;
            var r = MatMulShape(sa, sb);
            Check(r is not null && Fits(r) ? r : null, () => Make(sa).MatMul(Make(sb)));
        });

    static Gen<int[]> DimsGen => Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(Gen.Choose(-6, 5), n));

    [Property(MaxTest = 300)]
    public Property SumAndMean_OverAnyDims_FollowTheReference() =>
        Prop.ForAll(Arb(Z(TensorShape(0, 4), DimsGen, Gen.Elements(true, false))), input =>
        {
            var (shape, dims, keep) = input;
            int rank = shape.Length, r = Math.Max(rank, 1);
            long[]? expected;
            if (dims.Any(d => d < -r || d >= r) || dims.Select(d => d < 0 ? d + r : d).Distinct().Count() != dims.Length) expected = null;
            else
            {
                var set = dims.Select(d => d < 0 ? d + r : d).ToHashSet();
                if (dims.Length == 0) set = Enumerable.Range(0, rank).ToHashSet();
                var outDims = new List<long>();
                for (int i = 0; i < rank; i++)
                    if (!set.Contains(i)) outDims.Add(shape[i]);
                    else if (keep) outDims.Add(1);
                expected = Fits(outDims) ? outDims.ToArray() : null;
            }
            var x = Make(shape);
            Check(expected, () => x.Sum(dims.Length == 0 ? null : dims, keep));
            Check(expected, () => x.Mean(dims.Length == 0 ? null : dims, keep));
        });

    [Property(MaxTest = 300)]
    public Property Cat_FollowsTheReference() =>
        Prop.ForAll(Arb(Z(TensorShape(1, 3), Gen.ArrayOf(Gen.Elements(Sizes), 3), Gen.Choose(-4, 3), Gen.Choose(1, 3))), input =>
        {
            var (baseShape, alongs, dim, count) = input;
            int rank = baseShape.Length;
            if (dim < -rank || dim >= rank)
            {
                Check(null, () => Tensor.Cat([Make(baseShape)], dim));
                return;
            }
            int d = dim < 0 ? dim + rank : dim;
            var shapes = new List<long[]>();
            for (int i = 0; i < count; i++)
            {
                var s = (long[])baseShape.Clone();
                s[d] = alongs[i];
                if (!Fits(s) || Count(s) > 4096) s[d] = 0;
                shapes.Add(s);
            }
            var outShape = (long[])baseShape.Clone();
            outShape[d] = shapes.Sum(s => s[d]);
            var tensors = shapes.Select(Make).ToArray();
            Check(Fits(outShape) ? outShape : null, () => Tensor.Cat(tensors, dim));
            // Stack of equal shapes adds a dimension of size count.
            var stacked = new List<long>(baseShape);
            stacked.Insert(d, count);
            var same = Enumerable.Repeat(Make(baseShape), count).ToArray();
            Check(Fits(stacked) ? stacked.ToArray() : null, () => Tensor.Stack(same, d));
        });

    [Property(MaxTest = 300)]
    public Property ReshapeAndExpand_FollowTheReference() =>
        Prop.ForAll(Arb(Z(TensorShape(0, 3), Gen.Choose(0, 4).SelectMany(r => Gen.ArrayOf(Gen.Elements(WildSizes), r)))), input =>
        {
            var (shape, target) = input;
            var x = Make(shape);
            long n = Count(shape);

            // Reshape: sizes in [0, 2^31) or one -1 inferred from the element count.
            long[]? reshaped = null;
            int infer = Array.IndexOf(target, -1L);
            if (target.Count(t => t == -1) <= 1 && target.All(t => t == -1 || (t >= 0 && t <= int.MaxValue)))
            {
                long known = Count(target.Where(t => t != -1));
                if (infer < 0 && known == n) reshaped = target;
                else if (infer >= 0 && known != 0 && n % known == 0)
                {
                    reshaped = (long[])target.Clone();
                    reshaped[infer] = n / known;
                }
            }
            Check(reshaped is not null && Fits(reshaped) ? reshaped : null, () => x.Reshape(target));

            // Expand: new leading sizes must be non-negative; existing sizes stay (or -1) or grow from 1.
            long[]? expanded = null;
            if (target.Length >= shape.Length)
            {
                int lead = target.Length - shape.Length;
                expanded = new long[target.Length];
                for (int i = 0; i < target.Length && expanded is not null; i++)
                {
                    long want = target[i];
                    if (i < lead) { if (want < 0) expanded = null; else expanded[i] = want; continue; }
                    long have = shape[i - lead];
                    if (want == -1 || want == have) expanded[i] = have;
                    else if (have == 1 && want >= 0) expanded[i] = want;
                    else expanded = null;
                }
            }
            // a view allocates nothing: only the element limit applies
            Check(expanded is not null && FitsView(expanded) ? expanded : null, () => x.Expand(target));
        });

    static long ConvOut(long size, long k, long stride, long pad, long dil) => (size + 2 * pad - dil * (k - 1) - 1) / stride + 1;

    [Property(MaxTest = 300)]
    public Property Conv2d_WithAnyArguments_FollowsTheReference() =>
        Prop.ForAll(Arb(Z(
            Gen.ArrayOf(Gen.Choose(0, 3), 4),                 // N, C, H, W
            Gen.ArrayOf(Gen.Choose(0, 3), 4),                 // O, C/groups, kH, kW
            Gen.ArrayOf(Gen.Elements(Args), 4))),             // stride, padding, dilation, groups
            input =>
        {
            var (xs, ws, a) = input;
            int stride = a[0], pad = a[1], dil = a[2], groups = Math.Clamp(a[3], -1, 3);
            long n = xs[0], c = xs[1], h = xs[2], w = xs[3], o = ws[0], cg = ws[1], kh = ws[2], kw = ws[3];
            long[]? expected = null;
            if (groups >= 1 && stride >= 1 && pad >= 0 && dil >= 1 && o % groups == 0 && c == cg * groups && kh >= 1 && kw >= 1
                && dil * (kh - 1) + 1 <= h + 2L * pad && dil * (kw - 1) + 1 <= w + 2L * pad)
            {
                long[] shape = [n, o, ConvOut(h, kh, stride, pad, dil), ConvOut(w, kw, stride, pad, dil)];
                expected = Fits(shape) ? shape : null;
            }
            // huge valid outputs are not run (they would really compute); huge invalid ones must be rejected
            if (expected is not null && Count(expected) > 1 << 16) return;
            var x = Tensor.Randn(xs[0], xs[1], xs[2], xs[3]);
            var wt = Tensor.Randn(ws[0], ws[1], ws[2], ws[3]);
            Check(expected, () => F.Conv2d(x, wt, null, stride, pad, dil, groups));
        });

    static long PoolOut(long size, long k, long s, long p, bool ceil)
    {
        long span = size + 2 * p - k;
        long o = (ceil ? (span + s - 1) / s : span / s) + 1;
        if (ceil && (o - 1) * s >= size + p) o--;
        return o;
    }

    [Property(MaxTest = 300)]
    public Property Pooling_WithAnyArguments_FollowsTheReference() =>
        Prop.ForAll(Arb(Z(Gen.ArrayOf(Gen.Choose(0, 4), 4), Gen.ArrayOf(Gen.Elements(Args), 3), Gen.Elements(true, false))), input =>
        {
            var (xs, a, ceil) = input;
            int k = a[0], s = a[1], p = a[2] == int.MaxValue ? k / 2 : a[2];
            long[]? expected = null;
            if (k >= 1 && s >= 1 && p >= 0 && p <= k / 2 && xs[2] + 2L * p >= k && xs[3] + 2L * p >= k)
            {
                long oh = PoolOut(xs[2], k, s, p, ceil), ow = PoolOut(xs[3], k, s, p, ceil);
                long[] shape = [xs[0], xs[1], oh, ow];
                expected = oh >= 1 && ow >= 1 && Fits(shape) ? shape : null;
            }
            var x = Tensor.Randn(xs[0], xs[1], xs[2], xs[3]);
            Check(expected, () => F.MaxPool2d(x, k, s, p, ceil));
            Check(expected, () => F.AvgPool2d(x, k, s, p, ceilMode: ceil));
            if (k >= 1 && s >= 1 && p >= 0 && p <= k / 2)
            {
                Check(expected, () => new MaxPool2d(k, s, p, ceil).Forward(x));
                Check(expected, () => new AvgPool2d(k, s, p, ceilMode: ceil).Forward(x));
            }
            else
            {
                Assert.ThrowsAny<ArgumentException>(() => new MaxPool2d(k, s, p, ceil));
                Assert.ThrowsAny<ArgumentException>(() => new AvgPool2d(k, s, p, ceilMode: ceil));
            }
        });

    [Property(MaxTest = 200)]
    public Property AdaptiveAvgPool2d_WithAnyOutputSize_FollowsTheReference() =>
        Prop.ForAll(Arb(Z(Gen.ArrayOf(Gen.Choose(0, 3), 4), Gen.Elements(Args), Gen.Elements(Args))), input =>
        {
            var (xs, oh, ow) = input;
            long[] shape = [xs[0], xs[1], oh, ow];
            long[]? expected = oh >= 1 && ow >= 1 && xs[2] >= 1 && xs[3] >= 1 && Fits(shape) ? shape : null;
            if (expected is not null && Count(expected) > 1 << 18) return;
            var x = Tensor.Randn(xs[0], xs[1], xs[2], xs[3]);
            Check(expected, () => F.AdaptiveAvgPool2d(x, (oh, ow)));
            if (oh >= 1 && ow >= 1) Check(expected, () => new AdaptiveAvgPool2d((oh, ow)).Forward(x));
            else Assert.ThrowsAny<ArgumentException>(() => new AdaptiveAvgPool2d((oh, ow)));
        });

    [Property(MaxTest = 200)]
    public Property Linear_WithAnyFeatureCounts_FollowsTheReference() =>
        Prop.ForAll(Arb(Z(Gen.Elements(Args), Gen.Elements(Args), Gen.Choose(0, 3))), input =>
        {
            var (inF, outF, batch) = input;
            bool valid = inF >= 0 && outF >= 0 && Fits([outF, inF]) && Fits([outF]);
            if (valid && (long)inF * outF > 1 << 18) return;
            if (!valid)
            {
                var e = Record.Exception(() => new Linear(inF, outF));
                Assert.IsAssignableFrom<ArgumentException>(e);
                return;
            }
            var layer = new Linear(inF, outF);
            Assert.Equal([outF, inF], layer.Weight.Shape.ToArray());
            if (!Fits([batch, inF + 1L]) || Count([batch, inF + 1L]) > 1 << 18) return;
            Check([batch, outF], () => layer.Forward(Tensor.Randn(batch, inF)));
            Check(null, () => layer.Forward(Tensor.Randn(batch, inF + 1L)));
        });
}
