namespace NeuralCore.Tests.Tensors;

public class TensorCreationTests
{
    public static TheoryData<DType> AllDTypes => new() { DType.Bool, DType.UInt8, DType.Int32, DType.Int64, DType.Float32, DType.Float64 };

    [Fact]
    public void Zeros_Ones_DefaultToFloat32OnCpu()
    {
        var z = Tensor.Zeros(2, 3);
        Assert.Equal(DType.Float32, z.DType);
        Assert.True(z.Device.IsCpu);
        Assert.Equal(new Shape(2, 3), z.Shape);
        Assert.All(z.ToArray<float>(), v => Assert.Equal(0f, v));
        Assert.All(Tensor.Ones(4).ToArray<float>(), v => Assert.Equal(1f, v));
        Assert.False(z.RequiresGrad);
        Assert.True(z.IsLeaf);
    }

    [Theory]
    [MemberData(nameof(AllDTypes))]
    public void ZerosOnesFull_WorkForEveryDType(DType dtype)
    {
        var z = Tensor.Zeros([2, 2], dtype);
        var o = Tensor.Ones([3], dtype);
        var f = Tensor.Full([2, 1], 1, dtype);
        Assert.Equal(dtype, z.DType);
        Assert.Equal(dtype, o.DType);
        Assert.Equal(dtype, f.DType);
        Assert.Equal(new double[4], z.ToArray<double>());
        Assert.Equal(new[] { 1.0, 1.0, 1.0 }, o.ToArray<double>());
        Assert.Equal(new[] { 1.0, 1.0 }, f.ToArray<double>());
    }

    [Fact]
    public void Full_ConvertsTheValueToTheDType()
    {
        Assert.Equal(new[] { 2.5f, 2.5f }, Tensor.Full([2], 2.5).ToArray<float>());
        Assert.Equal(new[] { 7L }, Tensor.Full([1], 7, DType.Int64).ToArray<long>());
        Assert.Equal(new byte[] { 255 }, Tensor.Full([1], 255, DType.UInt8).ToArray<byte>());
        Assert.Equal(new[] { true, true }, Tensor.Full([2], 3, DType.Bool).ToArray<bool>());
        Assert.Equal(new[] { -1e300 }, Tensor.Full([1], -1e300, DType.Float64).ToArray<double>());
    }

    [Fact]
    public void ScalarAndLikeConstructors()
    {
        var s = Tensor.Scalar(3.5);
        Assert.Equal(0, s.Dim);
        Assert.Equal(1L, s.NumElements);
        Assert.Equal(3.5f, s.Item<float>());

        var x = Tensor.Ones([2, 3], DType.Int32);
        var z = Tensor.ZerosLike(x);
        Assert.Equal(x.Shape, z.Shape);
        Assert.Equal(DType.Int32, z.DType);
        Assert.Equal(new int[6], z.ToArray<int>());
        Assert.Equal(Enumerable.Repeat(1, 6), Tensor.OnesLike(x).ToArray<int>());
        Assert.Equal(Enumerable.Repeat(9, 6), Tensor.FullLike(x, 9).ToArray<int>());
    }

    [Fact]
    public void EmptyShapes_AreAllowed()
    {
        var t = Tensor.Zeros(0, 3);
        Assert.Equal(0L, t.NumElements);
        Assert.Empty(t.ToArray<float>());
        Assert.Empty(Tensor.FromArray(Array.Empty<float>()).ToArray<float>());
        Assert.Equal(0f, t.Sum().Item<float>());
    }

    [Fact]
    public void Arange_IntegralArgumentsGiveInt64()
    {
        var a = Tensor.Arange(5);
        Assert.Equal(DType.Int64, a.DType);
        Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, a.ToArray<long>());
        Assert.Equal(new long[] { 5, 4, 3, 2, 1 }, Tensor.Arange(5, 0, -1).ToArray<long>());
        Assert.Equal(new long[] { 2, 5, 8 }, Tensor.Arange(2, 10, 3).ToArray<long>());
        Assert.Empty(Tensor.Arange(0).ToArray<long>());
        Assert.Empty(Tensor.Arange(3, 1).ToArray<long>());
    }

    [Fact]
    public void Arange_FractionalArgumentsGiveFloat32_AndCountIsCeil()
    {
        var a = Tensor.Arange(0, 1, 0.25);
        Assert.Equal(DType.Float32, a.DType);
        Assert.Equal(new[] { 0f, 0.25f, 0.5f, 0.75f }, a.ToArray<float>());
        Assert.Equal(10L, Tensor.Arange(0, 1, 0.1).NumElements);
        Assert.Equal(3L, Tensor.Arange(0, 2.5).NumElements); // 0, 1, 2
        Assert.Equal(DType.Float64, Tensor.Arange(0, 3, 1, DType.Float64).DType);
    }

    [Fact]
    public void Arange_RejectsZeroStepAndInfiniteBounds()
    {
        Assert.Throws<ArgumentException>(() => Tensor.Arange(0, 1, 0));
        Assert.Throws<ArgumentException>(() => Tensor.Arange(0, double.PositiveInfinity));
    }

    [Fact]
    public void Linspace_IncludesBothEnds()
    {
        Assert.Equal(new[] { 0f, 0.25f, 0.5f, 0.75f, 1f }, Tensor.Linspace(0, 1, 5).ToArray<float>());
        Assert.Equal(new[] { 3f }, Tensor.Linspace(3, 7, 1).ToArray<float>());
        Assert.Empty(Tensor.Linspace(3, 7, 0).ToArray<float>());
        var d = Tensor.Linspace(-1, 1, 3, DType.Float64);
        Assert.Equal(DType.Float64, d.DType);
        Assert.Equal(new[] { -1.0, 0.0, 1.0 }, d.ToArray<double>());
        Assert.Throws<ArgumentException>(() => Tensor.Linspace(0, 1, -1));
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    [InlineData(DType.Int64)]
    [InlineData(DType.Bool)]
    public void Eye_IsTheIdentity(DType dtype)
    {
        var e = Tensor.Eye(3, dtype);
        Assert.Equal(dtype, e.DType);
        Assert.Equal(new Shape(3, 3), e.Shape);
        Assert.Equal(new double[] { 1, 0, 0, 0, 1, 0, 0, 0, 1 }, e.ToArray<double>());
        Assert.Equal(new double[] { 1 }, Tensor.Eye(1, dtype).ToArray<double>());
        Assert.Empty(Tensor.Eye(0, dtype).ToArray<double>());
    }

    [Fact]
    public void FromArray_EveryElementType()
    {
        Assert.Equal(DType.Float32, Tensor.FromArray(new[] { 1.5f }).DType);
        Assert.Equal(DType.Float64, Tensor.FromArray(new[] { 1.5 }).DType);
        Assert.Equal(DType.Int32, Tensor.FromArray(new[] { 1 }).DType);
        Assert.Equal(DType.Int64, Tensor.FromArray(new[] { 1L }).DType);
        Assert.Equal(DType.UInt8, Tensor.FromArray(new byte[] { 1 }).DType);
        Assert.Equal(DType.Bool, Tensor.FromArray(new[] { true }).DType);

        Assert.Equal(new[] { 1.5f, -2f }, Tensor.FromArray(new[] { 1.5f, -2f }).ToArray<float>());
        Assert.Equal(new[] { 1e-300, 2.0 }, Tensor.FromArray(new[] { 1e-300, 2.0 }).ToArray<double>());
        Assert.Equal(new[] { int.MinValue, int.MaxValue }, Tensor.FromArray(new[] { int.MinValue, int.MaxValue }).ToArray<int>());
        Assert.Equal(new[] { long.MinValue, long.MaxValue }, Tensor.FromArray(new[] { long.MinValue, long.MaxValue }).ToArray<long>());
        Assert.Equal(new byte[] { 0, 255 }, Tensor.FromArray(new byte[] { 0, 255 }).ToArray<byte>());
        Assert.Equal(new[] { true, false, true }, Tensor.FromArray(new[] { true, false, true }).ToArray<bool>());
    }

    [Fact]
    public void FromArray_WithShape_IsRowMajor_AndCopiesTheData()
    {
        var data = new float[] { 1, 2, 3, 4, 5, 6 };
        var t = Tensor.FromArray(data, 2, 3);
        Assert.Equal(new Shape(2, 3), t.Shape);
        Assert.Equal(4f, t[1, 0].Item<float>());
        data[0] = 100;
        Assert.Equal(1f, t[0, 0].Item<float>());
    }

    [Fact]
    public void FromArray_ShapeMismatch_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.FromArray(new float[5], 2, 3));
        Assert.Contains("FromArray", ex.Message);
        Assert.Contains("[2, 3]", ex.Message);
        Assert.Contains("5", ex.Message);
        Assert.Throws<ArgumentNullException>(() => Tensor.FromArray<float>(null!));
    }

    [Fact]
    public void ToArray_ConvertsAcrossDTypes()
    {
        var f = Tensor.FromArray(new[] { -2.7f, -0.5f, 0f, 0.5f, 1.9f, 3f });
        Assert.Equal(new[] { -2, 0, 0, 0, 1, 3 }, f.ToArray<int>());
        Assert.Equal(new long[] { -2, 0, 0, 0, 1, 3 }, f.ToArray<long>());
        Assert.Equal(new[] { true, true, false, true, true, true }, f.ToArray<bool>());
        Assert.Equal(new[] { -2.7f, -0.5f, 0f, 0.5f, 1.9f, 3f }.Select(v => (double)v), f.ToArray<double>());

        var i = Tensor.FromArray(new long[] { -1, 0, 2, 300 });
        Assert.Equal(new[] { -1f, 0f, 2f, 300f }, i.ToArray<float>());
        Assert.Equal(new byte[] { 255, 0, 2, 44 }, i.ToArray<byte>()); // wraps as PyTorch's uint8 cast
        Assert.Equal(new[] { true, false, true, true }, i.ToArray<bool>());

        var b = Tensor.FromArray(new[] { true, false });
        Assert.Equal(new[] { 1f, 0f }, b.ToArray<float>());
        Assert.Equal(new long[] { 1, 0 }, b.ToArray<long>());
    }

    [Fact]
    public void ToArray_OfANonContiguousView_IsRowMajorInTheViewsOrder()
    {
        var t = Tensor.FromArray(new[] { 1, 2, 3, 4, 5, 6 }, 2, 3).Transpose(0, 1);
        Assert.Equal(new[] { 1, 4, 2, 5, 3, 6 }, t.ToArray<int>());
        Assert.Equal(new[] { 1.0, 4, 2, 5, 3, 6 }, t.ToArray<double>());
    }

    [Fact]
    public void Item_ConvertsFromAnyDType()
    {
        Assert.Equal(3.0, Tensor.Scalar(3, DType.Int64).Item<double>());
        Assert.Equal(2, Tensor.FromArray(new[] { 2.9f }).Item<int>());
        Assert.Equal(1L, Tensor.FromArray(new[] { true }).Item<long>());
        Assert.True(Tensor.FromArray(new[] { 0.1 }).Item<bool>());
        Assert.Equal((byte)7, Tensor.FromArray(new[] { 7L }, 1, 1).Item<byte>());
        Assert.Equal(5f, Tensor.Arange(10)[5].Item<float>());
    }

    [Fact]
    public void Item_OnAMultiElementTensor_Throws()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Tensor.Zeros(2, 2).Item<float>());
        Assert.Contains("4", ex.Message);
        Assert.Throws<InvalidOperationException>(() => Tensor.Zeros(0).Item<float>());
    }

    [Fact]
    public void Randn_WithTheSameGenerator_IsReproducible_AndStatisticsAreSane()
    {
        const int n = 200_000;
        var a = Tensor.Randn([n], DType.Float32, new Generator(7)).ToArray<float>();
        var b = Tensor.Randn([n], DType.Float32, new Generator(7)).ToArray<float>();
        Assert.Equal(a, b);
        var c = Tensor.Randn([n], DType.Float32, new Generator(8)).ToArray<float>();
        Assert.NotEqual(a, c);

        double mean = a.Average(v => (double)v);
        double variance = a.Sum(v => (v - mean) * (v - mean)) / (n - 1);
        // Bounds are 5 standard errors: SE(mean) = 1/sqrt(n), SE(var) = sqrt(2/n).
        Assert.InRange(mean, -5 / Math.Sqrt(n), 5 / Math.Sqrt(n));
        Assert.InRange(variance, 1 - 5 * Math.Sqrt(2.0 / n), 1 + 5 * Math.Sqrt(2.0 / n));
        Assert.All(a, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Rand_IsInTheUnitInterval_WithUniformMoments()
    {
        const int n = 200_000;
        var a = Tensor.Rand([n], DType.Float64, new Generator(11)).ToArray<double>();
        Assert.All(a, v => Assert.InRange(v, 0.0, Math.BitDecrement(1.0)));
        double mean = a.Average();
        double variance = a.Sum(v => (v - mean) * (v - mean)) / (n - 1);
        double sd = Math.Sqrt(1.0 / 12);
        Assert.InRange(mean, 0.5 - 5 * sd / Math.Sqrt(n), 0.5 + 5 * sd / Math.Sqrt(n));
        // Var of U(0,1) samples has standard error sqrt(1/180 / n).
        Assert.InRange(variance, 1.0 / 12 - 5 * Math.Sqrt(1.0 / 180 / n), 1.0 / 12 + 5 * Math.Sqrt(1.0 / 180 / n));
    }

    [Fact]
    public void RandomCreation_RejectsIntegerDTypes()
    {
        Assert.Throws<ArgumentException>(() => Tensor.Randn([2], DType.Int64));
        Assert.Throws<ArgumentException>(() => Tensor.Rand([2], DType.Bool));
    }
}

/// <summary>Tests of the process-wide default generator; they run alone so no other test draws from it meanwhile.</summary>
[Collection("Memory")]
public class DefaultRngCreationTests
{
    [Fact]
    public void ManualSeed_MakesRandnAndRandReproducible()
    {
        Rng.ManualSeed(1234);
        var a = Tensor.Randn(3, 5).ToArray<float>();
        var u = Tensor.Rand(100).ToArray<float>();
        Rng.ManualSeed(1234);
        var b = Tensor.Randn(3, 5).ToArray<float>();
        var v = Tensor.Rand(100).ToArray<float>();
        Assert.Equal(a, b);
        Assert.Equal(u, v);
        var c = Tensor.Randn(3, 5).ToArray<float>();
        Assert.NotEqual(a, c);
        Rng.ManualSeed(1235);
        Assert.NotEqual(a, Tensor.Randn(3, 5).ToArray<float>());
    }
}
