using NeuralCore.Training;

namespace NeuralCore.Tests.Training;

[Collection("Memory")]
public sealed class TrainingMemoryTests
{
    [Fact]
    public void Fit_KeepsLiveTensorsAndBytesFlatAcrossEpochs()
    {
        Rng.ManualSeed(17);
        var model = SyntheticData.KerasModel();
        model.Compile("adam", "categorical_crossentropy", new[] { "accuracy" });
        var probe = new MemoryProbe();

        model.Fit(SyntheticData.Dataset(600, seed: 1), epochs: 8, batchSize: 32,
            validationData: SyntheticData.Dataset(100, seed: 2), verbose: 0, callbacks: [probe]);

        // Epoch 0 allocates the optimizer state; from then on nothing may accumulate. The data loader may still hold
        // one prefetched batch (inputs and targets) when an epoch ends, hence the slack of two tensors; a leak of
        // anything per step or per epoch would add at least seven over the remaining epochs.
        Assert.Equal(8, probe.Samples.Count);
        var reference = probe.Samples[1];
        Assert.All(probe.Samples.Skip(2), s =>
        {
            Assert.InRange(s.LiveTensors, reference.LiveTensors - 2, reference.LiveTensors + 2);
            Assert.InRange(s.UsedBytes, reference.UsedBytes - 16 * 1024, reference.UsedBytes + 16 * 1024);
        });
    }

    sealed class MemoryProbe : Callback
    {
        public List<DeviceMemoryStats> Samples { get; } = [];

        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
        {
            MemoryStats.Collect();
            Samples.Add(MemoryStats.Cpu);
        }
    }
}
