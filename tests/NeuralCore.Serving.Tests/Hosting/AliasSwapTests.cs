using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using NeuralCore.Nn;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Registry;
using NeuralCore.Serving.Tests.Registry;

namespace NeuralCore.Serving.Tests.Hosting;

/// <summary>
/// Moving an alias, and registering a version that takes the alias, while clients keep sending requests through it
/// to a real Kestrel host on loopback: no request fails, every answer is one version's exact prediction, and requests
/// sent after a change get the new version.
/// </summary>
public sealed class AliasSwapTests : IDisposable
{
    const int Clients = 4;
    const int RequestsPerClient = 200;
    const int Rows = 8;

    readonly RegistryBackend env = RegistryBackend.Create("sqlite");
    readonly ModelRegistry registry;

    public AliasSwapTests() => registry = env.Open();

    public void Dispose()
    {
        registry.Dispose();
        env.Dispose();
    }

    static Sequential Mlp(int seed)
    {
        Rng.ManualSeed(seed);
        return new Sequential(new Flatten(), new Dense(64, activation: Activation.Relu), new Dense(32, activation: Activation.Relu), new Dense(10));
    }

    static float[] Row(int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, 784).Select(_ => (float)random.NextDouble())];
    }

    static float[] Predict(Sequential model, float[] row)
    {
        using (Tensor.NoGrad())
            return model.Forward(Tensor.FromArray(row, 1, 1, 28, 28)).ToArray<float>();
    }

    static string Body(float[] row) =>
        $$"""{"inputs": [{"name": "input", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": [{{string.Join(",", row.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}}]}]}""";

    sealed record Answer(int Client, int Sequence, long SentTicks, long ReceivedTicks, HttpStatusCode Status, string Version, float[] Values, int Row, string Body);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task MovingTheAlias_UnderConcurrentLoad_LosesNoRequest_AndEachAnswerIsOneVersionsExactPrediction(bool batching)
    {
        registry.Register("mlp", Mlp(11), null, new RegisterOptions { InputShape = [-1, 1, 28, 28], Aliases = ["production"] });
        registry.Register("mlp", Mlp(12), null, new RegisterOptions { InputShape = [-1, 1, 28, 28] });
        await using var host = await LoopbackHost.StartAsync(registry, new ServingOptions
        {
            AllowAnonymousInference = true,
            Batching = batching ? new BatchingOptions { MaxBatchSize = 8, MaxQueueDelay = TimeSpan.FromMilliseconds(1) } : null,
        });
        var http = host.Http;
        var rows = Enumerable.Range(0, Rows).Select(i => Row(500 + i)).ToArray();
        var bodies = rows.Select(Body).ToArray();

        // Version 1 until a quarter of the requests are answered, then version 2 (the alias moved), then, from
        // 60 %, version 3 (registered with the alias, which moves it again).
        var answers = new ConcurrentBag<Answer>();
        int answered = 0;
        var quarter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sixty = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = Stopwatch.StartNew();

        async Task Client(int client)
        {
            for (int i = 0; i < RequestsPerClient; i++)
            {
                int row = (client * RequestsPerClient + i) % Rows;
                long sent = clock.ElapsedTicks;
                using var response = await http.PostAsync("/v2/models/mlp/versions/production/infer", new StringContent(bodies[row], Encoding.UTF8, "application/json"));
                string text = await response.Content.ReadAsStringAsync();
                string version = "";
                float[] values = [];
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    using var json = JsonDocument.Parse(text);
                    version = json.RootElement.GetProperty("model_version").GetString()!;
                    values = [.. json.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle())];
                }
                answers.Add(new Answer(client, i, sent, clock.ElapsedTicks, response.StatusCode, version, values, row, text));
                int done = Interlocked.Increment(ref answered);
                if (done == Clients * RequestsPerClient / 4) quarter.TrySetResult();
                if (done == Clients * RequestsPerClient * 6 / 10) sixty.TrySetResult();
            }
        }

        long moving = 0, movedTo2 = 0, movedTo3 = 0;
        async Task Swapper()
        {
            await quarter.Task;
            moving = clock.ElapsedTicks;
            registry.SetAlias("mlp", "production", 2);
            movedTo2 = clock.ElapsedTicks;
            await sixty.Task;
            registry.Register("mlp", Mlp(13), null, new RegisterOptions { InputShape = [-1, 1, 28, 28], Aliases = ["production"] });
            movedTo3 = clock.ElapsedTicks;
        }

        var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(() => Client(c))).ToList();
        await Task.WhenAll([.. clients, Swapper()]);

        var all = answers.ToList();
        Assert.Equal(Clients * RequestsPerClient, all.Count);
        var failed = all.Where(a => a.Status != HttpStatusCode.OK).ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} requests failed, the first: {failed.FirstOrDefault()?.Status} {failed.FirstOrDefault()?.Body}");

        // Each answer is exactly what its version computes in process.
        var expected = new Dictionary<string, float[][]>();
        foreach (string v in new[] { "1", "2", "3" })
        {
            var model = registry.Load("mlp", v);
            expected[v] = [.. rows.Select(r => Predict(model, r))];
        }
        foreach (var a in all)
        {
            Assert.Contains(a.Version, expected.Keys);
            Assert.Equal(expected[a.Version][a.Row], a.Values);
        }
        Assert.NotEqual(expected["1"][0], expected["2"][0]);   // the versions are told apart by their answers

        // Requests sent after a move get the new version (or a newer one); a request answered before the first move
        // got version 1; and one client's sequential requests never go back to an older version.
        foreach (var a in all)
        {
            int v = int.Parse(a.Version, CultureInfo.InvariantCulture);
            if (a.ReceivedTicks < moving) Assert.Equal(1, v);
            if (a.SentTicks > movedTo3) Assert.Equal(3, v);
            else if (a.SentTicks > movedTo2) Assert.True(v >= 2, $"client {a.Client} request {a.Sequence}, sent after the move to version 2, got version {v}");
        }
        foreach (var client in all.GroupBy(a => a.Client))
        {
            var versions = client.OrderBy(a => a.Sequence).Select(a => int.Parse(a.Version, CultureInfo.InvariantCulture)).ToList();
            for (int i = 1; i < versions.Count; i++)
                Assert.True(versions[i] >= versions[i - 1], $"client {client.Key}: request {i} got version {versions[i]} after version {versions[i - 1]}");
        }
        Assert.Contains(all, a => a.Version == "1");
        Assert.Contains(all, a => a.Version == "2");
        Assert.Contains(all, a => a.Version == "3");
        Assert.True(all.Count(a => a.SentTicks > movedTo3) > 0, "no request was sent after the last move");
    }
}
