using NeuralCore.Backends;

namespace NeuralCore.Gpu.Tests;

/// <summary>
/// Products with more row tiles than one launch's grid Y may hold (65,535 on CUDA: over 1M rows) run in row chunks.
/// The limit is lowered here so that small products cross it on the simulators; the real 2^21-row product is one of
/// the GPU checker's checks (tests/NeuralCore.Gpu.Check).
/// </summary>
public sealed class GemmGridLimitTests
{
    static void WithGridY(IlgpuBackend backend, int maxGridY, string kernel, int? splits, Action run)
    {
        backend.MaxGridY = maxGridY;
        backend.GemmOverride = kernel == "auto" ? null : Enum.Parse<GemmKernel>(kernel);
        backend.SplitOverride = splits;
        try
        {
            run();
        }
        finally
        {
            backend.MaxGridY = 65535;
            backend.GemmOverride = null;
            backend.SplitOverride = null;
        }
    }

    [Theory]
    [InlineData(DType.Float32, 1)]
    [InlineData(DType.Float64, 2)]
    public void TiledProductsCrossTheGridYLimitInRowChunks(DType dtype, int splits) => WithGridY(Simulator.Backend, 3, "auto", splits, () =>
    {
        // 2×2 tiles on the default simulator: 23 rows are 12 row tiles, 4 launches of at most 3.
        var dev = Simulator.Device;
        var g = new Generator(11);
        var a = Tensor.Randn([23, 9], dtype, g);
        var b = Tensor.Randn([9, 5], dtype, g);
        var (ad, bd) = (a.To(dev), b.To(dev));
        long before = Simulator.Backend.GemmLaunches;
        var c = ad.MatMul(bd);
        Assert.Equal(4, Simulator.Backend.GemmLaunches - before);
        Simulator.Close(a.MatMul(b), c, 1e-5);
        // Transposed A (rows strided by 1), batched with a broadcast B.
        var at = Tensor.Randn([2, 9, 23], dtype, g);
        Simulator.Close(at.Transpose(1, 2).MatMul(b), at.To(dev).Transpose(1, 2).MatMul(b.To(dev)), 1e-5);
        // A Linear layer's forward over more rows than one launch covers.
        var w = Tensor.Randn([4, 9], dtype, g);
        Simulator.Close(a.MatMul(w.Transpose(0, 1)), a.To(dev).MatMul(w.To(dev).Transpose(0, 1)), 1e-5);
    });

    [Fact]
    public void BlockedProductsCrossTheGridYLimitInRowChunks() => WithGridY(Simulator.Wide, 1, "Blocked4x4", null, () =>
    {
        // 64-row tiles, one per launch: 130 rows take three launches, the last of 2 rows.
        var dev = Simulator.Wide.Device;
        var g = new Generator(12);
        var a = Tensor.Randn([130, 33], DType.Float32, g);
        var b = Tensor.Randn([33, 40], DType.Float32, g);
        var (ad, bd) = (a.To(dev), b.To(dev));
        long before = Simulator.Wide.GemmLaunches;
        var c = ad.MatMul(bd);
        Assert.Equal(3, Simulator.Wide.GemmLaunches - before);
        Simulator.Close(a.MatMul(b), c, 1e-5);
    });
}
