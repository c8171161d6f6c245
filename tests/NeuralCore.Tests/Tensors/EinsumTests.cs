using NeuralCore.Testing;
using static NeuralCore.Tests.PyTorchReferences;

namespace NeuralCore.Tests.Tensors;

/// <summary>Einsum against PyTorch's torch.einsum (values and gradients), by hand, and on malformed equations.</summary>
public sealed class EinsumTests
{
    public static TheoryData<string> Equations()
    {
        var data = new TheoryData<string>();
        foreach (var c in Cases("einsum")) data.Add(c.GetProperty("equation").GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(Equations))]
    public void MatchesPyTorch_ValuesAndGradients(string equation)
    {
        var c = Cases("einsum").First(e => e.GetProperty("equation").GetString() == equation);
        var inputs = c.GetProperty("inputs").EnumerateArray().Select(e => Tensor(e).RequiresGrad_()).ToArray();
        var y = NeuralCore.Tensor.Einsum(equation, inputs);
        AssertClose(Tensor(c, "y"), y, 1e-12, 1e-12, equation);
        (y * Tensor(c, "g")).Sum().Backward();
        var grads = c.GetProperty("grads").EnumerateArray().Select(e => Tensor(e)).ToArray();
        for (int i = 0; i < inputs.Length; i++) AssertClose(grads[i], inputs[i].Grad!, 1e-12, 1e-12, $"{equation} gradient {i}");
    }

    [Fact]
    public void HandComputedCases()
    {
        var a = NeuralCore.Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2);
        Assert.Equal(5f, NeuralCore.Tensor.Einsum("ii", a).Item<float>());
        Assert.Equal([1f, 4f], NeuralCore.Tensor.Einsum("ii->i", a).ToArray<float>());
        Assert.Equal([1f, 3f, 2f, 4f], NeuralCore.Tensor.Einsum(" i j -> j i ", a).ToArray<float>());
        Assert.Equal([7f, 10f, 15f, 22f], NeuralCore.Tensor.Einsum("ij,jk", a, a).ToArray<float>());
        Assert.Equal(30f, NeuralCore.Tensor.Einsum("ij,ij->", a, a).Item<float>());
        // Implicit output is alphabetical: "ba" is the transpose of "ab".
        Assert.Equal([1f, 3f, 2f, 4f], NeuralCore.Tensor.Einsum("ba", a).ToArray<float>());
    }

    [Fact]
    public void GradChecks()
    {
        var x = NeuralCore.Tensor.Randn([2, 3, 4], DType.Float64);
        var y = NeuralCore.Tensor.Randn([2, 4, 3], DType.Float64);
        GradCheck.Assert(t => NeuralCore.Tensor.Einsum("bij,bjk->bik", t), [x, y]);
        GradCheck.Assert(t => NeuralCore.Tensor.Einsum("bij,bji->b", t), [x, y]);
        GradCheck.Assert(t => NeuralCore.Tensor.Einsum("ii->i", t), [NeuralCore.Tensor.Randn([3, 3], DType.Float64)]);
    }

    [Fact]
    public void RejectsMalformedEquations()
    {
        var a = NeuralCore.Tensor.Zeros(2, 3);
        var b = NeuralCore.Tensor.Zeros(4, 5);
        Assert.Contains("label 'j'", Assert.Throws<ArgumentException>(() => NeuralCore.Tensor.Einsum("ij,jk->ik", a, b)).Message);
        Assert.Contains("2 operand", Assert.Throws<ArgumentException>(() => NeuralCore.Tensor.Einsum("ij,jk->ik", a)).Message);
        Assert.Contains("shape [2, 3]", Assert.Throws<ArgumentException>(() => NeuralCore.Tensor.Einsum("ijk->i", a)).Message);
        Assert.Contains("appears in no operand", Assert.Throws<ArgumentException>(() => NeuralCore.Tensor.Einsum("ij->k", a)).Message);
        Assert.Contains("more than once", Assert.Throws<ArgumentException>(() => NeuralCore.Tensor.Einsum("ij->ii", a)).Message);
        Assert.Contains("ellipsis", Assert.Throws<ArgumentException>(() => NeuralCore.Tensor.Einsum("...ij->...ji", a)).Message);
        Assert.Contains("not a label", Assert.Throws<ArgumentException>(() => NeuralCore.Tensor.Einsum("i1->i", NeuralCore.Tensor.Zeros(2, 2))).Message);
        Assert.Throws<ArgumentException>(() => NeuralCore.Tensor.Einsum("ii->i", a));
    }
}
