using NeuralCore.Backends.Cpu;
using NeuralCore.Data;
using NeuralCore.Nn;
using NeuralCore.Optim;
using NeuralCore.Vision;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Tests.Convergence;

/// <summary>
/// Same seed, same bits: a PyTorch-style loop on real Fashion-MNIST images (a DataLoader that shuffles and assembles
/// batches on worker threads with a random-crop transform, dropout, batch norm, Adam) gives bit-identical weights,
/// buffers and losses when run twice from <see cref="Rng.ManualSeed"/>, and also with one CPU thread instead of two.
/// Reseeds the default generator and changes the thread count, so it runs in the non-parallel "Memory" collection.
/// </summary>
[Collection("Memory")]
public sealed class ReproducibilityTests
{
    const int Steps = 40;   // two epochs of 20 batches: the second epoch's shuffle and seeds are covered too

    static Module SmallCnn() => new Sequential(
        new Conv2d(1, 8, 3, padding: 1), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
        new Conv2d(8, 16, 3, padding: 1), new ReLU(), new MaxPool2d(2),
        new Flatten(), new Dropout(0.25), new Linear(16 * 7 * 7, 32), new ReLU(), new Dropout(0.5), new Linear(32, 10));

    static Module Mlp() => new Sequential(
        new Flatten(), new Linear(784, 64), new ReLU(), new Dropout(0.3), new Linear(64, 32), new ReLU(), new Linear(32, 10));

    /// <summary>Trains for <see cref="Steps"/> steps and returns every state-dict entry and every step's loss as raw bits.</summary>
    static Dictionary<string, int[]> Train(Func<Module> build, long seed, int threads)
    {
        int savedThreads = CpuParallel.MaxDegreeOfParallelism;
        CpuParallel.MaxDegreeOfParallelism = threads;
        try
        {
            Rng.ManualSeed(seed);
            var data = BundledFashionMnist.Train(640, Transforms.Compose(Transforms.RandomCrop(28, padding: 2), Transforms.ToTensor()));
            var model = build();
            var optimizer = new Adam(model.Parameters(), lr: 1e-3);
            var loader = new DataLoader(data, batchSize: 32, shuffle: true, workers: 2);
            var losses = new List<float>();
            model.Train();
            while (losses.Count < Steps)
                foreach (var (x, y) in loader)
                {
                    using var scope = Tensor.Scope();
                    optimizer.ZeroGrad();
                    var loss = F.CrossEntropy(model.Forward(x), y);
                    loss.Backward();
                    optimizer.Step();
                    losses.Add(loss.Item<float>());
                }
            var bits = model.StateDict().ToDictionary(kv => kv.Key, kv => Bits(kv.Value));
            bits["losses"] = losses.Select(BitConverter.SingleToInt32Bits).ToArray();
            return bits;
        }
        finally
        {
            CpuParallel.MaxDegreeOfParallelism = savedThreads;
        }
    }

    static int[] Bits(Tensor t) => t.DType == DType.Float32
        ? t.ToArray<float>().Select(BitConverter.SingleToInt32Bits).ToArray()
        : t.ToArray<long>().Select(v => (int)v).ToArray();   // BatchNorm's num_batches_tracked

    static void AssertBitIdentical(Dictionary<string, int[]> expected, Dictionary<string, int[]> actual, string what)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (key, bits) in expected)
        {
            int first = Enumerable.Range(0, bits.Length).FirstOrDefault(i => bits[i] != actual[key][i], -1);
            Assert.True(first < 0, $"{what}: {key} differs first at element {first} " +
                                   $"({(first < 0 ? 0 : BitConverter.Int32BitsToSingle(bits[first]))} vs {(first < 0 ? 0 : BitConverter.Int32BitsToSingle(actual[key][first]))}).");
        }
    }

    public static TheoryData<string> Models => new() { "cnn", "mlp" };

    [Theory]
    [MemberData(nameof(Models))]
    public void SameSeed_GivesBitIdenticalWeights_Twice_AndWithOneOrTwoThreads(string model)
    {
        Func<Module> build = model == "cnn" ? SmallCnn : Mlp;
        var first = Train(build, seed: 2024, threads: 2);
        var second = Train(build, seed: 2024, threads: 2);
        var oneThread = Train(build, seed: 2024, threads: 1);
        var otherSeed = Train(build, seed: 2025, threads: 2);

        AssertBitIdentical(first, second, "same seed, run twice");
        AssertBitIdentical(first, oneThread, "same seed, 1 thread instead of 2");
        // The comparison can fail: another seed changes initial weights, order, crops and dropout masks, hence every weight.
        Assert.All(first.Keys.Where(k => k.EndsWith("weight", StringComparison.Ordinal)),
            k => Assert.NotEqual(first[k], otherSeed[k]));
        // And training happened: the losses moved.
        var losses = first["losses"].Select(BitConverter.Int32BitsToSingle).ToArray();
        Assert.True(losses[^5..].Average() < losses[..5].Average(), $"loss did not fall: {string.Join(", ", losses)}");
    }
}
