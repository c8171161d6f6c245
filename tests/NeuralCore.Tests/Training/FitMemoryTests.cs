using NeuralCore.Optim;
using NeuralCore.Training;

namespace NeuralCore.Tests.Training;

/// <summary>
/// Fit's steady state: once the first epoch has filled the pool (activations, gradients, optimizer state), later
/// epochs rent every buffer from it. Fit releases each step's gradients when the next step starts instead of
/// leaving them to the garbage collector, so this holds without any collection running.
/// </summary>
[Collection("Memory")]
public sealed class FitMemoryTests
{
    [Fact]
    public void LaterEpochs_AllocateNoNewTensorBuffers()
    {
        Rng.ManualSeed(5);
        var model = SyntheticData.KerasModel();
        model.Compile(new Adam(lr: 1e-2), Loss.CrossEntropy);
        var data = SyntheticData.Dataset(600, seed: 2);
        model.Fit(data, epochs: 2, verbose: 0);
        long before = MemoryStats.Cpu.AllocatedBytes;
        model.Fit(data, epochs: 3, verbose: 0);
        long grown = MemoryStats.Cpu.AllocatedBytes - before;
        // Three epochs of 19 steps each: gradients left to the GC would need a fresh set of buffers per step until
        // a collection returned them. A few buffers of slack cover a size class first needed at an epoch boundary.
        Assert.True(grown <= 64 * 1024, $"the pool allocated {grown} new bytes over three more epochs");
    }
}
