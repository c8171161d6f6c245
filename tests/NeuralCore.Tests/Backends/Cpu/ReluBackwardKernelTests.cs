using NeuralCore.Backends;
using NeuralCore.Tests.Tensors;

namespace NeuralCore.Tests.Backends.Cpu;

/// <summary>
/// The fused <see cref="BinaryOp.ReluBackward"/> primitive (g where x &gt; 0, else +0) against a plain loop,
/// compared bit for bit: every length around the vector widths, special values, strided and broadcast
/// operands, Float64 and integers.
/// </summary>
public class ReluBackwardKernelTests
{
    static readonly float[] Specials = [0f, -0f, 1f, -1f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, -float.Epsilon, 3.5f];

    static float Reference(float g, float x) => x > 0 ? g : 0f;

    static double Reference(double g, double x) => x > 0 ? g : 0d;

    static void BitEqual(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"element {i}: expected {expected[i]} ({BitConverter.SingleToInt32Bits(expected[i]):X8}), got {actual[i]} ({BitConverter.SingleToInt32Bits(actual[i]):X8})");
    }

    static float[] Values(int n, int seed)
    {
        var rng = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = rng.Next(4) == 0 ? Specials[rng.Next(Specials.Length)] : (float)(rng.NextDouble() * 4 - 2);
        return v;
    }

    public static TheoryData<int> Lengths()
    {
        var d = new TheoryData<int>();
        for (int n = 0; n <= 70; n++) d.Add(n);
        foreach (int n in new[] { 127, 128, 129, 1000, 16385, 70_001, 300_000 }) d.Add(n);
        return d;
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Float32_DenseMatchesScalarDefinition(int n)
    {
        var g = Values(n, n);
        var x = Values(n, n + 7919);
        var r = Tensor.ReluBackward(Tensor.FromArray(g, n), Tensor.FromArray(x, n));
        Assert.Equal(DType.Float32, r.DType);
        BitEqual(g.Select((gi, i) => Reference(gi, x[i])).ToArray(), r.F());
    }

    [Fact]
    public void SpecialValues_SelectInsteadOfMultiply()
    {
        // NaN and infinite gradients where x ≤ 0 give +0 (a product would give NaN); -0 and NaN in x block the gradient.
        float[] g = [float.NaN, float.PositiveInfinity, -0f, 5f, -0f, 7f, float.NaN];
        float[] x = [-1f, 0f, 2f, -0f, 1f, float.NaN, 3f];
        var r = Tensor.ReluBackward(Tensor.FromArray(g, 7), Tensor.FromArray(x, 7)).F();
        BitEqual([0f, 0f, -0f, 0f, -0f, 0f, float.NaN], r);
    }

    [Fact]
    public void Float64_MatchesScalarDefinition()
    {
        int n = 1037;
        var g = Values(n, 1).Select(v => (double)v).ToArray();
        var x = Values(n, 2).Select(v => (double)v).ToArray();
        var r = Tensor.ReluBackward(Tensor.FromArray(g, n), Tensor.FromArray(x, n));
        Assert.Equal(DType.Float64, r.DType);
        var actual = r.D();
        for (int i = 0; i < n; i++)
            Assert.Equal(BitConverter.DoubleToInt64Bits(Reference(g[i], x[i])), BitConverter.DoubleToInt64Bits(actual[i]));
    }

    [Fact]
    public void Int32_MatchesScalarDefinition()
    {
        int[] g = [5, -3, 7, 9, 11, -13, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22];
        int[] x = [1, 0, -1, 2, -2, 3, 0, 1, 1, -5, 6, 0, 7, 8, -9, 10, 0];
        var r = Tensor.ReluBackward(Tensor.FromArray(g, g.Length), Tensor.FromArray(x, x.Length)).ToArray<int>();
        Assert.Equal(g.Select((gi, i) => x[i] > 0 ? gi : 0).ToArray(), r);
    }

    [Fact]
    public void StridedOperands_MatchScalarDefinition()
    {
        // g is a transposed view, x a narrowed (offset) view with a step of 2 through a permutation.
        var gBase = Tensor.FromArray(Values(37 * 41, 3), 41, 37);
        var g = gBase.T;                                           // [37, 41], strides (1, 37)
        var xBase = Tensor.FromArray(Values(2 * 37 * 41 + 5, 4), 2 * 37 * 41 + 5);
        var x = xBase.Narrow(0, 5, 2 * 37 * 41).Reshape(37, 41, 2).Select(2, 1); // [37, 41], strides (82, 2), offset 6
        Assert.False(g.IsContiguous);
        Assert.False(x.IsContiguous);
        var gd = g.Contiguous().F();
        var xd = x.Contiguous().F();
        BitEqual(gd.Select((gi, i) => Reference(gi, xd[i])).ToArray(), Tensor.ReluBackward(g, x).F());
    }

    [Fact]
    public void BroadcastOperands_MatchScalarDefinition()
    {
        var g = Values(100 * 120, 5);
        var row = Values(120, 6);
        var gt = Tensor.FromArray(g, 100, 120);
        var rt = Tensor.FromArray(row, 120);

        // x broadcast along rows (a bias-like operand).
        var r1 = Tensor.ReluBackward(gt, rt).F();
        BitEqual(g.Select((gi, i) => Reference(gi, row[i % 120])).ToArray(), r1);

        // g broadcast: a 0-d gradient against a dense x (the scalar-span path).
        var r2 = Tensor.ReluBackward(Tensor.Scalar(2.5), Tensor.FromArray(g, 100, 120)).F();
        BitEqual(g.Select(xi => Reference(2.5f, xi)).ToArray(), r2);

        // x a single value, positive then not positive (the span-scalar path).
        BitEqual(g, Tensor.ReluBackward(gt, Tensor.Scalar(0.5)).F());
        BitEqual(new float[g.Length], Tensor.ReluBackward(gt, Tensor.Scalar(-0.0)).F());
    }

    [Fact]
    public void BoolOperands_AreRejected()
    {
        var b = Tensor.FromArray([true, false], 2);
        var e = Assert.Throws<ArgumentException>(() => Tensor.ReluBackward(b, b));
        Assert.Contains("Bool", e.Message);
    }

    [Fact]
    public void ReluGradient_UsesTheFusedRuleAndBlocksNaN()
    {
        var x = Tensor.FromArray([-1f, 0f, 2f, float.NaN, 3f], 5).RequiresGrad_();
        var y = x.Relu();
        y.Backward(Tensor.FromArray([10f, 20f, 30f, 40f, 50f], 5));
        BitEqual([0f, 0f, 30f, 0f, 50f], x.Grad!.F());
    }
}
