using NeuralCore.Backends;

namespace NeuralCore.Gpu.Tests;

/// <summary>
/// Reductions of long rows split across thread groups (two passes) agree with the CPU backend for every op and
/// dtype, including first-index ties and NaN across chunk boundaries. The chunk length is lowered so that rows of
/// a hundred elements take the split path.
/// </summary>
public sealed class SplitReductionTests
{
    // (shape, reduced rank, transpose the last two dimensions first, NaN positions for floating dtypes)
    static readonly (int[] Shape, int ReducedRank, bool Transposed, int[] NaNs)[] Layouts =
    [
        ([150], 1, false, [97, 140]),
        ([3, 70], 1, false, [75, 139]),
        ([70, 3], 1, true, [5]),
        ([5, 30], 2, false, [149]),
    ];

    public static TheoryData<DType> DTypes => new(Enum.GetValues<DType>());

    [Theory]
    [MemberData(nameof(DTypes))]
    public void SplitRowsMatchTheCpu(DType dtype)
    {
        var backend = Simulator.Backend;
        int saved = backend.ReduceChunkLength;
        backend.ReduceChunkLength = 8;
        try
        {
            long splitBefore = backend.SplitReductions;
            int expectedSplits = 0;
            foreach (var (shape, reducedRank, transposed, nans) in Layouts)
                foreach (var op in Enum.GetValues<ReduceOp>())
                {
                    var x = Values(shape, dtype, nans);
                    if (transposed) x = x.Transpose(-1, -2);
                    var outShape = x.Shape.ToArray()[..(x.Dim - reducedRank)].Select(d => (int)d).ToArray();
                    var outType = op is ReduceOp.ArgMax or ReduceOp.ArgMin ? DType.Int64 : dtype;
                    var expected = Tensor.Empty(outShape, outType, Device.Cpu);
                    var actual = Tensor.Empty(outShape, outType, Simulator.Device);
                    var xd = x.To(Simulator.Device);
                    if (transposed) xd = xd.Contiguous().Transpose(-1, -2).Contiguous().Transpose(-1, -2);
                    string what = $"{op} of {dtype} {string.Join("x", x.Shape.ToArray())} over {reducedRank} dims";
                    ArgumentException? cpuError = null;
                    try
                    {
                        expected.Backend.Reduce(op, x.Buf, reducedRank, expected.Buf);
                    }
                    catch (ArgumentException e)
                    {
                        cpuError = e;
                    }
                    if (cpuError is not null)
                    {
                        Assert.Throws<ArgumentException>(() => backend.Reduce(op, xd.Buf, reducedRank, actual.Buf));
                        continue;
                    }
                    backend.Reduce(op, xd.Buf, reducedRank, actual.Buf);
                    expectedSplits++;
                    var e1 = expected.To(DType.Float64).ToArray<double>();
                    var a1 = actual.To(Device.Cpu).To(DType.Float64).ToArray<double>();
                    Assert.Equal(e1.Length, a1.Length);
                    for (int i = 0; i < e1.Length; i++)
                    {
                        bool close = double.IsNaN(e1[i]) ? double.IsNaN(a1[i]) : Math.Abs(e1[i] - a1[i]) <= 1e-5 * (1 + Math.Abs(e1[i]));
                        Assert.True(close, $"{what}, element {i}: CPU {e1[i]}, simulator {a1[i]}");
                    }
                }
            Assert.Equal(expectedSplits, backend.SplitReductions - splitBefore);
        }
        finally
        {
            backend.ReduceChunkLength = saved;
        }
    }

    [Fact]
    public void ShortRowsAndManyRowsAreNotSplit()
    {
        var backend = Simulator.Backend;
        int saved = backend.ReduceChunkLength;
        backend.ReduceChunkLength = 8;
        try
        {
            long before = backend.SplitReductions;
            var many = Tensor.Ones([backend.ReduceTargetGroups, 100]).To(Simulator.Device).Sum(1);
            var shortRow = Tensor.Ones([40]).To(Simulator.Device).Sum();
            Assert.Equal(before, backend.SplitReductions);
            Assert.All(many.ToArray<float>(), v => Assert.Equal(100f, v));
            Assert.Equal(40f, shortRow.Item<float>());
        }
        finally
        {
            backend.ReduceChunkLength = saved;
        }
    }

    // Small integers with many ties (so first-index rules matter across chunks); NaN at the given flat positions
    // for floating dtypes; 0..4 for unsigned bytes; Bool from the integers' sign.
    static Tensor Values(int[] shape, DType dtype, int[] nans)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        var random = new Random(17);
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = random.Next(-2, 3);
        if (dtype == DType.UInt8) for (int i = 0; i < n; i++) v[i] += 2;
        if (dtype.IsFloatingPoint())
        {
            for (int i = 0; i < n; i++) v[i] *= 0.5;
            foreach (int i in nans) v[i] = double.NaN;
        }
        if (dtype == DType.Bool) for (int i = 0; i < n; i++) v[i] = v[i] > 0 ? 1 : 0;
        return Tensor.FromArray(v, shape.Select(d => (long)d).ToArray()).To(dtype);
    }
}
