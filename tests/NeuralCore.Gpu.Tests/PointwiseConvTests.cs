using NeuralCore.Backends;
using NeuralCore.Nn;

namespace NeuralCore.Gpu.Tests;

/// <summary>
/// 1×1 convolutions (stride 1, no padding), which run as GEMMs on the input without im2col: forward, input and
/// weight gradients against the CPU backend, with groups, strided inputs (channels-last views read in place,
/// and a narrowed width that falls back to im2col), with and without a bias, on the default simulator and on the
/// 256-thread one with each GEMM kernel.
/// </summary>
public sealed class PointwiseConvTests
{
    public static TheoryData<string, DType> Configs => new()
    {
        { "default", DType.Float32 },
        { "Tiled", DType.Float32 },
        { "Blocked4x4", DType.Float32 },
        { "Blocked8x8", DType.Float32 },
        { "Blocked8x8", DType.Float64 },
        { "auto", DType.Float64 },
    };

    // (batch, in channels, out channels, height, width, groups, layout): layout 0 dense NCHW, 1 a channels-last
    // tensor viewed as NCHW (spatial stride C), 2 a width-narrowed view (no single spatial stride: im2col path).
    static readonly (int N, int C, int O, int H, int W, int G, int Layout)[] Cases =
    [
        (2, 6, 4, 5, 3, 1, 0), (3, 5, 70, 1, 9, 1, 0), (2, 6, 4, 4, 7, 2, 0), (2, 8, 12, 3, 5, 4, 1), (2, 4, 6, 3, 6, 2, 2), (1, 3, 5, 6, 1, 1, 1),
    ];

    [Theory]
    [MemberData(nameof(Configs))]
    public void ForwardAndGradientsMatchCpu(string kernel, DType dtype)
    {
        var backend = kernel == "default" ? Simulator.Backend : Simulator.Wide;
        if (kernel is not ("default" or "auto")) backend.GemmOverride = Enum.Parse<GemmKernel>(kernel);
        try
        {
            var dev = backend.Device;
            var gen = new Generator(3);
            double tol = dtype == DType.Float64 ? 1e-12 : 2e-5;
            foreach (var (n, c, o, h, w, groups, layout) in Cases)
            {
                var p = new Conv2dParams(1, 1, 0, 0, layout == 1 ? 2 : 1, 1, groups); // dilation does not matter for 1×1
                var (x, xd) = Input(n, c, h, w, layout, dtype, gen, dev);
                var wt = Tensor.Randn([o, c / groups, 1, 1], dtype, gen);
                var dy = Tensor.Randn([n, o, h, w], dtype, gen);
                var wd = wt.To(dev);
                var dyd = dy.To(dev);
                string at = $"case N={n} C={c} O={o} {h}x{w} groups={groups} layout={layout}";
                Close(ConvOps.Conv2d(x, wt, p), ConvOps.Conv2d(xd, wd, p), tol, at + " forward");
                var bias = Tensor.Randn([o], dtype, gen);
                Close(ConvOps.Conv2dBias(x, wt, bias, p), ConvOps.Conv2dBias(xd, wd, bias.To(dev), p), tol, at + " forward with a bias");
                Close(ConvOps.Conv2dBackwardInput(dy, wt, h, w, p), ConvOps.Conv2dBackwardInput(dyd, wd, h, w, p), tol, at + " input gradient");
                Close(ConvOps.Conv2dBackwardWeight(x, dy, 1, 1, p), ConvOps.Conv2dBackwardWeight(xd, dyd, 1, 1, p), tol, at + " weight gradient");
            }
        }
        finally
        {
            backend.GemmOverride = null;
        }
    }

    static (Tensor Cpu, Tensor Dev) Input(int n, int c, int h, int w, int layout, DType dtype, Generator gen, Device dev)
    {
        switch (layout)
        {
            case 1:
            {
                var stored = Tensor.Randn([n, h, w, c], dtype, gen);
                return (stored.Permute(0, 3, 1, 2), stored.To(dev).Permute(0, 3, 1, 2));
            }
            case 2:
            {
                var stored = Tensor.Randn([n, c, h, w + 2], dtype, gen);
                return (stored.Narrow(3, 1, w), stored.To(dev).Narrow(3, 1, w));
            }
            default:
            {
                var x = Tensor.Randn([n, c, h, w], dtype, gen);
                return (x, x.To(dev));
            }
        }
    }

    static void Close(Tensor expected, Tensor actual, double tol, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var e = expected.To(DType.Float64).ToArray<double>();
        var a = actual.To(Device.Cpu).To(DType.Float64).ToArray<double>();
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= tol * (1 + Math.Abs(e[i])), $"{what}, element {i}: expected {e[i]}, got {a[i]}");
    }
}
