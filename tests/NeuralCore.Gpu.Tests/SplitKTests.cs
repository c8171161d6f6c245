using NeuralCore.Backends;
using NeuralCore.Nn;

namespace NeuralCore.Gpu.Tests;

/// <summary>
/// Split-K GEMM: the planner's choice for a large GPU, convolution weight gradients (im2col and 1×1 paths) with
/// split-K forced on both simulators and chosen automatically, the tiled kernel split inside reduction indices with
/// accumulation, and the workspace returned to the pool. The kernels' split conformance on every transposition,
/// edge size, dtype and batch layout is in <see cref="GemmConformanceTests"/>.
/// </summary>
public sealed class SplitKTests
{
    const int H100 = 132; // streaming multiprocessors
    const int TiledSide = 16; // the tiled kernel's side on a GPU (16×16 groups)

    // Weight-gradient GEMMs as the convolution and Linear pass them (C = dW [M, N], K and reduction count r):
    // im2col path M = O/groups, N = C/groups·kh·kw, K = OH·OW, r = images; 1×1 path the same with kh = kw = 1;
    // Linear dW = dYᵀ·X with M = out, N = in, K = batch, r = 1.
    public static TheoryData<string, int, int, int, int> WeightGradients => new()
    {
        { "LeNet conv1 (3→6, 5×5, 32×32, batch 100)", 6, 75, 28 * 28, 100 },
        { "LeNet conv2 (6→16, 5×5, 14×14, batch 100)", 16, 150, 10 * 10, 100 },
        { "ResNet 3×3 (64→64, 56×56, batch 8)", 64, 576, 56 * 56, 8 },
        { "ResNet bottleneck 1×1 (256→64, 56×56, batch 8)", 64, 256, 56 * 56, 8 },
        { "ResNet 3×3 (128→128, 28×28, batch 32)", 128, 1152, 28 * 28, 32 },
        { "Linear 784→10, batch 1024", 10, 784, 1024, 1 },
    };

    [Theory]
    [MemberData(nameof(WeightGradients))]
    public void WeightGradientsSplitOnAnH100(string what, int m, int n, int k, int reduce)
    {
        var kernel = GemmPlanner.ChooseKernel(H100, true, m, n, 1);
        int splits = GemmPlanner.ChooseSplits(H100, kernel, TiledSide, m, n, k, reduce, 1);
        int tile = GemmPlanner.OutputTile(kernel, TiledSide);
        long groups = (long)((m + tile - 1) / tile) * ((n + tile - 1) / tile);
        Assert.True(splits >= 2, $"{what}: {groups} groups of {kernel} were not split");
        Assert.InRange(splits, 2, GemmPlanner.MaxSplits);
        Assert.True(groups * splits >= H100, $"{what}: {groups} groups × {splits} slices leave multiprocessors idle");
        Assert.True((long)k * reduce / splits >= GemmPlanner.MinSliceLength, $"{what}: slices of {k * reduce / splits} products are too short");
    }

    [Fact]
    public void LargeOrShortProductsStayWhole()
    {
        foreach (int side in new[] { 2048, 4096 })
        {
            var kernel = GemmPlanner.ChooseKernel(H100, true, side, side, 1);
            Assert.Equal(1, GemmPlanner.ChooseSplits(H100, kernel, TiledSide, side, side, side, 1, 1));
        }
        // A batch of products already fills the device; a short K does not pay for a second pass.
        Assert.Equal(1, GemmPlanner.ChooseSplits(H100, GemmKernel.Blocked4x4, TiledSide, 64, 64, 4096, 1, 512));
        Assert.Equal(1, GemmPlanner.ChooseSplits(H100, GemmKernel.Tiled, TiledSide, 6, 75, 100, 1, 1));
        Assert.Equal(1, GemmPlanner.ChooseSplits(H100, GemmKernel.Tiled, TiledSide, 0, 75, 100_000, 1, 1));
    }

    [Fact]
    public void NormalizedSplitsCoverEveryTileWithNoEmptySlice()
    {
        for (int tiles = 0; tiles <= 150; tiles++)
            for (int asked = -1; asked <= 80; asked++)
            {
                int s = GemmPlanner.Normalize(asked, tiles);
                Assert.InRange(s, 1, Math.Max(1, Math.Min(tiles, GemmPlanner.MaxSplits)));
                if (s == 1) continue;
                long per = GemmPlanner.SliceTiles(tiles, s);
                Assert.True(per * s >= tiles, $"{tiles} tiles in {s} slices of {per} leave tiles out");
                Assert.True(per * (s - 1) < tiles, $"{tiles} tiles in {s} slices of {per}: the last slice is empty");
            }
    }

    public static TheoryData<string, DType, int> ConvConfigs => new()
    {
        { "default", DType.Float32, 3 }, // 4 threads per group: the tiled kernel with 2×2 tiles
        { "Blocked4x4", DType.Float32, 2 },
        { "auto", DType.Float64, 5 },
    };

    // (batch, in, out, height, width, kernel h, kernel w, stride, padding h, padding w, dilation w, groups, channels-last)
    static readonly (int N, int C, int O, int H, int W, int KH, int KW, int S, int PH, int PW, int DW, int G, bool Nhwc)[] ConvCases =
    [
        (2, 3, 4, 7, 6, 3, 3, 1, 1, 1, 1, 1, false),
        (3, 4, 6, 8, 7, 3, 2, 2, 1, 0, 2, 2, false),
        (2, 6, 4, 5, 3, 1, 1, 1, 0, 0, 1, 2, false), // 1×1: images are the GEMM's reduction index
        (2, 4, 5, 4, 6, 1, 1, 1, 0, 0, 1, 1, true),
    ];

    [Theory]
    [MemberData(nameof(ConvConfigs))]
    public void ConvolutionWeightGradientsWithSplitKMatchCpu(string kernel, DType dtype, int splits)
    {
        var backend = kernel == "default" ? Simulator.Backend : Simulator.Wide;
        GemmConformanceTests.With(kernel == "default" ? "auto" : kernel, splits, () =>
        {
            var gen = new Generator(9);
            double tol = dtype == DType.Float64 ? 1e-12 : 2e-5;
            foreach (var (n, c, o, h, w, kh, kw, s, ph, pw, dw, g, nhwc) in ConvCases)
            {
                var p = new Conv2dParams(s, s, ph, pw, 1, dw, g);
                int oh = (h + 2 * ph - (kh - 1) - 1) / s + 1, ow = (w + 2 * pw - dw * (kw - 1) - 1) / s + 1;
                var stored = nhwc ? Tensor.Randn([n, h, w, c], dtype, gen) : Tensor.Randn([n, c, h, w], dtype, gen);
                var x = nhwc ? stored.Permute(0, 3, 1, 2) : stored;
                var xd = nhwc ? stored.To(backend.Device).Permute(0, 3, 1, 2) : stored.To(backend.Device);
                var dy = Tensor.Randn([n, o, oh, ow], dtype, gen);
                Simulator.Close(ConvOps.Conv2dBackwardWeight(x, dy, kh, kw, p), ConvOps.Conv2dBackwardWeight(xd, dy.To(backend.Device), kh, kw, p), tol);
            }
        }, backend);
    }

    [Fact]
    public void SmallWeightGradientSplitsByItselfOnTheWideSimulator()
    {
        // One multiprocessor wants two groups; dW [4, 1·3·3] is one tile of the tiled kernel, with 8 images × 64 positions.
        var wide = Simulator.Wide;
        Assert.Equal(2, wide.ChooseSplits(GemmKernel.Tiled, 4, 9, 64, 8, 1));
        var gen = new Generator(4);
        var x = Tensor.Randn([8, 1, 8, 8], DType.Float32, gen);
        var dy = Tensor.Randn([8, 4, 8, 8], DType.Float32, gen);
        var p = new Conv2dParams(1, 1, 1, 1, 1, 1, 1);
        Simulator.Close(ConvOps.Conv2dBackwardWeight(x, dy, 3, 3, p), ConvOps.Conv2dBackwardWeight(x.To(wide.Device), dy.To(wide.Device), 3, 3, p), 2e-5);
    }

    [Fact]
    public void TiledSlicesSplitInsideReductionIndicesAndAccumulate() =>
        // 2×2 tiles: 6 K tiles per reduction index, 18 in 4 slices of 5 (boundaries inside indices 0, 1 and 2).
        GemmConformanceTests.With("Tiled", 4, () => GemmConformanceTests.CheckAgainstHostSum(Simulator.Backend, 2, 3, 5, 11, 3, DType.Float32, true), Simulator.Backend);

    [Fact]
    public void WorkspaceGoesBackToThePool() => GemmConformanceTests.With("Blocked4x4", 3, () =>
    {
        var dev = Simulator.Wide.Device;
        var gen = new Generator(2);
        var a = Tensor.Randn([40, 100], DType.Float32, gen).To(dev);
        var b = Tensor.Randn([100, 36], DType.Float32, gen).To(dev);
        var c = Tensor.Zeros([40, 36], DType.Float32, dev);
        long before = MemoryStats.For(dev).UsedBytes;
        Simulator.Wide.MatMul(Wrap(a), Wrap(b), Wrap(c));
        Assert.Equal(before, MemoryStats.For(dev).UsedBytes);
        Simulator.Close(a.To(Device.Cpu).MatMul(b.To(Device.Cpu)), c, 2e-5);
    });

    // A 2-d tensor as the [1, rows, cols] view the backend's MatMul takes.
    static BufferView Wrap(Tensor t) => new(t.Buf.Storage, [1, (int)t.Shape[0], (int)t.Shape[1]], [0, t.Buf.Strides[0], t.Buf.Strides[1]], t.Buf.Offset);
}
