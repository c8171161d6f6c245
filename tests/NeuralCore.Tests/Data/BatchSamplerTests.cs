using NeuralCore.Data;
using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Training;

namespace NeuralCore.Tests.Data;

public sealed class BatchSamplerTests
{
    sealed class FixedBatches(params int[][] batches) : IBatchSampler
    {
        public IEnumerable<int[]> Sample(int count, Generator generator) => batches;
        public int BatchesPerEpoch(int count) => batches.Length;
        public int ExpectedBatchSize(int count) => 2;
    }

    static TensorDataset Data(int n) =>
        new(Tensor.Arange(0, n * 2, 1, DType.Float32).Reshape(n, 2), Tensor.FromArray(Enumerable.Range(0, n).Select(i => (long)(i % 2)).ToArray(), n));

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void Loader_yields_the_sampled_batches_including_empty_ones(int workers)
    {
        var loader = new DataLoader(Data(5), new FixedBatches([3, 1], [], [4, 0, 2]), new Generator(1), workers: workers);
        Assert.Equal(3, loader.Count);
        Assert.Equal(2, loader.BatchSize);
        var batches = loader.ToList();
        Assert.Equal(3, batches.Count);
        Assert.Equal([6f, 7f, 2f, 3f], batches[0].Inputs.ToArray<float>());
        Assert.Equal([0L, 2L], batches[1].Inputs.Shape.ToArray());
        Assert.Equal([0L], batches[1].Targets.Shape.ToArray());
        Assert.Equal([0L, 0L, 0L], batches[2].Targets.ToArray<long>());
        Assert.Equal([8f, 9f, 0f, 1f, 4f, 5f], batches[2].Inputs.ToArray<float>());
    }

    [Fact]
    public void Out_of_range_indices_from_a_sampler_are_refused()
    {
        var loader = new DataLoader(Data(3), new FixedBatches([0, 3]), new Generator(1));
        var e = Assert.Throws<InvalidOperationException>(() => loader.GetEnumerator());
        Assert.Contains("index 3", e.Message);
    }

    [Fact]
    public void Fit_from_a_loader_steps_on_empty_batches_without_a_forward_pass()
    {
        Rng.Default.ManualSeed(3);
        var model = new Sequential(new Linear(2, 2));
        var opt = new Sgd(model.Parameters(), lr: 0.01);
        int steps = 0;
        using var hook = opt.RegisterStepPreHook(_ => steps++);
        model.Compile(opt, "sparse_categorical_crossentropy");
        var history = model.Fit(new DataLoader(Data(5), new FixedBatches([0, 1], [], [2, 3, 4])), epochs: 2, verbose: 0);
        Assert.Equal(6, steps);
        Assert.Equal(2, history["loss"].Count);
        Assert.True(double.IsFinite(history["loss"][0]));
    }
}
