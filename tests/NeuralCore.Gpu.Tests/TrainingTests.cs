using NeuralCore.Nn;
using NeuralCore.Optim;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Gpu.Tests;

/// <summary>Training on the simulator: layers and optimizers match the CPU, loss falls, no hidden host round trips, memory stays flat.</summary>
public sealed class TrainingTests
{
    static Module TinyCnn()
    {
        Rng.ManualSeed(7);
        return new Sequential(
            new Conv2d(2, 4, 3, stride: 1, padding: 1), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2),
            new Conv2d(4, 4, 3, padding: 1, groups: 2), new AvgPool2d(2), new Flatten(), new Dropout(0.25), new Linear(4, 3));
    }

    static (Tensor X, Tensor Y) Batch()
    {
        var x = Tensor.Randn([6, 2, 4, 4], DType.Float32, new Generator(3));
        var y = Tensor.FromArray(new long[] { 0, 1, 2, 1, 0, 2 }, 6);
        return (x, y);
    }

    static double Step(Module model, Optimizer opt, Tensor x, Tensor y)
    {
        opt.ZeroGrad();
        var loss = F.CrossEntropy(model.Forward(x), y);
        loss.Backward();
        opt.Step();
        return loss.Item<double>();
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    public void TrainingStepsMatchTheCpu(string optimizer)
    {
        // Float64, so that rounding differences between backends (summation order) stay far below the checked
        // tolerance even where Adam divides by the square root of tiny second moments.
        var (x32, y) = Batch();
        var x = x32.To(DType.Float64);
        var cpu = TinyCnn().To(DType.Float64);
        var gpu = TinyCnn().To(DType.Float64).To(Simulator.Device);
        Optimizer MakeOpt(Module m) => optimizer == "sgd" ? new Sgd(m.Parameters(), lr: 0.1, momentum: 0.9) : new Adam(m.Parameters(), lr: 0.01);
        var cpuOpt = MakeOpt(cpu);
        var gpuOpt = MakeOpt(gpu);
        for (int step = 0; step < 3; step++)
        {
            // Dropout draws from the same generator state on both devices, and device fills use the same
            // counter-based stream, so the masks agree and the runs stay comparable.
            Rng.ManualSeed(100 + step);
            double lc = Step(cpu, cpuOpt, x, y);
            Rng.ManualSeed(100 + step);
            double lg = Step(gpu, gpuOpt, x.To(Simulator.Device), y.To(Simulator.Device));
            Assert.True(Math.Abs(lc - lg) <= 1e-9 * (1 + Math.Abs(lc)), $"step {step}: loss {lc} on the CPU, {lg} on the simulator");
        }
        foreach (var (pc, pg) in cpu.Parameters().Zip(gpu.Parameters())) Simulator.Close(pc, pg, 1e-8);
    }

    [Fact]
    public void EvalModeBatchNormMatchesTheCpu()
    {
        var (x, _) = Batch();
        var cpu = new BatchNorm2d(2);
        var gpu = new BatchNorm2d(2).To(Simulator.Device);
        cpu.Forward(x);
        gpu.Forward(x.To(Simulator.Device));
        cpu.Eval();
        gpu.Eval();
        Simulator.Close(cpu.Forward(x), gpu.Forward(x.To(Simulator.Device)), 1e-5);
    }

    [Fact]
    public void ShortTrainingRunReducesTheLoss()
    {
        var (x, y) = Batch();
        var model = TinyCnn().To(Simulator.Device);
        var opt = new Adam(model.Parameters(), lr: 0.02);
        var (xd, yd) = (x.To(Simulator.Device), y.To(Simulator.Device));
        double first = Step(model, opt, xd, yd), last = first;
        for (int i = 0; i < 15; i++) last = Step(model, opt, xd, yd);
        Assert.True(last < 0.7 * first, $"loss went from {first} to {last}");
    }

    [Fact]
    public void TrainingStepMakesNoDownloadsBesidesTheLossItem()
    {
        var (x, y) = Batch();
        var model = TinyCnn().To(Simulator.Device);
        var opt = new Sgd(model.Parameters(), lr: 0.05, momentum: 0.9);
        var (xd, yd) = (x.To(Simulator.Device), y.To(Simulator.Device));
        Step(model, opt, xd, yd);
        var before = Simulator.Backend.Transfers;
        Step(model, opt, xd, yd);
        var after = Simulator.Backend.Transfers;
        Assert.Equal(1, after.Downloads - before.Downloads);
    }

    [Fact]
    public void DeviceMemoryStaysFlatWithoutDispose()
    {
        var (x, y) = Batch();
        var model = TinyCnn().To(Simulator.Device);
        var opt = new Sgd(model.Parameters(), lr: 0.05, momentum: 0.9);
        var (xd, yd) = (x.To(Simulator.Device), y.To(Simulator.Device));
        var samples = new List<DeviceMemoryStats>();
        for (int i = 0; i < 12; i++)
        {
            Step(model, opt, xd, yd);
            MemoryStats.Collect();
            samples.Add(MemoryStats.For(Simulator.Device));
        }
        Assert.Equal(samples[3].LiveTensors, samples[^1].LiveTensors);
        Assert.Equal(samples[3].AllocatedBytes, samples[^1].AllocatedBytes);
    }
}
