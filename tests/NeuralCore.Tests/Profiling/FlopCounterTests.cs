using NeuralCore.Data;
using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Profiling;
using NeuralCore.Training;

namespace NeuralCore.Tests.Profiling;

public sealed class FlopCounterTests
{
    [Fact]
    public void Linear_CountsTwoFlopsPerMultiplyAddAndOnePerBiasAdd()
    {
        var layer = new Linear(3, 4);
        var x = Tensor.Randn(5, 3);
        using var counter = FlopCounter.Start();
        layer.Forward(x);
        // [5, 3] x [3, 4]: 5·4·3 multiply-adds; the bias adds one per output element.
        Assert.Equal(2 * 5 * 4 * 3, counter.ByOp["matmul"].Forward);
        Assert.Equal(5 * 4, counter.ByOp["add"].Forward);
        Assert.Equal(2 * 5 * 4 * 3 + 5 * 4, counter.Total);
        Assert.Equal(0, counter.Backward);
    }

    [Theory]
    [InlineData(1, 0, 1, 9)]
    [InlineData(2, 1, 1, 9)]
    [InlineData(2, 1, 2, 9)]
    [InlineData(3, 2, 4, 10)]
    public void Conv2d_CountsOutputPositionsTimesGroupChannelsTimesTaps(int stride, int padding, int groups, int size)
    {
        const int c = 4, o = 8, k = 3, n = 2;
        var conv = new Conv2d(c, o, k, stride: stride, padding: padding, groups: groups, bias: false);
        var x = Tensor.Randn(n, c, size, size);
        int outSize = (size + 2 * padding - k) / stride + 1;
        using var counter = FlopCounter.Start();
        var y = conv.Forward(x);
        Assert.Equal([n, o, outSize, outSize], y.Shape.ToArray());
        long expected = 2L * n * o * outSize * outSize * (c / groups) * k * k;
        Assert.Equal(expected, counter.Total);
        Assert.Equal(expected, counter.ByOp["conv2d"].Forward);
        Assert.Equal(1, counter.ByOp["conv2d"].Calls);
    }

    [Fact]
    public void Conv2dWithBias_AddsOnePerOutputElement()
    {
        var conv = new Conv2d(2, 3, 3, padding: 1);
        var x = Tensor.Randn(1, 2, 5, 5);
        using var counter = FlopCounter.Start();
        conv.Forward(x);
        Assert.Equal(2L * 3 * 25 * 2 * 9 + 3 * 25, counter.Total);
    }

    [Fact]
    public void Conv2dBackward_IsTwiceTheForward()
    {
        var conv = new Conv2d(4, 6, 3, stride: 2, padding: 1, groups: 2, bias: false);
        var x = Tensor.Randn(2, 4, 9, 9).RequiresGrad_();
        var y = conv.Forward(x);
        using var counter = FlopCounter.Start();
        var y2 = conv.Forward(x);
        long forward = counter.Forward;
        Assert.Equal(2L * 2 * 6 * 5 * 5 * 2 * 9, forward);
        // Backward from an explicit gradient: only the two convolution gradients do arithmetic.
        y2.Backward(Tensor.OnesLike(y));
        Assert.Equal(forward, counter.ByOp["conv2d_backward_input"].Backward);
        Assert.Equal(forward, counter.ByOp["conv2d_backward_weight"].Backward);
        Assert.Equal(2 * forward, counter.Backward);
        Assert.Equal(3 * forward, counter.Total);
    }

    [Fact]
    public void BatchedMatMul_CountsEveryBroadcastBatch()
    {
        var a = Tensor.Randn(2, 3, 4, 5);
        var b = Tensor.Randn(5, 6);
        using var counter = FlopCounter.Start();
        var c = a.MatMul(b);
        Assert.Equal([2, 3, 4, 6], c.Shape.ToArray());
        Assert.Equal(2L * 2 * 3 * 4 * 6 * 5, counter.Total);
        Assert.Equal(1, counter.ByOp["matmul"].Calls);
    }

    [Fact]
    public void Elementwise_CountsOnePerOutputElement_ReductionsOnePerInputElement_MovesNothing()
    {
        var x = Tensor.Randn(3, 4);
        var y = Tensor.Randn(4);
        using var counter = FlopCounter.Start();
        var z = (x + y).Relu();  // broadcast add over 12 outputs, then 12 ReLUs
        _ = z.Sum();              // 12 inputs
        _ = z.Transpose(0, 1).Contiguous(); // a copy: no arithmetic
        _ = x * 2.0;              // scalar operand: 12
        Assert.Equal(12, counter.ByOp["add"].Forward);
        Assert.Equal(12, counter.ByOp["relu"].Forward);
        Assert.Equal(12, counter.ByOp["sum"].Forward);
        Assert.Equal(12, counter.ByOp["mul"].Forward);
        Assert.Equal(48, counter.Total);
    }

    [Fact]
    public void SmallCnn_TotalMatchesHandComputation()
    {
        Rng.ManualSeed(3);
        var model = new Sequential(new Conv2d(1, 2, 3), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(8, 3));
        var x = Tensor.Randn(1, 1, 6, 6);
        using var counter = FlopCounter.Start();
        model.Forward(x);
        // conv 6x6 → 4x4, 2 channels: 2·(2·16)·(1·9) = 576 and bias 32; ReLU 32; max pool 2x2 → 2x2: 8 outputs × 4 taps = 32;
        // flatten 0; linear 8 → 3: 2·3·8 = 48 and bias 3.
        Assert.Equal(576 + 32 + 32 + 32 + 48 + 3, counter.Total);
        Assert.Equal(32, counter.ByOp["max_pool2d"].Forward);
    }

    [Fact]
    public void NestedCounters_BothCount_AndADisposedCounterStops()
    {
        var x = Tensor.Randn(10);
        using var outer = FlopCounter.Start();
        using (var inner = FlopCounter.Start())
        {
            _ = x.Exp();
            Assert.Equal(10, inner.Total);
        }
        _ = x.Exp();
        Assert.Equal(20, outer.Total);
        outer.Dispose();
        _ = x.Exp();
        Assert.Equal(20, outer.Total);
        Assert.False(outer.IsActive);
    }

    [Fact]
    public async Task Counters_AreScopedToTheirExecutionFlow()
    {
        var x = Tensor.Randn(100);
        using var gate = new SemaphoreSlim(0);
        var other = Task.Run(async () =>
        {
            using var c = FlopCounter.Start();
            await gate.WaitAsync();
            _ = x.Exp();
            return c.Total;
        });
        using var mine = FlopCounter.Start();
        _ = x.Sqrt().Sqrt();
        gate.Release();
        Assert.Equal(100, await other);
        Assert.Equal(200, mine.Total);
    }

    [Fact]
    public void ParallelAddsToOneCounter_AreAllKept()
    {
        var x = Tensor.Randn(7);
        using var counter = FlopCounter.Start();
        Parallel.For(0, 64, _ => { using var s = Tensor.Scope(); x.Neg(); });
        Assert.Equal(64 * 7, counter.Total);
        Assert.Equal(64, counter.ByOp["neg"].Calls);
    }

    [Fact]
    public void OptimizerStep_CountsInTheOptimizerPhase()
    {
        var w = Tensor.Randn(5, 4).RequiresGrad_();
        var opt = new Sgd([w], lr: 0.1);
        (w * w).Sum().Backward();
        using var counter = FlopCounter.Start();
        opt.Step();
        Assert.True(counter.Optimizer > 0);
        Assert.Equal(0, counter.Forward);
        Assert.Equal(0, counter.Backward);
    }

    [Fact]
    public void Fit_RecordsPerBatchStepFlopsTimesBatches()
    {
        static Sequential Model() => new(new Flatten(), new Linear(16, 8), new ReLU(), new Linear(8, 10));
        var x = Tensor.Randn(64, 1, 4, 4);
        var y = Tensor.Randn(64, 10);

        // One hand-run step on a batch of 16: forward, loss, backward, update.
        var reference = Model();
        var optimizer = new Sgd(reference.Parameters(), lr: 0.01);
        Loss loss = "mse";
        long perBatch;
        using (var counter = FlopCounter.Start())
        {
            var output = reference.Forward(x.Narrow(0, 0, 16));
            loss.Compute(output, y.Narrow(0, 0, 16)).Backward();
            optimizer.Step();
            perBatch = counter.Total;
        }

        var model = Model();
        model.Compile(new Sgd(lr: 0.01), "mse");
        var history = model.Fit(x, y, epochs: 2, batchSize: 16, shuffle: false, verbose: 0);

        Assert.Equal(2, history.Costs.Count);
        Assert.True(perBatch > 0);
        foreach (var cost in history.Costs)
        {
            Assert.Equal(4 * perBatch, cost.Flops);
            Assert.True(cost.BackwardFlops > 0 && cost.OptimizerFlops > 0);
            Assert.True(cost.Energy.Joules > 0);
        }
        Assert.Equal(8 * perBatch, history.TotalCost!.Flops);
    }

    [Fact]
    public void Fit_WithoutCostMeasurement_RecordsNoCost()
    {
        var model = new Sequential(new Flatten(), new Linear(16, 10));
        model.Compile(new Sgd(lr: 0.01), "mse");
        var history = model.Fit(Tensor.Randn(8, 1, 4, 4), Tensor.Randn(8, 10), verbose: 0, measureCost: false);
        Assert.Empty(history.Costs);
        Assert.Null(history.TotalCost);
    }

    [Fact]
    public void ConsoleProgress_EpochLineShowsFlopsAndEnergy()
    {
        var model = new Sequential(new Flatten(), new Linear(16, 10));
        model.Compile(new Sgd(lr: 0.01), "mse");
        var text = new StringWriter();
        model.Fit(Tensor.Randn(8, 1, 4, 4), Tensor.Randn(8, 10), progress: new ConsoleProgress(text, liveBar: false));
        var line = text.ToString();
        Assert.Matches(@"\d+(\.\d+)? [kMGTPE]?FLOP  \d+\.\d J  \d+\.\d{3} g CO2e \((Estimated-TDP|Measured-RAPL)", line);
    }
}
