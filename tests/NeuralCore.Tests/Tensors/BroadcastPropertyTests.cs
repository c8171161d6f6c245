using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using static NeuralCore.Tests.Tensors.TensorTestHelpers;

namespace NeuralCore.Tests.Tensors;

/// <summary>FsCheck properties of shape algebra: broadcasting, views versus copies, and simple numeric invariants.</summary>
public class BroadcastPropertyTests
{
    static Gen<int[]> ShapeGen(int minRank, int maxRank, int maxDim) =>
        Gen.Choose(minRank, maxRank).SelectMany(r => Gen.ArrayOf(Gen.Choose(1, maxDim), r));

    static Gen<int> Seed => Gen.Choose(0, int.MaxValue);

    static long[] L(int[] dims) => Array.ConvertAll(dims, d => (long)d);

    static Tensor RandomTensor(int[] shape, int seed) => Tensor.Randn(L(shape), DType.Float32, new Generator(seed));

    // The sizes broadcast to a common output shape by keeping a suffix of it and replacing some sizes with 1.
    static int[] Derive(int[] outShape, int rank, bool[] ones)
    {
        var r = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int o = outShape.Length - rank + i;
            r[i] = ones[o] ? 1 : outShape[o];
        }
        return r;
    }

    static Gen<(int[] A, int[] B)> CompatiblePair =>
        from outShape in ShapeGen(0, 4, 4)
        from ra in Gen.Choose(0, outShape.Length)
        from rb in Gen.Choose(0, outShape.Length)
        from onesA in Gen.ArrayOf(Gen.Elements(true, false), outShape.Length)
        from onesB in Gen.ArrayOf(Gen.Elements(true, false), outShape.Length)
        select (Derive(outShape, ra, onesA), Derive(outShape, rb, onesB));

    // NumPy's rule, written independently of the library: align right, equal sizes or one of them 1.
    static int[]? NumpyBroadcast(int[] a, int[] b)
    {
        int n = Math.Max(a.Length, b.Length);
        var r = new int[n];
        for (int i = 1; i <= n; i++)
        {
            int da = i <= a.Length ? a[^i] : 1, db = i <= b.Length ? b[^i] : 1;
            if (da != db && da != 1 && db != 1) return null;
            r[^i] = Math.Max(da, db);
        }
        return r;
    }

    static string Show(int[] s) => "[" + string.Join(", ", s) + "]";

    [Property(MaxTest = 300)]
    public Property BroadcastShape_MatchesNumpy_ForAnyPairOfSmallShapes() =>
        Prop.ForAll(Gen.Zip(ShapeGen(0, 3, 3), ShapeGen(0, 3, 3)).ToArbitrary(), pair =>
        {
            var (a, b) = pair;
            var expected = NumpyBroadcast(a, b);
            if (expected is null)
            {
                var ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(L(a)) + Tensor.Zeros(L(b)));
                Assert.Contains(Show(a), ex.Message);
                Assert.Contains(Show(b), ex.Message);
            }
            else
            {
                Assert.Equal(expected, ShapeMath.Broadcast(a, b, "test"));
                Assert.Equal(new Shape(L(expected)), (Tensor.Zeros(L(a)) * Tensor.Zeros(L(b))).Shape);
            }
        });

    [Property(MaxTest = 200)]
    public Property BroadcastAdd_EqualsExpandedAdd_AndTheNaiveLoop() =>
        Prop.ForAll(Gen.Zip(CompatiblePair, Seed).ToArbitrary(), input =>
        {
            var ((sa, sb), seed) = input;
            var outShape = NumpyBroadcast(sa, sb)!;
            var a = RandomTensor(sa, seed);
            var b = RandomTensor(sb, seed + 1);
            var sum = a + b;
            var product = a * b;
            Assert.Equal(new Shape(L(outShape)), sum.Shape);

            var expanded = a.Expand(L(outShape)) + b.Expand(L(outShape));
            Assert.Equal(expanded.ToArray<float>(), sum.ToArray<float>());

            float[] av = a.ToArray<float>(), bv = b.ToArray<float>(), sv = sum.ToArray<float>(), pv = product.ToArray<float>();
            var outList = L(outShape);
            foreach (var idx in Indices(outList))
            {
                float x = av[Flat(L(sa), Align(idx, sa))], y = bv[Flat(L(sb), Align(idx, sb))];
                int f = Flat(outList, idx);
                Assert.Equal(x + y, sv[f]);
                Assert.Equal(x * y, pv[f]);
            }
        });

    // The operand's index for an output index: drop leading dimensions, size-1 dimensions read index 0.
    static int[] Align(int[] outIndex, int[] shape)
    {
        var r = new int[shape.Length];
        int lead = outIndex.Length - shape.Length;
        for (int i = 0; i < shape.Length; i++) r[i] = shape[i] == 1 ? 0 : outIndex[lead + i];
        return r;
    }

    [Property(MaxTest = 100)]
    public Property TransposeContiguousTranspose_IsTheIdentity() =>
        Prop.ForAll(Gen.Zip(ShapeGen(2, 2, 9), Seed).ToArbitrary(), input =>
        {
            var (shape, seed) = input;
            var x = RandomTensor(shape, seed);
            var t = x.Transpose(0, 1).Contiguous();
            Assert.True(t.IsContiguous);
            var back = t.Transpose(0, 1);
            Assert.Equal(x.Shape, back.Shape);
            Assert.Equal(x.ToArray<float>(), back.ToArray<float>());
            var xv = x.ToArray<float>();
            var tv = t.ToArray<float>();
            for (int i = 0; i < shape[0]; i++)
                for (int j = 0; j < shape[1]; j++)
                    Assert.Equal(xv[i * shape[1] + j], tv[j * shape[0] + i]);
        });

    static Gen<int[]> Permutation(int n) => Gen.Shuffle(Enumerable.Range(0, n)).Select(p => p.ToArray());

    [Property(MaxTest = 150)]
    public Property PermuteThenContiguous_MatchesNaiveIndexing() =>
        Prop.ForAll((from shape in ShapeGen(1, 4, 4) from perm in Permutation(shape.Length) from seed in Seed select (shape, perm, seed)).ToArbitrary(), input =>
        {
            var (shape, perm, seed) = input;
            var x = RandomTensor(shape, seed);
            var y = x.Permute(perm);
            var c = y.Contiguous();
            var xv = x.ToArray<float>();
            var cv = c.ToArray<float>();
            var raw = RawStorage(y);
            var yShape = y.Shape.ToArray();
            foreach (var idx in Indices(yShape))
            {
                var src = new int[shape.Length];
                for (int k = 0; k < perm.Length; k++) src[perm[k]] = idx[k];
                float expected = xv[Flat(L(shape), src)];
                Assert.Equal(expected, cv[Flat(yShape, idx)]);
                Assert.Equal(expected, (float)At(y, raw, idx));
            }
        });

    [Property(MaxTest = 150)]
    public Property Reshape_RoundTrips_AndViewAgreesWhenItExists() =>
        Prop.ForAll((from shape in ShapeGen(1, 4, 4) from perm in Permutation(shape.Length) from seed in Seed select (shape, perm, seed)).ToArbitrary(), input =>
        {
            var (shape, perm, seed) = input;
            var x = RandomTensor(shape, seed).Permute(perm); // usually non-contiguous
            var xs = x.Shape.ToArray();
            var target = xs.Reverse().ToArray();
            var values = x.ToArray<float>();

            var r = x.Reshape(target);
            Assert.Equal(new Shape(target), r.Shape);
            Assert.Equal(values, r.ToArray<float>());
            Assert.Equal(values, r.Reshape(xs).ToArray<float>());
            Assert.Equal(values, x.Flatten().ToArray<float>());
            Assert.Equal(values, x.Reshape(-1).ToArray<float>());

            Tensor? v = null;
            try { v = x.View(target); }
            catch (InvalidOperationException) { Assert.False(x.IsContiguous, "a contiguous tensor can always be viewed"); }
            if (v is not null)
            {
                Assert.Same(x.storage, v.storage);
                Assert.Equal(values, v.ToArray<float>());
            }
            if (x.IsContiguous) Assert.Same(x.storage, r.storage);
        });

    static Gen<float> Scale => Gen.Elements(1f, 10f, 50f);

    [Property(MaxTest = 100)]
    public Property SoftmaxRows_SumToOne() =>
        Prop.ForAll((from rows in Gen.Choose(1, 6) from cols in Gen.Choose(1, 40) from scale in Scale from seed in Seed select (rows, cols, scale, seed)).ToArbitrary(), input =>
        {
            var (rows, cols, scale, seed) = input;
            var x = RandomTensor([rows, cols], seed) * scale;
            var s = x.Softmax(1);
            Assert.All(s.ToArray<float>(), p => Assert.InRange(p, 0f, 1f));
            foreach (var total in s.Sum(1).ToArray<float>()) Assert.InRange(total, 1 - 1e-5f, 1 + 1e-5f);
            foreach (var total in x.Softmax(0).Sum(0).ToArray<float>()) Assert.InRange(total, 1 - 1e-5f, 1 + 1e-5f);
            // Softmax of a non-contiguous view agrees with softmax of its copy.
            Assert.Equal(x.T.Contiguous().Softmax(0).ToArray<float>(), x.T.Softmax(0).ToArray<float>());
        });

    [Property(MaxTest = 100)]
    public Property ElementwiseProductSum_EqualsVectorMatMul() =>
        Prop.ForAll(Gen.Zip(Gen.Choose(1, 300), Seed).ToArbitrary(), input =>
        {
            var (n, seed) = input;
            var a = RandomTensor([n], seed);
            var b = RandomTensor([n], seed + 7);
            float viaSum = (a * b).Sum().Item<float>();
            var dot = a.MatMul(b);
            Assert.Equal(0, dot.Dim);
            float viaMatMul = dot.Item<float>();
            float[] av = a.ToArray<float>(), bv = b.ToArray<float>();
            double exact = 0, magnitude = 0;
            for (int i = 0; i < n; i++)
            {
                exact += (double)av[i] * bv[i];
                magnitude += Math.Abs((double)av[i] * bv[i]);
            }
            // Any float32 summation order is within n·u·Σ|aᵢbᵢ| of the exact value (u = 2^-24), so two orders
            // are within twice that of each other.
            double bound = n * Math.Pow(2, -24) * magnitude;
            Assert.True(Math.Abs(viaSum - exact) <= bound, $"sum {viaSum} vs exact {exact}, bound {bound}");
            Assert.True(Math.Abs(viaMatMul - exact) <= bound, $"matmul {viaMatMul} vs exact {exact}, bound {bound}");
            Assert.True(Math.Abs(viaSum - viaMatMul) <= 2 * bound);
        });
}
