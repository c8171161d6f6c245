namespace NeuralCore.Tests.Tensors;

/// <summary>Expected strings are what PyTorch 2.x prints for the same tensors (torch/_tensor_str.py).</summary>
public class TensorFormatTests
{
    [Fact]
    public void IntegralFloats_PrintWithATrailingDot()
    {
        Assert.Equal("tensor([1., 2., 3.])", Tensor.FromArray(new float[] { 1, 2, 3 }).ToString());
        Assert.Equal("tensor([-1.,  0., 10.])", Tensor.FromArray(new float[] { -1, 0, 10 }).ToString());
        Assert.Equal("tensor([0., 0.])", Tensor.Zeros(2).ToString());
    }

    [Fact]
    public void Fractions_PrintWithFourDecimals_RowsAligned()
    {
        var t = Tensor.FromArray(new float[] { 0.12345f, 1.5f, 2f, -3f }, 2, 2);
        Assert.Equal("tensor([[ 0.1235,  1.5000],\n        [ 2.0000, -3.0000]])", t.ToString());
    }

    [Fact]
    public void ThreeDimensionalTensors_SeparateBlocksWithABlankLine()
    {
        var t = Tensor.Arange(8).Reshape(2, 2, 2);
        Assert.Equal("tensor([[[0, 1],\n         [2, 3]],\n\n        [[4, 5],\n         [6, 7]]])", t.ToString());
    }

    [Fact]
    public void Integers_PrintWithoutDecimals_PaddedToTheWidest()
    {
        Assert.Equal("tensor([1, 2])", Tensor.FromArray(new long[] { 1, 2 }).ToString());
        Assert.Equal("tensor([  1, -20, 300])", Tensor.FromArray(new long[] { 1, -20, 300 }).ToString());
    }

    [Fact]
    public void NonDefaultDTypes_GetASuffix()
    {
        Assert.Equal("tensor([1., 2.], dtype=Float64)", Tensor.FromArray(new double[] { 1, 2 }).ToString());
        Assert.Equal("tensor([1, 2], dtype=Int32)", Tensor.FromArray(new[] { 1, 2 }).ToString());
        Assert.Equal("tensor([  0, 255], dtype=UInt8)", Tensor.FromArray(new byte[] { 0, 255 }).ToString());
        Assert.DoesNotContain("dtype", Tensor.Ones(2).ToString());
        Assert.DoesNotContain("dtype", Tensor.Arange(2).ToString());
    }

    [Fact]
    public void Bools_PrintTrueFalse()
    {
        Assert.Equal("tensor([ True, False,  True])", Tensor.FromArray(new[] { true, false, true }).ToString());
        Assert.Equal("tensor(True)", Tensor.Scalar(1, DType.Bool).ToString());
    }

    [Fact]
    public void ZeroDimensionalAndEmpty()
    {
        Assert.Equal("tensor(3.5000)", Tensor.Scalar(3.5).ToString());
        Assert.Equal("tensor(7)", Tensor.Scalar(7, DType.Int64).ToString());
        Assert.Equal("tensor([])", Tensor.Zeros(0).ToString());
        Assert.StartsWith("tensor([], size=", Tensor.Zeros(2, 0).ToString());
    }

    [Fact]
    public void GradInformation_IsShown()
    {
        var x = Tensor.FromArray(new float[] { 1, 2 }).RequiresGrad_();
        Assert.Equal("tensor([1., 2.], requires_grad=True)", x.ToString());
        Assert.Equal("tensor([2., 4.], grad_fn=<MulBackward>)", (x * 2).ToString());
        Assert.Equal("tensor(3., grad_fn=<SumBackward>)", x.Sum().ToString());
        using (Tensor.NoGrad()) Assert.Equal("tensor([2., 4.])", (x * 2).ToString());
    }

    [Fact]
    public void NanAndInfinity()
    {
        Assert.Equal("tensor([1., nan, inf])", Tensor.FromArray(new[] { 1f, float.NaN, float.PositiveInfinity }).ToString());
        Assert.Equal("tensor([1.5000,    nan,   -inf])", Tensor.FromArray(new[] { 1.5f, float.NaN, float.NegativeInfinity }).ToString());
        Assert.Equal("tensor([nan, nan])", Tensor.FromArray(new[] { float.NaN, float.NaN }).ToString());
    }

    [Fact]
    public void WideRanges_UseScientificNotation()
    {
        Assert.Equal("tensor([1.0000e-05, 1.0000e+00])", Tensor.FromArray(new[] { 1e-5f, 1f }).ToString());
        Assert.Equal("tensor([1.0000e+00, 1.0000e+09])", Tensor.FromArray(new[] { 1f, 1e9f }).ToString());
        // PyTorch switches when the largest non-zero magnitude exceeds 1000 times the smallest.
        Assert.Equal("tensor([1.0000e+00, 2.0000e+03])", Tensor.FromArray(new[] { 1f, 2000f }).ToString());
        Assert.Equal("tensor([1.0000e-03, 2.0000e+00])", Tensor.FromArray(new[] { 0.001f, 2f }).ToString());
        Assert.Equal("tensor([  1., 999.])", Tensor.FromArray(new[] { 1f, 999f }).ToString());
    }

    [Fact]
    public void LargeTensors_AreSummarized()
    {
        var v = Tensor.Arange(2000);
        Assert.Equal("tensor([   0,    1,    2,  ..., 1997, 1998, 1999])", v.ToString());

        var f = Tensor.Arange(0, 2000, 1, DType.Float32);
        Assert.Equal("tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03, 1.9990e+03])", f.ToString());

        var m = Tensor.Arange(1001).Narrow(0, 0, 1000).Reshape(100, 10);
        Assert.DoesNotContain("...", m.ToString()); // exactly 1000 elements: printed in full

        var big = Tensor.Arange(4000).Reshape(400, 10);
        var s = big.ToString();
        Assert.StartsWith("tensor([[   0,    1,    2,  ...,    7,    8,    9],\n        [  10,", s);
        Assert.Contains("],\n        ...,\n        [3970,", s);
        Assert.EndsWith("[3990, 3991, 3992,  ..., 3997, 3998, 3999]])", s);
        Assert.True(s.Length < 600, $"summary is {s.Length} characters long");
    }

    [Fact]
    public void SummarizedWidth_IsComputedFromTheShownElementsOnly()
    {
        var data = new long[2000];
        data[1000] = 123456789; // hidden in the summary
        Assert.Equal("tensor([0, 0, 0,  ..., 0, 0, 0])", Tensor.FromArray(data).ToString());
    }

    [Fact]
    public void NonContiguousTensors_PrintInLogicalOrder()
    {
        var t = Tensor.Arange(6).Reshape(2, 3).Transpose(0, 1);
        Assert.Equal("tensor([[0, 3],\n        [1, 4],\n        [2, 5]])", t.ToString());
    }

    [Fact]
    public void DisposedTensors_SaySo()
    {
        var t = Tensor.Ones(2);
        t.Dispose();
        Assert.Equal("tensor(<disposed>)", t.ToString());
    }
}
