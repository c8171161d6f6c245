using NeuralCore.Testing;
using static NeuralCore.Tests.PyTorchReferences;

namespace NeuralCore.Tests.Tensors;

/// <summary>
/// Comparison operators, sort/top-k, max with indices, mask indexing, tensor-bound clamp, closeness and the
/// rectangular-array conversions: values against hand-computed and PyTorch-made references, gradients, errors.
/// </summary>
public sealed class SelectionOpsTests
{
    static Tensor F32(float[] v, params long[] shape) => Tensor.FromArray(v, shape);

    [Fact]
    public void ComparisonOperators_GiveBoolMasks_WithScalarsOnEitherSide()
    {
        var x = F32([-1f, 0f, 2f, 3f]);
        var y = F32([0f, 0f, 5f, 1f]);
        Assert.Equal(DType.Bool, (x > 0).DType);
        Assert.Equal([false, false, true, true], (x > 0).ToArray<bool>());
        Assert.Equal([true, false, false, false], (x < 0).ToArray<bool>());
        Assert.Equal([false, true, true, true], (x >= 0).ToArray<bool>());
        Assert.Equal([true, true, false, false], (x <= 0).ToArray<bool>());
        Assert.Equal([false, false, false, true], (x > y).ToArray<bool>());
        Assert.Equal([true, false, true, false], (x < y).ToArray<bool>());
        Assert.Equal([false, true, false, true], (x >= y).ToArray<bool>());
        Assert.Equal([true, true, true, false], (x <= y).ToArray<bool>());
        Assert.Equal([false, false, true, true], (1 < x).ToArray<bool>());
        Assert.Equal([true, true, false, false], (1 > x).ToArray<bool>());
        Assert.Equal([true, true, true, false], (2 >= x).ToArray<bool>());
        Assert.Equal([false, false, true, true], (2 <= x).ToArray<bool>());
        // Broadcasting, as in PyTorch: [2, 1] against [3].
        var col = F32([0f, 2f], 2, 1);
        Assert.Equal([false, true, true, false, false, true], (F32([-1f, 1f, 3f]) > col).ToArray<bool>());
    }

    [Fact]
    public void EqualityOperatorsStayReferenceEquality()
    {
        var a = Tensor.Ones(2);
        var b = Tensor.Ones(2);
        Assert.False(a == b);
        Assert.True(a != b);
        Assert.Equal([true, true], a.Eq(b).ToArray<bool>());
    }

    [Fact]
    public void Sort_IsStable_AndMatchesPyTorch()
    {
        var s = Root.GetProperty("sort");
        var ties = Tensor(s, "ties");
        var (values, indices) = ties.Sort(1);
        AssertClose(Tensor(s, "ascValues"), values, what: "ascending values");
        Assert.Equal(Tensor(s, "ascIndices").ToArray<long>(), indices.ToArray<long>());
        Assert.Equal(DType.Int64, indices.DType);
        var (dv, di) = ties.Sort(-1, descending: true);
        AssertClose(Tensor(s, "descValues"), dv, what: "descending values");
        Assert.Equal(Tensor(s, "descIndices").ToArray<long>(), di.ToArray<long>());
        Assert.Equal(Tensor(s, "descIndices").ToArray<long>(), ties.ArgSort(1, descending: true).ToArray<long>());
        // Float32 and a non-contiguous view give the same permutation.
        var (tv, ti) = ties.To(DType.Float32).T.Sort(0);
        Assert.Equal(Tensor(s, "ascIndices").ToArray<long>(), ti.T.Contiguous().ToArray<long>());
        Assert.Equal(DType.Float32, tv.DType);
    }

    [Fact]
    public void TopK_MatchesPyTorch_LargestAndSmallest()
    {
        var s = Root.GetProperty("sort");
        var x = Tensor(s, "distinct");
        var (v, i) = x.TopK(3, 1);
        AssertClose(Tensor(s, "top3Values"), v, what: "top-3 values");
        Assert.Equal(Tensor(s, "top3Indices").ToArray<long>(), i.ToArray<long>());
        var (bv, bi) = x.TopK(2, dim: 0, largest: false);
        AssertClose(Tensor(s, "bottom2Dim0Values"), bv, what: "bottom-2 values");
        Assert.Equal(Tensor(s, "bottom2Dim0Indices").ToArray<long>(), bi.ToArray<long>());
    }

    [Fact]
    public void Sort_PutsNaNLast_AndDescendingFirst_AsPyTorch()
    {
        var x = F32([2f, float.NaN, -1f, float.PositiveInfinity]);
        Assert.Equal([2L, 0L, 3L, 1L], x.ArgSort().ToArray<long>());
        Assert.Equal([1L, 3L, 0L, 2L], x.ArgSort(descending: true).ToArray<long>());
        Assert.Equal([1L, 3L], x.TopK(2).Indices.ToArray<long>());
    }

    [Fact]
    public void Sort_OfInt64_IsExactBeyondDoublePrecision()
    {
        long big = (1L << 60) + 1;
        var x = Tensor.FromArray([big, big - 1, -big]);
        var (v, i) = x.Sort();
        Assert.Equal([-big, big - 1, big], v.ToArray<long>());
        Assert.Equal([2L, 1L, 0L], i.ToArray<long>());
    }

    [Fact]
    public void SortAndTopK_HandleZeroDAndEmpty()
    {
        var s = Tensor.Scalar(4.0);
        var (v, i) = s.Sort();
        Assert.Equal(0, v.Dim);
        Assert.Equal(4.0, v.Item<float>());
        Assert.Equal(0L, i.Item<long>());
        Assert.Equal(0, s.TopK(1).Values.Dim);
        var e = Tensor.Zeros(3, 0);
        Assert.Equal([3L, 0L], e.Sort(1).Values.Shape.ToArray());
        Assert.Equal([3L, 0L], e.TopK(0, 1).Indices.Shape.ToArray());
    }

    [Fact]
    public void SortAndTopK_GradientGoesBackThroughTheIndices()
    {
        var x = Tensor.FromArray([3.0, 1.0, 2.0]).RequiresGrad_();
        var (v, _) = x.TopK(2);
        (v * Tensor.FromArray([10.0, 1.0])).Sum().Backward();
        Assert.Equal([10.0, 0.0, 1.0], x.Grad!.ToArray<double>());
        var y = Tensor.Randn([3, 5], DType.Float64);
        GradCheck.Assert(t => t[0].Sort(0, descending: true).Values, [y]);
        GradCheck.Assert(t => t[0].TopK(2, 1, largest: false).Values, [y]);
    }

    [Fact]
    public void SortAndTopK_RejectBadArguments()
    {
        var x = Tensor.Zeros(2, 3);
        Assert.Contains("TopK", Assert.ThrowsAny<ArgumentException>(() => x.TopK(4, 1)).Message);
        Assert.ThrowsAny<ArgumentException>(() => x.TopK(-1));
        Assert.Contains("Sort", Assert.ThrowsAny<ArgumentException>(() => x.Sort(2)).Message);
        Assert.ThrowsAny<ArgumentException>(() => x.ArgSort(-3));
        Assert.ThrowsAny<ArgumentException>(() => Tensor.Scalar(1).Sort(1));
    }

    [Fact]
    public void MaxAndMinWithIndices_ReturnValuesAndFirstIndex()
    {
        var x = F32([1f, 5f, 5f, 0f, -2f, 7f], 2, 3);
        var (v, i) = x.MaxWithIndices(1);
        Assert.Equal([5f, 7f], v.ToArray<float>());
        Assert.Equal([1L, 2L], i.ToArray<long>());
        var (mv, mi) = x.MinWithIndices(0, keepDim: true);
        Assert.Equal([1L, 3L], mv.Shape.ToArray());
        Assert.Equal([1L, 3L], mi.Shape.ToArray());
        Assert.Equal([0f, -2f, 5f], mv.ToArray<float>());
        Assert.Equal([1L, 1L, 0L], mi.ToArray<long>());
        var xd = Tensor.FromArray([1.0, 4.0, 2.0]).RequiresGrad_();
        xd.MaxWithIndices(0).Values.Backward();
        Assert.Equal([0.0, 1.0, 0.0], xd.Grad!.ToArray<double>());
        Assert.ThrowsAny<ArgumentException>(() => Tensor.Zeros(0, 2).MaxWithIndices(0));
        Assert.ThrowsAny<ArgumentException>(() => x.MinWithIndices(2));
    }

    [Fact]
    public void MaskIndexing_SelectsRowsOrElements_AsPyTorch()
    {
        var s = Root.GetProperty("sort");
        var x = Tensor(s, "maskInput");
        AssertClose(Tensor(s, "maskedSelect"), x[x > 0], what: "x[x > 0]");
        AssertClose(Tensor(s, "maskedSelect"), x.MaskedSelect(x > 0), what: "MaskedSelect");
        AssertClose(Tensor(s, "maskedFill"), x.MaskedFill(x > 0, -7.5), what: "MaskedFill");

        var m = F32([1, 2, 3, 4, 5, 6], 3, 2);
        var rows = m[Tensor.FromArray([true, false, true])];
        Assert.Equal([2L, 2L], rows.Shape.ToArray());
        Assert.Equal([1f, 2f, 5f, 6f], rows.ToArray<float>());
        var picked = m[Tensor.FromArray([2L, 0L, 2L, 1L], 2, 2)];
        Assert.Equal([2L, 2L, 2L], picked.Shape.ToArray());
        Assert.Equal([5f, 6f, 1f, 2f, 5f, 6f, 3f, 4f], picked.ToArray<float>());
        // A mask broadcast against the tensor in MaskedSelect.
        Assert.Equal([2f, 4f, 6f], m.MaskedSelect(Tensor.FromArray([false, true])).ToArray<float>());
    }

    [Fact]
    public void MaskOps_AreDifferentiable()
    {
        var x = Tensor.FromArray([1.0, -2.0, 3.0, -4.0]).RequiresGrad_();
        var mask = Tensor.FromArray([true, false, true, false]);
        (x[mask] * Tensor.FromArray([2.0, 5.0])).Sum().Backward();
        Assert.Equal([2.0, 0.0, 5.0, 0.0], x.Grad!.ToArray<double>());
        var y = Tensor.Randn([3, 4], DType.Float64);
        var mk = Tensor.Randn([3, 1]) > 0;
        GradCheck.Assert(t => t[0].MaskedFill(mk, 1.5), [y]);
        GradCheck.Assert(t => t[0].MaskedSelect(mk), [y]);
        GradCheck.Assert(t => t[0].MaskedFill(mk, t[1]), [y, Tensor.Scalar(0.5, DType.Float64)]);
    }

    [Fact]
    public void MaskOps_RejectBadMasks()
    {
        var x = Tensor.Zeros(2, 3);
        Assert.Contains("Bool", Assert.ThrowsAny<ArgumentException>(() => x.MaskedFill(Tensor.Ones(2, 3), 1)).Message);
        Assert.Contains("[2, 3]", Assert.ThrowsAny<ArgumentException>(() => x.MaskedFill(Tensor.Ones(4, 3) > 0, 1)).Message);
        Assert.ThrowsAny<ArgumentException>(() => Tensor.Zeros(3).MaskedFill(Tensor.Ones(2, 3) > 0, 1));
        Assert.ThrowsAny<ArgumentException>(() => x.MaskedFill(Tensor.Ones(3) > 0, Tensor.Ones(2)));
        Assert.ThrowsAny<ArgumentException>(() => x.MaskedSelect(Tensor.Ones(3, 3) > 0));
        Assert.Contains("leading", Assert.ThrowsAny<ArgumentException>(() => x[Tensor.Ones(3) > 0]).Message);
        Assert.ThrowsAny<ArgumentException>(() => x[Tensor.Ones(2)]);
    }

    [Fact]
    public void ClampWithTensorBounds_BroadcastsAndRoutesGradients()
    {
        var x = F32([-3f, 0.5f, 4f]);
        var lo = F32([-1f, 1f, 0f]);
        var hi = F32([2f]);
        Assert.Equal([-1f, 1f, 2f], x.Clamp(lo, hi).ToArray<float>());
        Assert.Equal([-1f, 1f, 4f], x.Clamp(lo, null).ToArray<float>());
        Assert.Equal([-3f, 0.5f, 2f], x.Clamp(null, hi).ToArray<float>());
        Assert.Throws<ArgumentException>(() => x.Clamp((Tensor?)null, null));
        Assert.ThrowsAny<ArgumentException>(() => x.Clamp(Tensor.Zeros(2), null));
        var xd = Tensor.FromArray([-3.1, 0.4, 0.9, 4.2]);
        GradCheck.Assert(t => t[0].Clamp(t[1], t[2]), [xd, Tensor.FromArray([-1.05, 0.55, -2.0, 0.1]), Tensor.FromArray([2.05])]);
    }

    [Fact]
    public void IsCloseAndAllClose_FollowPyTorchsRule()
    {
        var a = Tensor.FromArray([1.0, 100.0, double.PositiveInfinity, double.NaN, 0.0]);
        var b = Tensor.FromArray([1.0 + 1e-6, 100.001, double.PositiveInfinity, double.NaN, 1e-7]);
        Assert.Equal([true, true, true, false, false], a.IsClose(b).ToArray<bool>());
        Assert.Equal([true, true, true, true, false], a.IsClose(b, equalNan: true).ToArray<bool>());
        Assert.Equal([false, false, true, false, false], a.IsClose(b, rtol: 0, atol: 0).ToArray<bool>());
        Assert.False(a.AllClose(b));
        Assert.True(a.Narrow(0, 0, 3).AllClose(b.Narrow(0, 0, 3)));
        Assert.True(Tensor.Ones(2, 3).AllClose(Tensor.Ones(3).To(DType.Float64)));
        Assert.False(Tensor.FromArray([1f]).AllClose(Tensor.FromArray([-1f])));
        Assert.ThrowsAny<ArgumentException>(() => Tensor.Ones(2).AllClose(Tensor.Ones(3)));
        Assert.ThrowsAny<ArgumentException>(() => Tensor.Ones(2).AllClose(Tensor.Ones(2), rtol: -1));
    }

    [Fact]
    public void ToArray2DAnd3D_AreRowMajor_EvenForViews()
    {
        var x = Tensor.Arange(6).Reshape(2, 3);
        var a = x.ToArray2D<float>();
        Assert.Equal(2, a.GetLength(0));
        Assert.Equal(3, a.GetLength(1));
        Assert.Equal(5f, a[1, 2]);
        Assert.Equal(3f, a[1, 0]);
        var t = x.T.ToArray2D<long>();
        Assert.Equal(3, t.GetLength(0));
        Assert.Equal(3L, t[0, 1]);
        var c = Tensor.Arange(24).Reshape(2, 3, 4).ToArray3D<double>();
        Assert.Equal(23.0, c[1, 2, 3]);
        Assert.Equal(13.0, c[1, 0, 1]);
        var bools = (x > 2).ToArray2D<bool>();
        Assert.True(bools[1, 0]);
        Assert.False(bools[0, 2]);
        Assert.Throws<InvalidOperationException>(() => Tensor.Zeros(3).ToArray2D<float>());
        Assert.Throws<InvalidOperationException>(() => Tensor.Zeros(3, 1).ToArray3D<float>());
    }
}
