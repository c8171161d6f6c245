using NeuralCore.Backends.Cpu;
using NeuralCore.Tests.Tensors;

namespace NeuralCore.Tests.Backends.Cpu;

/// <summary>
/// The elementwise drivers' paths: dense and broadcast-scalar fast paths, tensors large enough to be split
/// across threads (dense blocks and strided rows), in-place updates, and results that are bit-identical for
/// one and two threads.
/// </summary>
public class ElementwiseDriverTests
{
    static float[] Values(int n, int seed)
    {
        var rng = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(rng.NextDouble() * 6 - 3);
        return v;
    }

    static void BitEqual(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"element {i} of {expected.Length}: expected {expected[i]}, got {actual[i]}");
    }

    // Sizes below, at and above the parallel threshold and the dense block, plus one past the streaming size.
    [Theory]
    [InlineData(1)]
    [InlineData(65_535)]
    [InlineData(65_536)]
    [InlineData(300_007)]
    [InlineData(4_194_305)]
    public void DenseAddMulRelu_MatchScalarDefinition(int n)
    {
        var x = Values(n, 1);
        var y = Values(n, 2);
        Tensor tx = Tensor.FromArray(x, n), ty = Tensor.FromArray(y, n);
        BitEqual(x.Select((v, i) => v + y[i]).ToArray(), (tx + ty).F());
        BitEqual(x.Select((v, i) => v * y[i]).ToArray(), (tx * ty).F());
        BitEqual(x.Select(v => v > 0 ? v : 0f).ToArray(), tx.Relu().F());
        BitEqual(x.Select(v => v - 0.5f).ToArray(), (tx - 0.5).F());
        BitEqual(x.Select(v => 2f / v).ToArray(), (2.0 / tx).F());
    }

    [Fact]
    public void LargeBroadcastAndStridedOperands_SplitByRows()
    {
        int n = 200, c = 6, hw = 28 * 28;
        var img = Values(n * c * hw, 3);
        var ch = Values(c, 4);
        var timg = Tensor.FromArray(img, n, c, 28, 28);
        var sum = (timg + Tensor.FromArray(ch, 1, c, 1, 1)).F();
        BitEqual(img.Select((v, i) => v + ch[i / hw % c]).ToArray(), sum);

        // A transposed operand: every row has inner stride c·hw, so the scalar strided loop runs, in parallel rows.
        var flat = timg.Reshape(n, c * hw);
        var t = flat.T;                                   // [c·hw, n]
        var other = Tensor.FromArray(Values(c * hw * n, 5), c * hw, n);
        var od = other.F();
        var expected = new float[c * hw * n];
        for (int i = 0; i < c * hw; i++)
            for (int j = 0; j < n; j++)
                expected[i * n + j] = img[j * c * hw + i] * od[i * n + j];
        BitEqual(expected, (t * other).F());
    }

    [Fact]
    public void LargeInPlaceUpdate_MatchesOutOfPlace()
    {
        int n = 500_003;
        var a = Tensor.FromArray(Values(n, 6), n);
        var b = Tensor.FromArray(Values(n, 7), n);
        var expected = (a * b).F();
        a.Mul_(b);
        BitEqual(expected, a.F());
    }

    [Fact]
    public void Results_DoNotDependOnThreadCount()
    {
        int n = 5_000_011; // over the streaming size, so the dense blocks are the large ones
        var x = Tensor.FromArray(Values(n, 8), n);
        var y = Tensor.FromArray(Values(n, 9), n);
        int saved = CpuParallel.MaxDegreeOfParallelism;
        float[] one, two;
        try
        {
            CpuParallel.MaxDegreeOfParallelism = 1;
            one = (x.Exp() + x.Tanh() * y).F();
            CpuParallel.MaxDegreeOfParallelism = 2;
            two = (x.Exp() + x.Tanh() * y).F();
        }
        finally
        {
            CpuParallel.MaxDegreeOfParallelism = saved;
        }
        BitEqual(one, two);
    }

    [Theory]
    [InlineData(7)]
    [InlineData(300_007)]
    public void Where_DenseScalarAndBroadcastBranches(int n)
    {
        var x = Values(n, 10);
        var y = Values(n, 11);
        Tensor tx = Tensor.FromArray(x, n), ty = Tensor.FromArray(y, n);
        var cond = tx.Gt(ty);
        BitEqual(x.Select((v, i) => v > y[i] ? v : y[i]).ToArray(), Tensor.Where(cond, tx, ty).F());
        BitEqual(x.Select((v, i) => v > y[i] ? v : -1f).ToArray(), Tensor.Where(cond, tx, -1.0).F());

        // Rows: a [rows, 7] condition against a broadcast [7] branch and a transposed one.
        int rows = n / 7;
        var grid = Tensor.FromArray(x, n).Narrow(0, 0, rows * 7).Reshape(rows, 7);
        var row = Tensor.FromArray(y, n).Narrow(0, 0, 7);
        var other = Tensor.FromArray(y, n).Narrow(0, 0, rows * 7).Reshape(7, rows).T;
        var g = grid.F();
        var o = other.Contiguous().F();
        var mask = grid.Gt(0);
        BitEqual(g.Select((v, i) => v > 0 ? y[i % 7] : o[i]).ToArray(), Tensor.Where(mask, row, other).F());
    }
}
