using NeuralCore.Nn;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Gpu.Tests;

/// <summary>The fused fast paths at sizes and values the conformance cases do not reach, against the CPU backend.</summary>
public sealed class FusedKernelTests
{
    // Equal within a relative tolerance, NaN where the CPU has NaN, and the same infinities.
    static void Same(Tensor cpu, Tensor gpu, double tol, string what)
    {
        Assert.Equal(cpu.Shape, gpu.Shape);
        var e = cpu.To(DType.Float64).ToArray<double>();
        var a = gpu.To(Device.Cpu).To(DType.Float64).ToArray<double>();
        for (int i = 0; i < e.Length; i++)
        {
            bool ok = double.IsNaN(e[i]) ? double.IsNaN(a[i]) : double.IsInfinity(e[i]) ? a[i] == e[i] : Math.Abs(e[i] - a[i]) <= tol * (1 + Math.Abs(e[i]));
            Assert.True(ok, $"{what}, element {i}: CPU {e[i]:R}, simulator {a[i]:R}");
        }
    }

    [Theory]
    [InlineData(DType.Float32, Reduction.Mean)]
    [InlineData(DType.Float64, Reduction.Sum)]
    [InlineData(DType.Float64, Reduction.None)]
    public void CrossEntropyMatchesTheCpu_OnLongRowsAndExtremeValues(DType dtype, Reduction reduction)
    {
        // 37 classes: several strides of a thread group plus a remainder. Row 1 holds +∞, row 2 is all −∞ with an
        // ignored target, row 3 holds a NaN, row 4 is large but finite (the shift by the maximum matters).
        var x = Tensor.Randn([5, 37], dtype, new Generator(4)).Mul(3);
        x[1, 5].Fill_(double.PositiveInfinity);
        x[2].Fill_(double.NegativeInfinity);
        x[3, 36].Fill_(double.NaN);
        x[4].Add_(Tensor.Full([37], 1e4, dtype));
        var t = Tensor.FromArray(new long[] { 36, 0, -100, 2, 17 }, 5);
        var dy = reduction == Reduction.None ? Tensor.Arange(1, 6, 1, dtype) : null;

        (Tensor Loss, Tensor Grad) Run(Device device)
        {
            var logits = x.To(device).Detach().RequiresGrad_();
            var loss = F.CrossEntropy(logits, t.To(device), reduction);
            loss.Backward(dy?.To(device));
            return (loss.Detach(), logits.Grad!);
        }

        long before = Simulator.Backend.FusedCalls("CrossEntropyForward");
        var (cpuLoss, cpuGrad) = Run(Device.Cpu);
        var (gpuLoss, gpuGrad) = Run(Simulator.Device);
        Assert.True(Simulator.Backend.FusedCalls("CrossEntropyForward") > before);
        double tol = dtype == DType.Float32 ? 1e-5 : 1e-12;
        Same(cpuLoss, gpuLoss, tol, "loss");
        Same(cpuGrad, gpuGrad, tol, "gradient");
    }

    [Theory]
    [InlineData(DType.Float32, false, 0.0)]
    [InlineData(DType.Float64, true, 0.0)]
    [InlineData(DType.Float64, false, 0.3)]
    [InlineData(DType.Float32, true, 0.5)]
    public void AttentionMatchesTheCpu_WithStridedOperandsAndABroadcastMask(DType dtype, bool causal, double dropout)
    {
        // Heads split from [B, L, H, D] (strided views), 70 keys (more than one CPU key block), a key padding mask
        // broadcast over heads and queries, and in the causal case some fully masked rows.
        var g = new Generator(8);
        var q = Tensor.Randn([2, 9, 2, 4], dtype, g).Transpose(1, 2);
        var k = Tensor.Randn([2, 70, 2, 4], dtype, g).Transpose(1, 2);
        var v = Tensor.Randn([2, 70, 2, 3], dtype, g).Transpose(1, 2);
        var keep = Tensor.Rand([2, 1, 1, 70], DType.Float32, g).Gt(causal ? 0.7 : 0.2);
        var dy = Tensor.Randn([2, 2, 9, 3], dtype, g);

        (Tensor Y, Tensor Dq, Tensor Dk, Tensor Dv) Run(Device device)
        {
            Tensor Leaf(Tensor t) => t.To(device).Detach().RequiresGrad_();
            Tensor ql = Leaf(q), kl = Leaf(k), vl = Leaf(v);
            // The same generator state on both devices: the kernels drop the same weights.
            Rng.ManualSeed(21);
            var y = F.ScaledDotProductAttention(ql, kl, vl, keep.To(device), dropout, isCausal: causal);
            y.Backward(dy.To(device));
            return (y.Detach(), ql.Grad!, kl.Grad!, vl.Grad!);
        }

        long before = Simulator.Backend.FusedCalls("AttentionForward");
        var cpu = Run(Device.Cpu);
        var gpu = Run(Simulator.Device);
        Assert.True(Simulator.Backend.FusedCalls("AttentionForward") > before);
        Assert.True(Simulator.Backend.FusedCalls("AttentionBackward") > 0);
        double tol = dtype == DType.Float32 ? 2e-5 : 1e-12;
        Same(cpu.Y, gpu.Y, tol, "output");
        Same(cpu.Dq, gpu.Dq, tol, "dq");
        Same(cpu.Dk, gpu.Dk, tol, "dk");
        Same(cpu.Dv, gpu.Dv, tol, "dv");
    }

    [Fact]
    public void GptModelMatchesTheCpu_ForwardBackwardAndCachedDecoding()
    {
        var cpuModel = new GptModel(7, 8, dModel: 8, nhead: 2, numLayers: 1, dropout: 0, positions: PositionEncoding.Rotary);
        var gpuModel = new GptModel(7, 8, dModel: 8, nhead: 2, numLayers: 1, dropout: 0, positions: PositionEncoding.Rotary);
        gpuModel.LoadStateDict(cpuModel.StateDict());
        gpuModel.To(Simulator.Device);
        var tokens = Tensor.FromArray(new long[] { 1, 5, 2, 6, 0, 3 }, 2, 3);
        var cpuLogits = cpuModel.Forward(tokens);
        var gpuLogits = gpuModel.Forward(tokens.To(Simulator.Device));
        Same(cpuLogits.Detach(), gpuLogits.Detach(), 1e-5, "logits");
        cpuLogits.Square().Sum().Backward();
        gpuLogits.Square().Sum().Backward();
        Same(cpuModel.StateDict()["wte.weight"].Grad!, gpuModel.StateDict()["wte.weight"].Grad!, 1e-4, "embedding gradient");

        var cache = gpuModel.NewCache();
        var first = gpuModel.Forward(tokens.Narrow(1, 0, 2).To(Simulator.Device), cache);
        var next = gpuModel.Forward(tokens.Narrow(1, 2, 1).To(Simulator.Device), cache);
        Same(cpuLogits.Detach(), Tensor.Cat([first.To(Device.Cpu), next.To(Device.Cpu)], 1).Detach(), 1e-5, "cached logits");
    }

    [Fact]
    public void ConvolutionBiasGradientReducesLongChannelsOnTheDevice()
    {
        // 3 images of 9×9 outputs: 243 values per channel, above the one-thread-per-row limit of the reduction.
        var conv = new Conv2d(2, 3, 3, padding: 1);
        var x = Tensor.Randn([3, 2, 9, 9], DType.Float32, new Generator(6));
        var dy = Tensor.Randn([3, 3, 9, 9], DType.Float32, new Generator(7));
        conv.Forward(x).Backward(dy);
        var expected = conv.Bias!.Grad!;

        conv.ZeroGrad();
        conv.To(Simulator.Device);
        long before = Simulator.Backend.FusedCalls("Conv2dBiasGrad");
        conv.Forward(x.To(Simulator.Device)).Backward(dy.To(Simulator.Device));

        Assert.Equal(before + 1, Simulator.Backend.FusedCalls("Conv2dBiasGrad"));
        Same(expected, conv.Bias!.Grad!, 1e-5, "bias gradient");
    }
}
