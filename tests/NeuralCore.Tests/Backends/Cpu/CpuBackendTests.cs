using NeuralCore.Backends;
using NeuralCore.Backends.Cpu;
using NeuralCore.Tests.Tensors;
using static NeuralCore.Tests.Tensors.TensorTestHelpers;

namespace NeuralCore.Tests.Backends.Cpu;

/// <summary>
/// The CPU kernels on odd layouts (permuted, expanded, offset views) against naive loops that read the raw
/// storage through the view's own strides.
/// </summary>
public class CpuBackendTests
{
    static readonly CpuBackend Backend = CpuBackend.Instance;

    static Tensor Iota(params long[] shape) => Tensor.Arange(new Shape(shape).NumElements).To(DType.Float32).Reshape(shape);

    // A permuted, offset, non-contiguous view of a [2, 3, 4, 5] tensor: shape [3, 3, 2, 4] (after narrowing dim 0).
    static Tensor OddView(Tensor baseTensor) => baseTensor.Permute(3, 1, 0, 2).Narrow(0, 1, 3);

    static double[] Naive(Tensor view, Func<double, double> f)
    {
        var raw = RawStorage(view);
        return Indices(view.Shape.ToArray()).Select(i => f(At(view, raw, i))).ToArray();
    }

    [Fact]
    public void UnaryKernels_OnPermutedOffsetViews()
    {
        var b = Tensor.Randn([2, 3, 4, 5], DType.Float32, new Generator(1));
        var v = OddView(b);
        Assert.False(v.IsContiguous);
        Assert.NotEqual(0, v.offset);
        AllClose(Naive(v, x => (float)Math.Exp((float)x)), v.Exp().D(), rtol: 1e-6);
        AllClose(Naive(v, x => Math.Max(x, 0)), v.Relu().D(), 0, 0);
        AllClose(Naive(v, x => -x), v.Neg().D(), 0, 0);
        AllClose(Naive(v, x => (float)Math.Tanh((float)x)), v.Tanh().D(), 1e-6, 1e-6);
        AllClose(Naive(v, x => Math.Clamp(x, -0.5, 0.5)), v.Clamp(-0.5, 0.5).D(), 0, 0);
    }

    [Fact]
    public void BinaryKernels_OnPermutedExpandedAndOffsetViews()
    {
        var b = Tensor.Randn([2, 3, 4, 5], DType.Float32, new Generator(2));
        var x = OddView(b);                                   // [3, 3, 2, 4]
        var col = Tensor.Randn([3, 1, 1, 1], DType.Float32, new Generator(3)).Expand(3, 3, 2, 4);
        var row = Tensor.Randn([8], DType.Float32, new Generator(4)).Narrow(0, 2, 4); // [4], offset 2
        var rx = RawStorage(x);
        var rc = RawStorage(col);
        var rr = RawStorage(row);
        var idx = Indices(x.Shape.ToArray()).ToArray();

        var sum = (x + col).D();
        var prod = (x * row).D();
        var diff = (col - x).D();
        var quot = (x / row).D();
        var max = x.Maximum(col).D();
        var gt = x.Gt(row).ToArray<bool>();
        for (int k = 0; k < idx.Length; k++)
        {
            var i = idx[k];
            float xv = (float)At(x, rx, i), cv = (float)At(col, rc, i), rv = (float)At(row, rr, i[3]);
            Assert.Equal(xv + cv, (float)sum[k]);
            Assert.Equal(xv * rv, (float)prod[k]);
            Assert.Equal(cv - xv, (float)diff[k]);
            Assert.Equal(xv / rv, (float)quot[k]);
            Assert.Equal(Math.Max(xv, cv), (float)max[k]);
            Assert.Equal(xv > rv, gt[k]);
        }
    }

    [Fact]
    public void BinaryKernel_WritesIntoANonContiguousDestination()
    {
        var dst = Tensor.Zeros(4, 3);
        var t = dst.Transpose(0, 1); // [3, 4] view
        using (Tensor.NoGrad()) t.Add_(Iota(3, 4));
        Assert.Equal(Iota(3, 4).T.Contiguous().F(), dst.F());
    }

    public static TheoryData<DType, DType> DTypePairs
    {
        get
        {
            var all = new[] { DType.Bool, DType.UInt8, DType.Int32, DType.Int64, DType.Float32, DType.Float64 };
            var d = new TheoryData<DType, DType>();
            foreach (var a in all) foreach (var b in all) d.Add(a, b);
            return d;
        }
    }

    // Values every dtype can hold exactly: their conversion is unambiguous in every direction.
    static readonly double[] CommonValues = [0, 1, 0, 1, 1, 0];

    [Theory]
    [MemberData(nameof(DTypePairs))]
    public void Copy_BetweenEveryDTypePair_PreservesRepresentableValues(DType from, DType to)
    {
        var src = Tensor.FromArray(CommonValues).To(from);
        var dst = Tensor.Zeros([6], to);
        Backend.Copy(src.Buf, dst.Buf);
        Assert.Equal(CommonValues, dst.D());
        Assert.Equal(to, dst.DType);
        // Also from a strided (reversed-by-transpose) source.
        var src2 = Tensor.FromArray(CommonValues, 2, 3).To(from).T;
        Assert.Equal(new double[] { 0, 1, 1, 1, 0, 0 }, src2.To(to).D());
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void FloatToInteger_TruncatesTowardZero(DType from)
    {
        var src = Tensor.FromArray(new[] { -2.9, -2.5, -0.7, 0.7, 2.5, 2.9, 100.99 }).To(from);
        Assert.Equal(new[] { -2, -2, 0, 0, 2, 2, 100 }, src.To(DType.Int32).ToArray<int>());
        Assert.Equal(new long[] { -2, -2, 0, 0, 2, 2, 100 }, src.To(DType.Int64).ToArray<long>());
        Assert.Equal(new byte[] { 0, 2, 2, 100 }, src.Narrow(0, 3, 4).To(DType.UInt8).ToArray<byte>());
    }

    [Theory]
    [InlineData(DType.UInt8)]
    [InlineData(DType.Int32)]
    [InlineData(DType.Int64)]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void AnyToBool_IsNonZero(DType from)
    {
        var values = from.IsFloatingPoint() ? new[] { 0, 0.25, -3, 0, 7 } : new double[] { 0, 2, 3, 0, 7 };
        var src = Tensor.FromArray(values).To(from);
        var b = src.To(DType.Bool);
        Assert.Equal(new[] { false, true, true, false, true }, b.ToArray<bool>());
        // Stored as 0/1 bytes, never the original value.
        Assert.Equal(new byte[] { 0, 1, 1, 0, 1 }, b.ToArray<byte>());
    }

    [Fact]
    public void IntegerToUInt8_Wraps()
    {
        Assert.Equal(new byte[] { 255, 0, 44, 1 }, Tensor.FromArray(new long[] { -1, 256, 300, 257 }).To(DType.UInt8).ToArray<byte>());
        Assert.Equal(new byte[] { 255, 128 }, Tensor.FromArray(new[] { -1, -128 }).To(DType.UInt8).ToArray<byte>());
    }

    [Fact]
    public void Int64ToInt32_WrapsAsACTwosComplementCast()
    {
        // PyTorch's integer narrowing is a C++ static_cast: it keeps the low 32 bits.
        var src = Tensor.FromArray(new[] { (1L << 32) + 5, -1L, (long)int.MaxValue + 1 });
        Assert.Equal(new[] { 5, -1, int.MinValue }, src.To(DType.Int32).ToArray<int>());
    }

    [Fact]
    public void UInt8ToWiderTypes_IsUnsigned()
    {
        var src = Tensor.FromArray(new byte[] { 200, 255 });
        Assert.Equal(new[] { 200, 255 }, src.To(DType.Int32).ToArray<int>());
        Assert.Equal(new[] { 200f, 255f }, src.To(DType.Float32).ToArray<float>());
    }

    [Theory]
    [InlineData(DType.Bool)]
    [InlineData(DType.UInt8)]
    [InlineData(DType.Int32)]
    [InlineData(DType.Int64)]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void Fill_ANonContiguousViewTouchesOnlyItsElements(DType dtype)
    {
        var t = Tensor.Zeros([4, 5], dtype);
        var v = t.T.Narrow(0, 1, 2).Narrow(1, 2, 2); // t[2..4, 1..3] seen transposed
        using (Tensor.NoGrad()) v.Fill_(1);
        var values = t.D();
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 5; j++)
                Assert.Equal(i is 2 or 3 && j is 1 or 2 ? 1.0 : 0.0, values[i * 5 + j]);
    }

    [Fact]
    public void Fill_ConvertsTheValue()
    {
        var b = Tensor.Zeros([2], DType.Bool);
        Backend.Fill(b.Buf, 5);
        Assert.Equal(new byte[] { 1, 1 }, b.ToArray<byte>());
        var f = Tensor.Zeros([2], DType.Float64);
        Backend.Fill(f.Buf, 0.1);
        Assert.Equal(new[] { 0.1, 0.1 }, f.D());
    }

    [Theory]
    [InlineData(DType.Bool)]
    [InlineData(DType.UInt8)]
    [InlineData(DType.Int32)]
    [InlineData(DType.Int64)]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void Where_BroadcastsConditionAndOperands(DType dtype)
    {
        var cond = Tensor.FromArray(new[] { true, false, true }).Reshape(1, 3);   // [1, 3]
        var x = Tensor.FromArray(new double[] { 1, 0 }).Reshape(2, 1).To(dtype);   // [2, 1]
        var y = Tensor.Zeros([2, 3], dtype).T.Contiguous().T;                      // [2, 3], transposed layout
        var r = Tensor.Where(cond, x, y);
        Assert.Equal(dtype, r.DType);
        Assert.Equal(new double[] { 1, 0, 1, 0, 0, 0 }, r.D());
    }

    [Fact]
    public void Where_OnStridedViewsMatchesNaive()
    {
        var b = Tensor.Randn([2, 3, 4, 5], DType.Float64, new Generator(5));
        var x = OddView(b);
        var cond = x.Gt(0);
        var r = Tensor.Where(cond, x, x * -10);
        AllClose(Naive(x, v => v > 0 ? v : v * -10), r.D(), 0, 0);
    }

    // ------------------------------------------------------------------ reductions

    public static TheoryData<int[]> ReductionDimSets => new()
    {
        new[] { 0 }, new[] { 1 }, new[] { 2 }, new[] { 3 }, new[] { 0, 1 }, new[] { 0, 3 }, new[] { 1, 2 }, new[] { 0, 2, 3 }, new[] { 0, 1, 2, 3 },
    };

    static double[] NaiveReduce(Tensor x, int[] dims, Func<IEnumerable<double>, double> fold)
    {
        var shape = x.Shape.ToArray();
        var raw = RawStorage(x);
        var keptShape = shape.Select((s, d) => dims.Contains(d) ? 1 : s).ToArray();
        var groups = new List<double>[Indices(keptShape).Count()];
        for (int g = 0; g < groups.Length; g++) groups[g] = [];
        foreach (var idx in Indices(shape))
        {
            var kept = idx.Select((v, d) => dims.Contains(d) ? 0 : v).ToArray();
            groups[Flat(keptShape, kept)].Add(At(x, raw, idx));
        }
        return groups.Select(fold).ToArray();
    }

    static double NaiveArgMax(IEnumerable<double> values, bool max)
    {
        int best = 0, i = 0;
        double bestValue = double.NaN;
        foreach (var v in values)
        {
            if (i == 0 || (max ? v > bestValue : v < bestValue)) { best = i; bestValue = v; }
            i++;
        }
        return best;
    }

    [Theory]
    [MemberData(nameof(ReductionDimSets))]
    public void SumMaxMin_OverAnyDims_OfContiguousAndPermutedInputs_MatchNaive(int[] dims)
    {
        var c = Tensor.Randn([3, 4, 5, 6], DType.Float64, new Generator(6));
        var p = Tensor.Randn([6, 4, 3, 5], DType.Float64, new Generator(7)).Permute(2, 1, 3, 0); // [3, 4, 5, 6], strided
        foreach (var x in new[] { c, p })
        {
            AllClose(NaiveReduce(x, dims, v => v.Sum()), x.Sum(dims).D(), 1e-12, 1e-12);
            AllClose(NaiveReduce(x, dims, v => v.Sum()), x.Sum(dims, keepDim: true).D(), 1e-12, 1e-12);
            AllClose(NaiveReduce(x, dims, v => v.Average()), x.Mean(dims).D(), 1e-12, 1e-12);
            if (dims.Length == 1)
            {
                AllClose(NaiveReduce(x, dims, v => v.Max()), x.Max(dims[0]).D(), 0, 0);
                AllClose(NaiveReduce(x, dims, v => v.Min()), x.Min(dims[0]).D(), 0, 0);
                AllClose(NaiveReduce(x, dims, v => NaiveArgMax(v, true)), x.ArgMax(dims[0]).D(), 0, 0);
                AllClose(NaiveReduce(x, dims, v => NaiveArgMax(v, false)), x.ArgMin(dims[0]).D(), 0, 0);
            }
        }
    }

    [Fact]
    public void IntegerReductions_MatchNaive()
    {
        var x = Tensor.RandInt(-50, 50, [4, 5, 3], new Generator(8)).Permute(2, 0, 1); // [3, 4, 5]
        foreach (var dims in new[] { new[] { 0 }, new[] { 1 }, new[] { 2 }, new[] { 0, 2 } })
            Assert.Equal(NaiveReduce(x, dims, v => v.Sum()), x.Sum(dims).D());
        Assert.Equal(NaiveReduce(x, [1], v => v.Max()), x.Max(1).D());
        Assert.Equal(NaiveReduce(x, [0], v => v.Min()), x.Min(0).D());
        Assert.Equal(NaiveReduce(x, [2], v => NaiveArgMax(v, true)), x.ArgMax(2).D());
        var i32 = x.To(DType.Int32);
        Assert.Equal(NaiveReduce(x, [0], v => v.Max()), i32.Max(0).D());
        Assert.Equal(DType.Int32, i32.Max(0).DType);
    }

    [Fact]
    public void FullReductions()
    {
        var x = OddView(Tensor.Randn([2, 3, 4, 5], DType.Float64, new Generator(9)));
        var all = Naive(x, v => v);
        Assert.Equal(all.Sum(), x.Sum().Item<double>(), 1e-12);
        Assert.Equal(all.Max(), x.Max().Item<double>());
        Assert.Equal(all.Min(), x.Min().Item<double>());
        Assert.Equal(Array.IndexOf(all, all.Max()), x.ArgMax().Item<long>());
        Assert.Equal(Array.IndexOf(all, all.Min()), x.ArgMin().Item<long>());
        Assert.Equal(0, x.Sum().Dim);
    }

    [Fact]
    public void ArgMaxArgMin_TiesGoToTheFirstIndex()
    {
        var t = Tensor.FromArray(new float[] { 1, 3, 3, 2, 3 });
        Assert.Equal(1L, t.ArgMax().Item<long>());
        Assert.Equal(0L, Tensor.FromArray(new float[] { 5, 5, 5 }).ArgMax().Item<long>());
        Assert.Equal(1L, Tensor.FromArray(new float[] { 2, 1, 1 }).ArgMin().Item<long>());
        var m = Tensor.FromArray(new long[] { 7, 7, 1, 2, 9, 9 }, 2, 3);
        Assert.Equal(new long[] { 0, 1 }, m.ArgMax(1).L());
    }

    [Fact]
    public void ArgMax_OnAColumnOfTies_AndAlongDimZero()
    {
        var m = Tensor.FromArray(new long[] { 7, 7, 1, 2, 9, 9 }, 2, 3);
        Assert.Equal(new long[] { 0, 1, 1 }, m.ArgMax(0).L());
        var ties = Tensor.Ones(4, 3);
        Assert.Equal(new long[] { 0, 0, 0 }, ties.ArgMax(0).L());
        Assert.Equal(new long[] { 0, 0, 0, 0 }, ties.ArgMin(1).L());
    }

    [Fact]
    public void NaN_IsTheMaximumAndTheMinimum_AsInPyTorch()
    {
        var t = Tensor.FromArray(new[] { 1f, float.NaN, 3f });
        Assert.True(float.IsNaN(t.Max().Item<float>()));
        Assert.True(float.IsNaN(t.Min().Item<float>()));
        Assert.Equal(1L, t.ArgMax().Item<long>());
        Assert.Equal(1L, t.ArgMin().Item<long>());
        Assert.Equal(0L, Tensor.FromArray(new[] { float.NaN, 5f }).ArgMax().Item<long>());
        Assert.Equal(1L, Tensor.FromArray(new[] { 5f, float.NaN, float.NaN }).ArgMax().Item<long>());
        Assert.True(float.IsNaN(Tensor.FromArray(new[] { float.NaN, 5f }).Max().Item<float>()));

        // Along dims, on both the row-accumulating path (dim 0) and the per-row path (dim 1).
        var m = Tensor.FromArray(new[] { 1f, float.NaN, 2f, 3f, float.NaN, 0f }, 3, 2);
        var max0 = m.Max(0).F();
        Assert.True(float.IsNaN(max0[0]));
        Assert.True(float.IsNaN(max0[1]));
        var max1 = m.Max(1).F();
        Assert.True(float.IsNaN(max1[0]));
        Assert.Equal(3f, max1[1]);
        Assert.True(float.IsNaN(max1[2]));
        Assert.Equal(new long[] { 2, 0 }, m.ArgMax(0).L());
        Assert.Equal(new long[] { 1, 1, 0 }, m.ArgMax(1).L());
        var min0 = m.Min(0).F();
        Assert.True(float.IsNaN(min0[0]) && float.IsNaN(min0[1]));
        Assert.True(float.IsNaN(Tensor.FromArray(new[] { 1f, 2f, float.NaN }, 3, 1).Sum(0).Item<float>()));
    }

    [Fact]
    public void Maximum_PropagatesNaN()
    {
        var a = Tensor.FromArray(new[] { float.NaN, 1f, 2f });
        var b = Tensor.FromArray(new[] { 0f, float.NaN, 1f });
        var r = a.Maximum(b).F();
        Assert.True(float.IsNaN(r[0]) && float.IsNaN(r[1]));
        Assert.Equal(2f, r[2]);
    }

    [Fact]
    public void EmptyReductions()
    {
        Assert.Equal(new[] { 0f, 0f }, Tensor.Zeros(2, 0).Sum(1).F());
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(0).Max());
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 0).ArgMax(1));
    }

    // ------------------------------------------------------------------ matmul

    static double[] NaiveMatMul(Tensor a, Tensor b)
    {
        // a [..., m, k], b [..., k, n] with broadcast batch dims; computed in double from the raw storage.
        var ashape = a.Shape.ToArray();
        var bshape = b.Shape.ToArray();
        int m = (int)ashape[^2], k = (int)ashape[^1], n = (int)bshape[^1];
        var abatch = ashape[..^2];
        var bbatch = bshape[..^2];
        int rank = Math.Max(abatch.Length, bbatch.Length);
        var batch = new long[rank];
        for (int i = 1; i <= rank; i++)
            batch[^i] = Math.Max(i <= abatch.Length ? abatch[^i] : 1, i <= bbatch.Length ? bbatch[^i] : 1);
        var ra = RawStorage(a);
        var rb = RawStorage(b);
        var result = new List<double>();
        foreach (var bi in Indices(batch))
        {
            int[] ai = Align(bi, abatch), bj = Align(bi, bbatch);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double acc = 0;
                    for (int p = 0; p < k; p++)
                        acc += At(a, ra, [.. ai, i, p]) * At(b, rb, [.. bj, p, j]);
                    result.Add(acc);
                }
        }
        return result.ToArray();
    }

    static int[] Align(int[] batchIndex, long[] shape)
    {
        var r = new int[shape.Length];
        int lead = batchIndex.Length - shape.Length;
        for (int i = 0; i < shape.Length; i++) r[i] = shape[i] == 1 ? 0 : batchIndex[lead + i];
        return r;
    }

    static Tensor R(int seed, params long[] shape) => Tensor.Randn(shape, DType.Float32, new Generator(seed));

    public static TheoryData<string> MatMulLayouts => new()
    {
        "plain", "a transposed", "b transposed", "both transposed", "narrowed transposed", "offset rows", "vector-matrix",
        "matrix-vector", "permuted batch", "expanded batch", "broadcast batch", "shared b", "strided columns",
    };

    static (Tensor A, Tensor B) Operands(string layout) => layout switch
    {
        "plain" => (R(1, 5, 7), R(2, 7, 9)),
        "a transposed" => (R(1, 7, 5).T, R(2, 7, 9)),
        "b transposed" => (R(1, 5, 7), R(2, 9, 7).T),
        "both transposed" => (R(1, 7, 5).T, R(2, 9, 7).T),
        // Column-major with a leading dimension larger than the rows, and a non-zero offset.
        "narrowed transposed" => (R(1, 10, 8).Narrow(0, 1, 7).Narrow(1, 2, 5).T, R(2, 12, 9).Narrow(0, 3, 7)),
        "offset rows" => (R(1, 9, 7)[2..7], R(2, 7, 11)[.., 1..10]),
        "vector-matrix" => (R(1, 7), R(2, 7, 4).T.Contiguous().T),
        "matrix-vector" => (R(1, 4, 7).T.Contiguous().T, R(2, 7)),
        "permuted batch" => (R(1, 5, 3, 7).Permute(1, 0, 2), R(2, 3, 9, 7).Transpose(1, 2)),
        "expanded batch" => (R(1, 1, 5, 7).Expand(4, 5, 7), R(2, 4, 7, 3)),
        "broadcast batch" => (R(1, 2, 1, 3, 4), R(2, 5, 4, 6)),
        "shared b" => (R(1, 4, 3, 5), R(2, 5, 2)),
        // Neither stride is 1: GEMM cannot read it directly and must copy.
        "strided columns" => (R(1, 5, 7, 2).Select(2, 1), R(2, 7, 3, 2).Select(2, 0)),
        _ => throw new ArgumentException(layout),
    };

    [Theory]
    [MemberData(nameof(MatMulLayouts))]
    public void MatMul_OnEveryLayout_MatchesNaive(string layout)
    {
        var (a, b) = Operands(layout);
        var r = a.MatMul(b);
        var expected = NaiveMatMul(a.Dim == 1 ? a.Unsqueeze(0) : a, b.Dim == 1 ? b.Unsqueeze(1) : b);
        AllClose(expected, r.D(), 1e-5, 1e-5);
        // Float64 takes the same layout decisions with a different kernel.
        AllClose(expected, a.Double().MatMul(b.Double()).D(), 1e-5, 1e-5);
    }

    [Fact]
    public void MatMul_BroadcastBatch_HasTheBroadcastShape()
    {
        Assert.Equal(new Shape(2, 5, 3, 6), R(1, 2, 1, 3, 4).MatMul(R(2, 5, 4, 6)).Shape);
        Assert.Equal(new Shape(4, 3, 2), R(1, 4, 3, 5).MatMul(R(2, 5, 2)).Shape);
        Assert.Equal(new Shape(4), R(1, 4, 7).MatMul(R(2, 7)).Shape);
        Assert.Equal(new Shape(3, 4), R(1, 7).MatMul(R(2, 3, 7, 4)).Shape);
    }

    [Fact]
    public void IntegerMatMul_MatchesNaive()
    {
        var a = Tensor.RandInt(-5, 5, [3, 4, 6], new Generator(11)).Transpose(1, 2); // [3, 6, 4]
        var b = Tensor.RandInt(-5, 5, [4, 2], new Generator(12));
        var r = a.MatMul(b);
        Assert.Equal(DType.Int64, r.DType);
        Assert.Equal(NaiveMatMul(a, b), r.D());
        Assert.Equal(NaiveMatMul(a, b), a.Int().MatMul(b.Int()).D());
    }

    [Fact]
    public void MatMul_WithZeroSizedDimensions()
    {
        Assert.Equal(new Shape(3, 0), Tensor.Zeros(3, 4).MatMul(Tensor.Zeros(4, 0)).Shape);
        Assert.Equal(new float[6], Tensor.Zeros(3, 0).MatMul(Tensor.Zeros(0, 2)).F());
    }

    [Fact]
    public void MatMul_OfTransposedOperands_DoesNotMoveThem()
    {
        // The transposed GEMM path reads the original storages; the operands stay untouched.
        var a = R(1, 6, 4);
        var b = R(2, 5, 6);
        var av = a.F();
        var bv = b.F();
        var r = a.T.MatMul(b.T);
        Assert.Equal(av, a.F());
        Assert.Equal(bv, b.F());
        AllClose(NaiveMatMul(a.T, b.T), r.D(), 1e-5, 1e-5);
    }
}
