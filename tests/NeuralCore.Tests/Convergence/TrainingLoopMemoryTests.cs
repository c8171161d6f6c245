using System.Runtime.CompilerServices;
using NeuralCore.Data;
using NeuralCore.Nn;
using NeuralCore.Optim;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Tests.Convergence;

/// <summary>
/// A PyTorch-style loop on real Fashion-MNIST images (DataLoader, CrossEntropy, Sgd) that never calls Dispose and
/// uses no scope: dropped tensors go back to the pool through the GC alone, and memory stays flat across epochs.
/// <see cref="MemoryStats"/> is process-wide, so it runs in the "Memory" collection.
/// </summary>
[Collection("Memory")]
public sealed class TrainingLoopMemoryTests
{
    const int Epochs = 6;

    // One epoch in its own frame, so none of its temporaries stays reachable from the caller once it returns.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static double Epoch(Module model, DataLoader loader, Optimizer optimizer)
    {
        double sum = 0;
        int batches = 0;
        foreach (var (x, y) in loader)
        {
            optimizer.ZeroGrad();
            var loss = F.CrossEntropy(model.Forward(x), y);
            loss.Backward();
            optimizer.Step();
            sum += loss.Item<float>();
            batches++;
        }
        return sum / batches;
    }

    [Fact]
    public void PyTorchStyleLoop_WithoutDispose_KeepsLiveTensorsUsedAndPooledBytesFlat()
    {
        Rng.ManualSeed(11);
        var loader = new DataLoader(BundledFashionMnist.Train(3000), batchSize: 50, shuffle: true);
        var model = new Sequential(
            new Conv2d(1, 8, 3, padding: 1), new ReLU(), new MaxPool2d(2),
            new Flatten(), new Linear(8 * 14 * 14, 32), new ReLU(), new Linear(32, 10));
        var optimizer = new Sgd(model.Parameters(), lr: 0.05, momentum: 0.9);

        var losses = new List<double>();
        var samples = new List<DeviceMemoryStats>();
        for (int epoch = 0; epoch < Epochs; epoch++)
        {
            losses.Add(Epoch(model, loader, optimizer));
            MemoryStats.Collect();
            samples.Add(MemoryStats.Cpu);
            Console.WriteLine($"epoch {epoch + 1}: loss {losses[^1]:F4}, {samples[^1]}");
        }

        // 60 steps per epoch, 360 in all. Training really ran.
        Assert.True(losses[^1] < losses[0] * 0.8, $"loss did not fall: {string.Join(", ", losses)}");

        // Epoch 1 creates the momentum buffers and fills the pool; from then on nothing may accumulate. The loader may
        // still hold one prefetched batch (inputs and targets) when an epoch ends, hence the slack of two tensors and
        // their bytes (50 images of 28 × 28 floats round up to 256 KiB); a leak of one buffer per step would add 60 per
        // epoch. The pool grows only when a collection happens to come later than before and a size class runs dry: by a
        // buffer or two (measured: 0 bytes when run alone, 1.5 MiB over epochs 2-6 after the rest of the suite). A pool
        // that stopped handing buffers back out would grow by the 64-MiB collection window every few dozen steps.
        var reference = samples[1];
        const long UsedSlack = 2 * 256 * 1024, PooledSlack = 16L << 20;
        foreach (var (s, epoch) in samples.Select((s, i) => (s, i + 1)).Skip(2))
        {
            Assert.True(Math.Abs(s.LiveTensors - reference.LiveTensors) <= 2,
                $"epoch {epoch}: {s.LiveTensors} live tensors, {reference.LiveTensors} after epoch 2");
            Assert.True(Math.Abs(s.UsedBytes - reference.UsedBytes) <= UsedSlack,
                $"epoch {epoch}: {s.UsedBytes} used bytes, {reference.UsedBytes} after epoch 2");
            Assert.True(s.PooledBytes <= reference.PooledBytes + PooledSlack,
                $"epoch {epoch}: {s.PooledBytes} pooled bytes, {reference.PooledBytes} after epoch 2");
        }
        GC.KeepAlive(loader);
    }
}
