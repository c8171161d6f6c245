using System.Diagnostics;
using NeuralCore.Data;
using NeuralCore.Federated;
using NeuralCore.Nn;
using NeuralCore.Optim;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Federated.Tests;

[Collection(GlobalRngCollection.Name)]
public class FederatedAveragingTests
{
    internal const int ShardSize = 16, ClientCount = 4;

    internal static CoordinatorOptions FullBatch => new()
    {
        MinClients = ClientCount, ClientFraction = 1, LocalEpochs = 1, BatchSize = 0, LearningRate = 0.5,
        RoundTimeout = TimeSpan.FromSeconds(60), MaxRoundRetries = 0,
    };

    internal static Subset Shard(TensorDataset data, int k) => new(data, Enumerable.Range(k * ShardSize, ShardSize));

    /// <summary>Plain SGD on the union of the shards, one full batch per step, from the same initial weights.</summary>
    internal static float[] LargeBatchSgd(float[] initial, Dataset union, int steps, double lr)
    {
        var model = FederatedRun.NewModel();
        ModelVector.Load(model, initial);
        var optimizer = new Sgd(model.Parameters(), lr: lr);
        var (x, y) = union.GetBatch([.. Enumerable.Range(0, union.Count)]);
        for (int s = 0; s < steps; s++)
        {
            optimizer.ZeroGrad();
            F.CrossEntropy(model.Forward(x), y).Backward();
            optimizer.Step();
        }
        return ModelVector.Flatten(model);
    }

    internal static void AssertClose(float[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(worst <= tolerance, $"largest difference {worst:E3} exceeds {tolerance:E1}");
    }

    async Task<(float[] Initial, float[] Final, IReadOnlyList<RoundLog> Log)> RunAsync(CoordinatorOptions options, TensorDataset data, int rounds)
    {
        await using var run = await FederatedRun.StartAsync(options);
        var initial = run.Coordinator.GlobalWeights;
        for (int k = 0; k < ClientCount; k++) await run.AddClientAsync(Shard(data, k));
        var log = await run.Coordinator.RunAsync(rounds);
        return (initial, run.Coordinator.GlobalWeights, log);
    }

    [Fact]
    public async Task FullParticipationOneStepEqualShards_EqualsLargeBatchSgd()
    {
        var data = FederatedRun.Data(ShardSize * ClientCount, seed: 1);
        var (initial, final, log) = await RunAsync(FullBatch, data, rounds: 3);
        Assert.All(log, r => Assert.Equal(RoundStatus.Completed, r.Status));
        Assert.All(log, r => Assert.Equal(ClientCount, r.Answered.Count));
        var reference = LargeBatchSgd(initial, data, steps: 3, lr: 0.5);
        Assert.True(reference.Zip(initial).Max(p => Math.Abs(p.First - p.Second)) > 1e-2, "the weights moved");
        AssertClose(reference, final, 1e-5);
    }

    [Fact]
    public async Task SecureAggregation_EqualsPlainAggregation()
    {
        var data = FederatedRun.Data(ShardSize * ClientCount, seed: 2);
        var plain = await RunAsync(FullBatch, data, rounds: 2);
        var masked = await RunAsync(FullBatch with { SecureAggregation = true, SelfMasks = true, ScaleBits = 20 }, data, rounds: 2);
        Assert.Equal(plain.Initial, masked.Initial);
        Assert.All(masked.Log, r => Assert.True(r.Secure && r.Status == RoundStatus.Completed));
        // Each client's weighted update is rounded to 2^-20 (error ≤ 2^-21 each, 4 clients, 2 rounds), then divided by the
        // decoded weight sum (1 up to the same rounding); float32 rounding of the weights adds ~1e-7.
        AssertClose(plain.Final, masked.Final, 2 * ClientCount * Math.Pow(2, -21) * 1.5 + 1e-6);
        Assert.True(plain.Final.Zip(plain.Initial).Max(p => Math.Abs(p.First - p.Second)) > 1e-2);
    }

    [Fact]
    public async Task SilentClient_DoesNotStallTheRoundBeyondItsDeadline()
    {
        var data = FederatedRun.Data(ShardSize * 2, seed: 3);
        var options = FullBatch with { MinClients = 2, RoundTimeout = TimeSpan.FromSeconds(3) };
        await using var run = await FederatedRun.StartAsync(options);
        var initial = run.Coordinator.GlobalWeights;
        await run.AddClientAsync(Shard(data, 0));
        await run.AddClientAsync(Shard(data, 1));
        // Reads everything the coordinator sends and never answers.
        await run.AddRawClientAsync(ShardSize, async (call, ct) =>
        {
            while (await call.ResponseStream.MoveNext(ct)) { }
        });
        var clock = Stopwatch.StartNew();
        var log = await run.Coordinator.RunAsync(1);
        double seconds = clock.Elapsed.TotalSeconds;
        var round = Assert.Single(log);
        Assert.Equal(RoundStatus.Completed, round.Status);
        Assert.Equal([3], round.Dropped);
        Assert.Equal([1, 2], round.Answered);
        Assert.InRange(seconds, 2.9, 3 + 10);
        // The survivors' average is large-batch SGD on their shards.
        AssertClose(LargeBatchSgd(initial, data, 1, 0.5), run.Coordinator.GlobalWeights, 1e-5);
    }

    [Fact]
    public async Task TooFewAnswers_RetriesThenSkipsWithAReason()
    {
        var data = FederatedRun.Data(ShardSize, seed: 5);
        var options = FullBatch with { MinClients = 2, MaxRoundRetries = 1, RoundTimeout = TimeSpan.FromSeconds(1), RetryDelay = TimeSpan.Zero };
        await using var run = await FederatedRun.StartAsync(options);
        var initial = run.Coordinator.GlobalWeights;
        await run.AddClientAsync(Shard(data, 0));
        await run.AddRawClientAsync(ShardSize, async (call, ct) =>
        {
            while (await call.ResponseStream.MoveNext(ct)) { }
        });
        var log = await run.Coordinator.RunAsync(1);
        Assert.Equal([RoundStatus.Retried, RoundStatus.Skipped], log.Select(r => r.Status));
        Assert.All(log, r => Assert.Contains("1 updates received, MinClients is 2", r.Reason));
        Assert.All(log, r => Assert.Contains("client 2: no answer before the deadline", r.Reason));
        Assert.Equal(1, run.Coordinator.NextRound);
        Assert.Equal(initial, run.Coordinator.GlobalWeights);
    }

    [Fact]
    public async Task ClientWithAnotherModel_IsRefused()
    {
        await using var run = await FederatedRun.StartAsync(FullBatch);
        var other = new FederatedClient(new Sequential(new Linear(FederatedRun.Features, 2)), FederatedRun.Data(4, 1), run.Coordinator.Port);
        var e = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => other.RunAsync());
        Assert.Equal(Grpc.Core.StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("14 parameters", e.Status.Detail);
    }

    [Fact]
    public async Task ModelLargerThanTheMessageLimit_TravelsInChunks()
    {
        // 1,500,003 parameters: 6 MB of floats, more than the 4 MiB message limit.
        static Module Wide() => new Sequential(new Linear(FederatedRun.Features, 150_000), new ReLU(), new Linear(150_000, FederatedRun.Classes));
        var data = FederatedRun.Data(ShardSize * 2, seed: 8);
        var results = new List<float[]>();
        foreach (bool secure in new[] { false, true })
        {
            await using var run = await FederatedRun.StartAsync(FullBatch with { MinClients = 2, SecureAggregation = secure }, factory: Wide);
            Assert.True(ModelVector.Count(run.Coordinator.Model) * 4 > 4 << 20);
            await run.AddClientAsync(Shard(data, 0));
            await run.AddClientAsync(Shard(data, 1));
            var round = Assert.Single(await run.Coordinator.RunAsync(1));
            Assert.Equal(RoundStatus.Completed, round.Status);
            Assert.True(round.UpdateNorm > 0);
            results.Add(run.Coordinator.GlobalWeights);
        }
        AssertClose(results[0], results[1], 2 * Math.Pow(2, -21) * 1.5 + 1e-6);
    }
}
