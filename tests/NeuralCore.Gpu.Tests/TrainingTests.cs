using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Training;
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
    public void DenseMovedBeforeItIsBuilt_CreatesItsParametersOnThatDevice()
    {
        var model = new Sequential(new Flatten(), new Dense(4, activation: Activation.Relu), new Dense(2));
        model.To(Simulator.Device);
        var x = Tensor.Randn([3, 2, 3], DType.Float32, new Generator(2));
        var y = model.Forward(x.To(Simulator.Device));
        Assert.Equal(Simulator.Device, y.Device);
        Assert.Equal(4, model.Parameters().Count());
        Assert.All(model.Parameters(), p => Assert.Equal(Simulator.Device, p.Device));
        // The same weights on the CPU give the same output.
        var cpu = new Sequential(new Flatten(), new Dense(4, activation: Activation.Relu), new Dense(2));
        cpu.Forward(x);
        cpu.LoadStateDict(model.StateDict());
        float[] expected = cpu.Forward(x).ToArray<float>(), actual = y.To(Device.Cpu).ToArray<float>();
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5f);
    }

    [Fact]
    public void FitDownloadsOncePerStep_LossAndMetricsTogether()
    {
        // Keras-style Fit with two metrics on the device: each step's loss and the metrics' running sums for the
        // batch logs come back in one download, and the epoch's logs need no further read.
        (History History, long Downloads) Fit(Device device)
        {
            Rng.ManualSeed(11);
            var model = new Sequential(new Flatten(), new Dense(5, activation: Activation.Relu), new Dense(3));
            model.Compile("adam", "categorical_crossentropy", new[] { "accuracy", "mae" });
            model.To(device);
            var x = Tensor.Randn([12, 2, 2, 2], DType.Float32, new Generator(4));
            var y = Tensor.FromArray(new long[] { 0, 1, 2, 1, 0, 2, 2, 1, 0, 0, 1, 2 }, 12);
            long before = device.IsCpu ? 0 : Simulator.Backend.Transfers.Downloads;
            var history = model.Fit(x, y, epochs: 1, batchSize: 4, shuffle: false, verbose: 0);
            long downloads = device.IsCpu ? 0 : Simulator.Backend.Transfers.Downloads - before;
            return (history, downloads);
        }

        var cpu = Fit(Device.Cpu);
        var sim = Fit(Simulator.Device);
        Assert.Equal(3, sim.Downloads);   // 12 samples in batches of 4
        foreach (var key in new[] { "loss", "accuracy", "mae" })
            Assert.Equal(cpu.History[key][0], sim.History[key][0], 5);
    }

    // BatchNorm2d and BatchNorm1d with cumulative averages, a binary cross-entropy head, L1 and L2 penalty groups.
    static Module BinaryCnn()
    {
        Rng.ManualSeed(5);
        return new Sequential(
            new Conv2d(2, 3, 3, padding: 1), new BatchNorm2d(3, momentum: null), new ReLU(), new Flatten(),
            new Linear(48, 5), new BatchNorm1d(5, momentum: null), new ReLU(), new Linear(5, 1), new Sigmoid());
    }

    static Sgd PenalizedSgd(Module model)
    {
        var ps = model.Parameters().ToList();
        return new Sgd([new ParamGroup(ps.Take(4)) { L1 = 1e-3 }, new ParamGroup(ps.Skip(4)) { L2 = 1e-2 }], lr: 0.05, momentum: 0.9);
    }

    [Fact]
    public void BceBatchNormPenaltyAndClippingStepsReadOnlyWhatTheCallerReads()
    {
        var (x32, _) = Batch();
        var x = x32.To(DType.Float64);
        var t = Tensor.FromArray(new double[] { 0, 1, 1, 0, 1, 0 }, 6, 1);
        var cpu = BinaryCnn().To(DType.Float64);
        var gpu = BinaryCnn().To(DType.Float64).To(Simulator.Device);
        var (cpuOpt, gpuOpt) = (PenalizedSgd(cpu), PenalizedSgd(gpu));
        var (xd, td) = (x.To(Simulator.Device), t.To(Simulator.Device));
        for (int step = 0; step < 3; step++)
        {
            cpuOpt.ZeroGrad();
            var lossCpu = F.BinaryCrossEntropy(cpu.Forward(x), t);
            lossCpu.Backward();
            double normCpu = Utils.ClipGradNorm(cpu.Parameters(), 0.5);
            cpuOpt.Step();

            long Downloads() => Simulator.Backend.Transfers.Downloads;
            long d0 = Downloads();
            gpuOpt.ZeroGrad();
            var loss = F.BinaryCrossEntropy(gpu.Forward(xd), td);
            loss.Backward();
            Assert.Equal(0, Downloads() - d0);
            double norm = Utils.ClipGradNorm(gpu.Parameters(), 0.5);
            Assert.Equal(1, Downloads() - d0);
            gpuOpt.Step();
            Assert.Equal(1, Downloads() - d0);
            double lossGpu = loss.Item<double>();
            Assert.Equal(2, Downloads() - d0);
            double penalty = gpuOpt.LastPenalty;
            Assert.Equal(3, Downloads() - d0);

            Assert.True(Math.Abs(lossCpu.Item<double>() - lossGpu) <= 1e-9, $"step {step}: loss {lossCpu.Item<double>()} on the CPU, {lossGpu} on the simulator");
            Assert.True(Math.Abs(normCpu - norm) <= 1e-9 * (1 + normCpu), $"step {step}: norm {normCpu} on the CPU, {norm} on the simulator");
            Assert.True(Math.Abs(cpuOpt.LastPenalty - penalty) <= 1e-12 * (1 + penalty), $"step {step}: penalty {cpuOpt.LastPenalty} on the CPU, {penalty} on the simulator");
        }
        foreach (var (bc, bg) in cpu.NamedBuffers().Zip(gpu.NamedBuffers()).Select(p => (p.First.Buffer, p.Second.Buffer))) Simulator.Close(bc, bg, 1e-9);
        foreach (var (pc, pg) in cpu.Parameters().Zip(gpu.Parameters())) Simulator.Close(pc, pg, 1e-8);
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
