using NeuralCore.Testing;

namespace NeuralCore.Tests.OpSpecs;

/// <summary>GradCheck itself: it must reject wrong gradients and accept right ones, in every input position and shape.</summary>
public sealed class GradCheckSelfTests
{
    static Tensor Vec(params double[] values) => Tensor.FromArray(values);

    [Fact]
    public void DetectsAGradientThatIsHalfTheTrueOne()
    {
        // x.Detach() * x has the value x² but backpropagates only through the second factor: gradient x, not 2x.
        var result = GradCheck.Check(x => x[0].Detach() * x[0], [Vec(0.5, -1.25, 2)]);

        Assert.False(result.Passed);
        Assert.Contains("input 0", result.Message);
        Assert.Throws<GradCheckException>(() => GradCheck.Assert(x => x[0].Detach() * x[0], [Vec(0.5, -1.25, 2)]));
    }

    [Fact]
    public void DetectsAMissingGradientInTheSecondInput()
    {
        var result = GradCheck.Check(x => x[0] * x[1].Detach(), [Vec(1, 2), Vec(3, -4)]);

        Assert.False(result.Passed);
        Assert.Contains("input 1", result.Message);
    }

    [Fact]
    public void DetectsAWrongGradientOnAFloat32Input()
    {
        var x = Tensor.FromArray(new float[] { 0.3f, 0.7f, -1.1f });

        var result = GradCheck.Check(t => t[0].Exp().Detach() * t[0], [x]);

        Assert.False(result.Passed);
    }

    [Fact]
    public void PassesCorrectGradients()
    {
        GradCheck.Assert(x => x[0] * x[0], [Vec(0.5, -1.25, 2)]);
        GradCheck.Assert(x => (x[0].Exp() * x[1]).Sum(), [Vec(0.1, 0.2, 0.3), Vec(1, -1, 2)]);
        GradCheck.Assert(x => x[0].MatMul(x[1]).Tanh(), [Tensor.Randn([2, 3], DType.Float64, new Generator(1)), Tensor.Randn([3, 2], DType.Float64, new Generator(2))]);
    }

    [Fact]
    public void HandlesZeroDimensionalInputsAndOutputs()
    {
        GradCheck.Assert(x => x[0] * x[1].Sum(), [Tensor.Scalar(1.5, DType.Float64), Vec(1, 2, 3)]);
        Assert.False(GradCheck.Check(x => x[0].Detach() * x[0], [Tensor.Scalar(1.5, DType.Float64)]).Passed);
    }

    [Fact]
    public void EmptyInputsPassTrivially()
    {
        var result = GradCheck.Check(x => x[0].Exp(), [Tensor.Zeros([0, 3], DType.Float64)]);

        Assert.True(result.Passed, result.Message);
    }

    [Fact]
    public void AnOutputIndependentOfAnInputHasAZeroGradient()
    {
        GradCheck.Assert(x => x[0] * 2, [Vec(1, 2), Vec(5, 6, 7)]);
        GradCheck.Assert(x => Tensor.Ones([2], DType.Float64), [Vec(1, 2)]);
    }

    [Fact]
    public void PassesIntegerInputsThroughUnchecked()
    {
        var index = Tensor.FromArray(new long[] { 2, 0, 2 });

        GradCheck.Assert(x => x[0].IndexSelect(0, x[1]), [Vec(1, 2, 3), index]);
        Assert.False(GradCheck.Check(x => x[0].Detach().IndexSelect(0, x[1]) * x[0].Sum(), [Vec(1, 2, 3), index]).Passed);
    }

    [Fact]
    public void LeavesTheCallersInputsUntouched()
    {
        var x = Vec(0.5, 1.5);

        GradCheck.Assert(t => t[0].Square(), [x]);

        Assert.Equal(new[] { 0.5, 1.5 }, x.ToArray<double>());
        Assert.False(x.RequiresGrad);
        Assert.Null(x.Grad);
    }

    [Fact]
    public void RejectsANonFloatingOutput()
    {
        var result = GradCheck.Check(x => x[0].Gt(0), [Vec(1, -1)]);

        Assert.False(result.Passed);
        Assert.Contains("Bool", result.Message);
    }
}
