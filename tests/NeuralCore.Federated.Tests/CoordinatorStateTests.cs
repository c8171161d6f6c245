using NeuralCore.Data;
using NeuralCore.Federated;

namespace NeuralCore.Federated.Tests;

[Collection(GlobalRngCollection.Name)]
public class CoordinatorStateTests
{
    static CoordinatorOptions Options(string? dir) => new()
    {
        MinClients = 2, ClientFraction = 0.5, LocalEpochs = 2, BatchSize = 4, LearningRate = 0.2, Seed = 21,
        RoundTimeout = TimeSpan.FromSeconds(60), StateDirectory = dir,
    };

    static async Task<(float[] Weights, int[][] Selected)> Run(CoordinatorOptions options, TensorDataset data, int rounds)
    {
        await using var run = await FederatedRun.StartAsync(options);
        for (int k = 0; k < 4; k++) await run.AddClientAsync(new Subset(data, Enumerable.Range(k * 8, 8)));
        var log = await run.Coordinator.RunAsync(rounds);
        return (run.Coordinator.GlobalWeights, [.. log.Select(r => r.Selected.ToArray())]);
    }

    [Fact]
    public async Task ResumedCoordinator_ContinuesExactlyAsAnUninterruptedOne()
    {
        var data = FederatedRun.Data(32, seed: 6);
        var uninterrupted = await Run(Options(null), data, 3);

        string dir = Path.Combine(Path.GetTempPath(), "neuralcore-fedavg-" + Guid.NewGuid().ToString("N"));
        try
        {
            var firstPart = await Run(Options(dir), data, 2);
            Assert.True(File.Exists(Path.Combine(dir, "state.json")));
            Assert.Equal(2, File.ReadAllLines(Path.Combine(dir, "rounds.jsonl")).Length);

            // A new coordinator (new model initialisation seed, so nothing but the saved state can make it agree).
            Rng.ManualSeed(999);
            await using (var probe = new FederatedCoordinator(FederatedRun.NewModel, Options(dir)))
            {
                Assert.Equal(2, probe.NextRound);
                Assert.Equal(firstPart.Weights, probe.GlobalWeights);
            }
            var resumed = await Run(Options(dir), data, 3);
            Assert.Single(resumed.Selected);
            Assert.Equal(uninterrupted.Selected[2], resumed.Selected[0]);
            Assert.Equal(uninterrupted.Weights, resumed.Weights);
            Assert.NotEqual(firstPart.Weights, resumed.Weights);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task DpFedAvg_BoundsEachRoundsChangeByTheClipNorm()
    {
        var data = FederatedRun.Data(32, seed: 7);
        var plain = Options(null) with { ClientFraction = 1, LearningRate = 2, LocalEpochs = 3 };
        var unclipped = await Run(plain, data, 1);
        const double Clip = 0.05;
        await using var run = await FederatedRun.StartAsync(plain with { ClipNorm = Clip, NoiseMultiplier = 0 });
        for (int k = 0; k < 4; k++) await run.AddClientAsync(new Subset(data, Enumerable.Range(k * 8, 8)));
        var initial = run.Coordinator.GlobalWeights;
        var log = await run.Coordinator.RunAsync(2);
        Assert.All(log, r => Assert.InRange(r.UpdateNorm, Clip * 0.5, Clip * (1 + 1e-5)));
        Assert.All(log, r => Assert.Equal(1.0, r.SamplingRate));
        // The same round without clipping moves the model much further, so the bound is what held it.
        double free = Math.Sqrt(unclipped.Weights.Zip(initial).Sum(p => (double)(p.First - p.Second) * (p.First - p.Second)));
        Assert.True(free > 4 * Clip, $"unclipped change {free}");

        await using var noisy = await FederatedRun.StartAsync(plain with { ClipNorm = Clip, NoiseMultiplier = 1.5 });
        for (int k = 0; k < 4; k++) await noisy.AddClientAsync(new Subset(data, Enumerable.Range(k * 8, 8)));
        var noisyLog = await noisy.Coordinator.RunAsync(2);
        Assert.Equal([1, 2], noisyLog.Select(r => r.NoisedRounds));
        Assert.All(noisyLog, r => Assert.Equal(1.5, r.NoiseMultiplier));
        // Noise of deviation σS/m on each of 38 weights: the change is about σS√38/4 ≈ 0.12, far past the clip bound.
        Assert.All(noisyLog, r => Assert.True(r.UpdateNorm > 2 * Clip, $"noisy update norm {r.UpdateNorm}"));
    }

    [Fact]
    public async Task DpFedAvg_WithPoissonSelection_ReportsTheAccountantsEpsilon()
    {
        var data = FederatedRun.Data(32, seed: 8);
        var options = Options(null) with
        {
            MinClients = 1, ClientFraction = 0.5, LearningRate = 0.5, ClipNorm = 0.05, NoiseMultiplier = 1.0,
            PoissonSelection = true, Delta = 1e-5,
        };
        await using var run = await FederatedRun.StartAsync(options);
        for (int k = 0; k < 4; k++) await run.AddClientAsync(new Subset(data, Enumerable.Range(k * 8, 8)));
        var log = await run.Coordinator.RunAsync(3);
        var completed = log.Where(r => r.Status == RoundStatus.Completed).ToList();
        Assert.Equal(3, completed.Count);
        Assert.All(log, r => Assert.Equal(0.5, r.SamplingRate));
        double previous = 0;
        foreach (var r in completed)
        {
            var reference = new NeuralCore.Privacy.Accounting.RdpAccountant();
            reference.Step(1.0, 0.5, r.NoisedRounds);
            Assert.NotNull(r.Epsilon);
            Assert.Equal(reference.GetEpsilon(1e-5), r.Epsilon!.Value, 12);
            Assert.True(r.Epsilon > previous, $"epsilon {r.Epsilon} after {previous}");
            previous = r.Epsilon.Value;
        }
    }

    [Fact]
    public async Task Delta_WithoutPoissonSelection_IsRefused()
    {
        var options = Options(null) with { ClipNorm = 1, NoiseMultiplier = 1, Delta = 1e-5 };
        var e = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => { await using var run = await FederatedRun.StartAsync(options); });
        Assert.Contains("PoissonSelection", e.Message);
    }
}
