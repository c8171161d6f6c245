namespace NeuralCore.Tests.Tensors;

public class DTypeTests
{
    const DType B = DType.Bool, U8 = DType.UInt8, I32 = DType.Int32, I64 = DType.Int64, F32 = DType.Float32, F64 = DType.Float64;

    // torch.result_type for two dimensioned tensors.
    public static TheoryData<DType, DType, DType> PromotionTable => new()
    {
        { B, B, B }, { B, U8, U8 }, { B, I32, I32 }, { B, I64, I64 }, { B, F32, F32 }, { B, F64, F64 },
        { U8, U8, U8 }, { U8, I32, I32 }, { U8, I64, I64 }, { U8, F32, F32 }, { U8, F64, F64 },
        { I32, I32, I32 }, { I32, I64, I64 }, { I32, F32, F32 }, { I32, F64, F64 },
        { I64, I64, I64 }, { I64, F32, F32 }, { I64, F64, F64 },
        { F32, F32, F32 }, { F32, F64, F64 },
        { F64, F64, F64 },
    };

    [Theory]
    [MemberData(nameof(PromotionTable))]
    public void Promote_FollowsPyTorch_AndIsSymmetric(DType a, DType b, DType expected)
    {
        Assert.Equal(expected, DTypes.Promote(a, b));
        Assert.Equal(expected, DTypes.Promote(b, a));
    }

    [Theory]
    [MemberData(nameof(PromotionTable))]
    public void TensorTensorAddition_HasThePromotedDType(DType a, DType b, DType expected)
    {
        if (expected == DType.Bool) return; // Bool + Bool is rejected, tested separately.
        var x = Tensor.Ones([2], a);
        var y = Tensor.Ones([2], b);
        var r = x + y;
        Assert.Equal(expected, r.DType);
        Assert.Equal(new[] { 2.0, 2.0 }, r.ToArray<double>());
    }

    [Theory]
    [InlineData(DType.Float32, 2.5, DType.Float32)]
    [InlineData(DType.Float32, 2.0, DType.Float32)]
    [InlineData(DType.Float64, 2.5, DType.Float64)]
    [InlineData(DType.Int64, 2.0, DType.Int64)]
    [InlineData(DType.Int64, 2.5, DType.Float32)]
    [InlineData(DType.Int32, 3.0, DType.Int32)]
    [InlineData(DType.Int32, 0.5, DType.Float32)]
    [InlineData(DType.UInt8, 1.0, DType.UInt8)]
    [InlineData(DType.Bool, 1.0, DType.Int64)]
    [InlineData(DType.Bool, 1.5, DType.Float32)]
    public void ScalarPromotion_DoesNotWidenWithinACategory(DType tensor, double scalar, DType expected)
    {
        Assert.Equal(expected, DTypes.PromoteWithScalar(tensor, scalar));
        Assert.Equal(expected, (Tensor.Ones([3], tensor) + scalar).DType);
        Assert.Equal(expected, (scalar * Tensor.Ones([3], tensor)).DType);
        Assert.Equal(expected, (Tensor.Ones([3], tensor) - scalar).DType);
    }

    [Fact]
    public void Float32TensorTimesDoubleScalar_StaysFloat32_WithTheRightValues()
    {
        var r = Tensor.FromArray(new float[] { 1, 2 }) * 2.5;
        Assert.Equal(DType.Float32, r.DType);
        Assert.Equal(new[] { 2.5f, 5f }, r.ToArray<float>());
    }

    [Fact]
    public void Int64PlusIntegralScalar_StaysInt64_AndPlusFractionalBecomesFloat32()
    {
        var x = Tensor.FromArray(new long[] { 1, 2 });
        var a = x + 2;
        Assert.Equal(DType.Int64, a.DType);
        Assert.Equal(new long[] { 3, 4 }, a.ToArray<long>());
        var b = x + 2.5;
        Assert.Equal(DType.Float32, b.DType);
        Assert.Equal(new[] { 3.5f, 4.5f }, b.ToArray<float>());
    }

    [Theory]
    [InlineData("Add")]
    [InlineData("Sub")]
    [InlineData("Mul")]
    public void BoolBoolArithmetic_ThrowsAClearError(string op)
    {
        var a = Tensor.FromArray(new[] { true, false });
        var b = Tensor.FromArray(new[] { true, true });
        var ex = Assert.Throws<ArgumentException>(() => op switch
        {
            "Add" => a + b,
            "Sub" => a - b,
            _ => a * b,
        });
        Assert.Contains(op, ex.Message);
        Assert.Contains("Bool", ex.Message);
    }

    [Fact]
    public void BoolComparisons_AreAllowed()
    {
        var a = Tensor.FromArray(new[] { true, false });
        var b = Tensor.FromArray(new[] { true, true });
        var eq = a.Eq(b);
        Assert.Equal(DType.Bool, eq.DType);
        Assert.Equal(new[] { true, false }, eq.ToArray<bool>());
    }

    [Theory]
    [InlineData(DType.Bool)]
    [InlineData(DType.UInt8)]
    [InlineData(DType.Int32)]
    [InlineData(DType.Int64)]
    public void SumOfBoolOrIntegerTensor_IsInt64(DType dtype)
    {
        var t = Tensor.FromArray(new[] { true, false, true, true }).To(dtype);
        var s = t.Sum();
        Assert.Equal(DType.Int64, s.DType);
        Assert.Equal(3L, s.Item<long>());
        Assert.Equal(DType.Int64, t.Reshape(2, 2).Sum(0).DType);
    }

    [Fact]
    public void SumOfUInt8_DoesNotWrap()
    {
        var t = Tensor.Full([4], 200, DType.UInt8);
        Assert.Equal(800L, t.Sum().Item<long>());
    }

    [Fact]
    public void IntegerDivision_IsTrueDivisionInFloat32()
    {
        var a = Tensor.FromArray(new long[] { 7, -7, 1 });
        var b = Tensor.FromArray(new long[] { 2, 2, 3 });
        var r = a / b;
        Assert.Equal(DType.Float32, r.DType);
        Assert.Equal(new[] { 3.5f, -3.5f, 1f / 3f }, r.ToArray<float>());
        Assert.Equal(DType.Float32, (Tensor.FromArray(new[] { 1, 2 }) / 2).DType);
        Assert.Equal(DType.Float32, (1 / Tensor.FromArray(new[] { 1, 2 })).DType);
    }

    [Fact]
    public void FloatOnlyOps_OnIntegers_ComputeInFloat32_AndMeanToo()
    {
        var t = Tensor.FromArray(new long[] { 0, 1, 2 });
        Assert.Equal(DType.Float32, t.Exp().DType);
        Assert.Equal(DType.Float32, t.Mean().DType);
        Assert.Equal(1f, t.Mean().Item<float>());
        // Sign-preserving ops keep the integer type.
        Assert.Equal(DType.Int64, t.Neg().DType);
        Assert.Equal(DType.Int64, t.Abs().DType);
    }

    [Fact]
    public void Comparisons_ProduceBool()
    {
        var t = Tensor.FromArray(new[] { 1f, 2f, 3f });
        Assert.Equal(DType.Bool, t.Gt(1.5).DType);
        Assert.Equal(new[] { false, true, true }, t.Gt(1.5).ToArray<bool>());
        Assert.Equal(new[] { true, false, false }, t.Lt(Tensor.FromArray(new long[] { 2, 2, 2 })).ToArray<bool>());
    }

    [Fact]
    public void DTypeFacts()
    {
        Assert.Equal(1, DType.Bool.SizeOf());
        Assert.Equal(1, DType.UInt8.SizeOf());
        Assert.Equal(4, DType.Int32.SizeOf());
        Assert.Equal(8, DType.Int64.SizeOf());
        Assert.Equal(4, DType.Float32.SizeOf());
        Assert.Equal(8, DType.Float64.SizeOf());
        Assert.True(DType.Float64.IsFloatingPoint());
        Assert.False(DType.Int64.IsFloatingPoint());
        Assert.True(DType.UInt8.IsInteger());
        Assert.False(DType.Bool.IsInteger());
        Assert.Equal(DType.Float32, DTypes.Of<float>());
        Assert.Equal(DType.Float64, DTypes.Of<double>());
        Assert.Equal(DType.Int32, DTypes.Of<int>());
        Assert.Equal(DType.Int64, DTypes.Of<long>());
        Assert.Equal(DType.UInt8, DTypes.Of<byte>());
        Assert.Equal(DType.Bool, DTypes.Of<bool>());
        Assert.Throws<NotSupportedException>(() => DTypes.Of<short>());
        Assert.Equal(DType.Float32, DType.Int64.ToFloating());
        Assert.Equal(DType.Float64, DType.Float64.ToFloating());
    }

    // PyTorch's result_type treats 0-d tensors like Python numbers: they decide the dtype only when they are
    // of a higher category than the dimensioned operand (torch.result_type docs, "zero-dim tensors").
    [Theory]
    [InlineData(DType.Float32, DType.Float64, DType.Float32)]
    [InlineData(DType.Int32, DType.Int64, DType.Int32)]
    [InlineData(DType.UInt8, DType.Int64, DType.UInt8)]
    [InlineData(DType.Int64, DType.Float64, DType.Float64)]
    [InlineData(DType.Bool, DType.Int32, DType.Int32)]
    public void ZeroDimOperand_WidensOnlyAcrossCategories(DType dimensioned, DType zeroDim, DType expected)
    {
        var a = Tensor.Ones([3], dimensioned);
        var b = Tensor.Ones([], zeroDim);
        Assert.Equal(expected, (a * b).DType);
        Assert.Equal(expected, (b * a).DType);
        Assert.Equal(expected, Tensor.Where(Tensor.Ones([3], DType.Bool), a, b).DType);
        var both0d = Tensor.Ones([], dimensioned) * b;
        Assert.Equal(DTypes.Promote(dimensioned, zeroDim), both0d.DType);
    }

    [Fact]
    public void IntegerTensor_ComparedWithOutOfRangeScalar_IsCorrect()
    {
        var u8 = Tensor.FromArray(new byte[] { 0, 5, 255 });
        Assert.Equal(new[] { false, false, false }, u8.Le(-1).ToArray<bool>());
        Assert.Equal(new[] { true, true, true }, u8.Lt(256).ToArray<bool>());
        var i32 = Tensor.FromArray(new[] { int.MaxValue });
        Assert.Equal(new[] { true }, i32.Lt(1L << 40).ToArray<bool>());
    }
}
