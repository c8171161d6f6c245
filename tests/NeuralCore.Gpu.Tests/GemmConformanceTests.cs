using NeuralCore.Backends;
using NeuralCore.Gpu.Kernels;

namespace NeuralCore.Gpu.Tests;

/// <summary>
/// The GEMM kernels against the CPU backend on the 256-thread simulator: every kernel (forced per test), every
/// transposition of A and B, edge sizes that are no multiple of any tile, batches with broadcast batch strides,
/// the reduction index and accumulation, Float32, Float64 and Int32; unsplit and with split-K forced (a split count
/// larger than a product's K tiles is capped, so short products in the same case run unsplit).
/// </summary>
public sealed class GemmConformanceTests
{
    static readonly (int M, int K, int N)[] Sizes = [(1, 1, 1), (3, 17, 5), (17, 3, 65), (65, 130, 33), (130, 9, 129)];

    public static TheoryData<string, DType, int> Configs => new()
    {
        { "Blocked8x8", DType.Float32, 1 },
        { "Blocked4x4", DType.Float32, 1 },
        { "Tiled", DType.Float32, 1 },
        { "Blocked8x8", DType.Float64, 1 },
        { "Blocked4x4", DType.Float64, 1 },
        { "Blocked8x8", DType.Float32, 3 },
        { "Blocked4x4", DType.Float64, 2 },
    };

    static double Tol(DType d) => d == DType.Float64 ? 1e-12 : 2e-5;

    // Kernels are named by string in the test data (the enum is internal; xUnit theories must be public).
    // splits: the split-K count forced (1: unsplit).
    internal static void With(string kernel, int splits, Action run, IlgpuBackend? backend = null)
    {
        var b = backend ?? Simulator.Wide;
        b.GemmOverride = kernel == "auto" ? null : Enum.Parse<GemmKernel>(kernel);
        b.SplitOverride = splits;
        try
        {
            run();
        }
        finally
        {
            b.GemmOverride = null;
            b.SplitOverride = null;
        }
    }

    // An [rows, cols] operand on both devices, stored transposed ([cols, rows] then viewed transposed) when asked.
    static (Tensor Cpu, Tensor Dev) Operand(int rows, int cols, bool transposed, DType dtype, int seed)
    {
        var g = new Generator(seed);
        var stored = Tensor.Randn(transposed ? [cols, rows] : [rows, cols], dtype, g);
        var dev = stored.To(Simulator.Wide.Device);
        return transposed ? (stored.Transpose(0, 1), dev.Transpose(0, 1)) : (stored, dev);
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void MatMulMatchesCpuForEveryTranspositionAndEdgeSize(string kernel, DType dtype, int splits) => With(kernel, splits, () =>
    {
        int seed = 1;
        foreach (var (m, k, n) in Sizes)
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                {
                    var (a, ad) = Operand(m, k, ta, dtype, seed++);
                    var (b, bd) = Operand(k, n, tb, dtype, seed++);
                    if (ta && m > 1 && k > 1) Assert.False(ad.IsContiguous); // read in place, through its strides
                    Simulator.Close(a.MatMul(b), ad.MatMul(bd), Tol(dtype));
                }
    });

    [Theory]
    [MemberData(nameof(Configs))]
    public void BatchedMatMulWithBroadcastAndTransposedBatches(string kernel, DType dtype, int splits) => With(kernel, splits, () =>
    {
        var dev = Simulator.Wide.Device;
        var g = new Generator(7);
        // A batched, B shared by every batch (batch stride 0).
        var a = Tensor.Randn([3, 33, 70], dtype, g);
        var b = Tensor.Randn([70, 66], dtype, g);
        Simulator.Close(a.MatMul(b), a.To(dev).MatMul(b.To(dev)), Tol(dtype));
        // A broadcast over B's batches, B's batches transposed views.
        var a1 = Tensor.Randn([1, 65, 20], dtype, g);
        var bt = Tensor.Randn([4, 67, 20], dtype, g);
        Simulator.Close(a1.MatMul(bt.Transpose(1, 2)), a1.To(dev).MatMul(bt.To(dev).Transpose(1, 2)), Tol(dtype));
        // Both transposed, batched.
        var at = Tensor.Randn([2, 9, 130], dtype, g);
        var b2 = Tensor.Randn([2, 129, 9], dtype, g);
        Simulator.Close(at.Transpose(1, 2).MatMul(b2.Transpose(1, 2)), at.To(dev).Transpose(1, 2).MatMul(b2.To(dev).Transpose(1, 2)), Tol(dtype));
    });

    [Theory]
    [InlineData("Blocked8x8", 1)]
    [InlineData("Blocked4x4", 1)]
    [InlineData("Blocked4x4", 2)]
    public void IntegerMatMulIsExact(string kernel, int splits) => With(kernel, splits, () =>
    {
        var rng = new Random(3);
        var av = Enumerable.Range(0, 70 * 19).Select(_ => rng.Next(-50, 50)).ToArray();
        var bv = Enumerable.Range(0, 19 * 66).Select(_ => rng.Next(-50, 50)).ToArray();
        var a = Tensor.FromArray(av, 70, 19);
        var b = Tensor.FromArray(bv, 19, 66);
        var dev = Simulator.Wide.Device;
        Assert.Equal(a.MatMul(b).ToArray<int>(), a.To(dev).MatMul(b.To(dev)).ToArray<int>());
    });

    public static TheoryData<string, DType, bool, int> ReduceConfigs => new()
    {
        { "Blocked8x8", DType.Float32, false, 1 },
        { "Blocked8x8", DType.Float32, true, 1 },
        { "Blocked4x4", DType.Float32, true, 1 },
        { "Tiled", DType.Float32, true, 1 },
        { "Blocked8x8", DType.Float64, true, 1 },
        { "Blocked4x4", DType.Float64, false, 1 },
        { "Blocked8x8", DType.Float32, true, 2 }, // 6 K tiles (2 per reduction index) in 2 slices of 3: one ends inside a reduction index
        { "Blocked4x4", DType.Float64, false, 2 }, // 3 K tiles (1 per reduction index) in slices of 2 and 1
    };

    /// <summary>
    /// C[b] (+)= Σ_r A[b, r]·B[b, r] through the backend's GEMM entry with explicit strides: A row-major
    /// [batch, reduce, M, K]; B stored [batch, reduce, N, K] and read transposed; C [batch, M, N] inside a padded
    /// buffer at an offset (row pitch N + 3), checked against a host sum in double precision.
    /// </summary>
    /// <summary>
    /// C[b] (+)= Σ_r A[b, r]·B[b, r] through the backend's GEMM entry with explicit strides: A row-major
    /// [batch, reduce, M, K]; B stored [batch, reduce, N, K] and read transposed; C [batch, M, N] inside a padded
    /// buffer at an offset (row pitch N + 3), checked against a host sum in double precision.
    /// </summary>
    [Theory]
    [MemberData(nameof(ReduceConfigs))]
    public void ReductionIndexAndAccumulateMatchAHostSum(string kernel, DType dtype, bool accumulate, int splits) =>
        With(kernel, splits, () => CheckAgainstHostSum(Simulator.Wide, 2, 3, 67, 11, 70, dtype, accumulate));

    internal static void CheckAgainstHostSum(IlgpuBackend backend, int batch, int reduce, int m, int k, int n, DType dtype, bool accumulate)
    {
        int pitch = n + 3, cOffset = 5;
        var rng = new Random(11);
        double[] Rand(int count) => Enumerable.Range(0, count).Select(_ => Math.Round(rng.NextDouble() * 4 - 2, 3)).ToArray();
        var av = Rand(batch * reduce * m * k);
        var bv = Rand(batch * reduce * n * k);
        var cv = Rand(cOffset + batch * m * pitch);
        var expected = (double[])cv.Clone();
        for (int bi = 0; bi < batch; bi++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int r = 0; r < reduce; r++)
                        for (int q = 0; q < k; q++)
                            s += av[((bi * reduce + r) * m + i) * k + q] * bv[((bi * reduce + r) * n + j) * k + q];
                    int at = cOffset + (bi * m + i) * pitch + j;
                    expected[at] = (accumulate ? cv[at] : 0) + s;
                }

        var dev = backend.Device;
        var a = Tensor.FromArray(av, av.Length).To(dtype).To(dev);
        var b = Tensor.FromArray(bv, bv.Length).To(dtype).To(dev);
        var c = Tensor.FromArray(cv, cv.Length).To(dtype).To(dev);
        backend.Gemm(a.Buf, b.Buf, c.Buf, new GemmArgs
        {
            M = m, N = n, K = k, Reduce = reduce, Accumulate = accumulate ? 1 : 0,
            ABatch = reduce * m * k, AReduce = m * k, ARow = k, AInner = 1,
            BBatch = reduce * n * k, BReduce = n * k, BInner = 1, BCol = k,
            COffset = cOffset, CBatch = m * pitch, CRow = pitch, CCol = 1,
        }, batch);
        var actual = c.To(Device.Cpu).To(DType.Float64).ToArray<double>();
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tol(dtype) * 10 * (1 + Math.Abs(expected[i])), $"element {i}: expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void KernelChoiceFollowsShapeAndGroupSize()
    {
        var wide = Simulator.Wide; // one multiprocessor: two 128×128 tiles already fill it twice
        Assert.True(wide.CanRunBlockedGemm);
        Assert.Equal(GemmKernel.Blocked8x8, wide.ChooseGemm(130, 129, 1));
        Assert.Equal(GemmKernel.Blocked8x8, wide.ChooseGemm(64, 64, 2));
        Assert.Equal(GemmKernel.Blocked4x4, wide.ChooseGemm(64, 64, 1));
        Assert.Equal(GemmKernel.Tiled, wide.ChooseGemm(31, 4096, 8));
        Assert.Equal(GemmKernel.Tiled, wide.ChooseGemm(4096, 1, 1));
        var small = Simulator.Backend; // 4 threads per group
        Assert.False(small.CanRunBlockedGemm);
        Assert.Equal(GemmKernel.Tiled, small.ChooseGemm(4096, 4096, 1));
    }

    [Fact]
    public void AutomaticChoiceMatchesCpu()
    {
        var g = new Generator(5);
        var dev = Simulator.Wide.Device;
        foreach (var (m, k, n, batch) in new[] { (130, 20, 129, 1), (64, 33, 64, 1), (16, 40, 70, 2) })
        {
            var a = Tensor.Randn([batch, m, k], DType.Float32, g);
            var b = Tensor.Randn([batch, k, n], DType.Float32, g);
            Simulator.Close(a.MatMul(b), a.To(dev).MatMul(b.To(dev)), 2e-5);
        }
    }
}
