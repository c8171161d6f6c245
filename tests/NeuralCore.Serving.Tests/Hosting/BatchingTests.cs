using System.Net;
using System.Text;
using System.Text.Json;
using NeuralCore.Nn;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Registry;
using NeuralCore.Serving.Tests.Registry;

namespace NeuralCore.Serving.Tests.Hosting;

/// <summary>Dynamic micro-batching, the per-model concurrency limit and the request timeout.</summary>
public sealed class BatchingTests : IDisposable
{
    readonly RegistryBackend env = RegistryBackend.Create("sqlite");
    readonly ModelRegistry registry;

    public BatchingTests()
    {
        registry = env.Open();
        Rng.ManualSeed(7);
        // The Fashion-MNIST MLP's architecture (untrained weights are as good for comparing bits).
        var mlp = new Sequential(new Flatten(), new Dense(64, activation: Activation.Relu), new Dense(32, activation: Activation.Relu), new Dense(10));
        registry.Register("mlp", mlp, null, new RegisterOptions { InputShape = [-1, 1, 28, 28] });
    }

    public void Dispose()
    {
        registry.Dispose();
        env.Dispose();
    }

    static Tensor Rows(int count, int seed)
    {
        var random = new Random(seed);
        return Tensor.FromArray(Enumerable.Range(0, count * 784).Select(_ => (float)random.NextDouble()).ToArray(), count, 1, 28, 28);
    }

    [Fact]
    public async Task ConcurrentRequests_AreCoalesced_AndBitIdenticalToUnbatched()
    {
        using var plain = new LoadedModels(registry);
        using var batched = new LoadedModels(registry, null, new ServingOptions
        {
            // Callers of the model itself, not of the host: no arrivals to wait for, so each batch waits the full delay.
            Batching = new BatchingOptions { MaxBatchSize = 16, MaxQueueDelay = TimeSpan.FromMilliseconds(50), DispatchWhenIdle = false },
        });
        var model = plain.Get("mlp", "1");
        var batchedModel = batched.Get("mlp", "1");
        // Requests of 1, 2 and 3 rows: batches mix them, and a batch never exceeds 16 rows.
        var inputs = Enumerable.Range(0, 24).Select(i => Rows(1 + i % 3, i)).ToList();
        var expected = inputs.Select(x => model.Predict(x)).ToList();
        long before = batchedModel.BatchedForwardPasses!.Value;   // the warm-up ran directly, not through the queue

        var results = await Task.WhenAll(inputs.Select(x => Task.Run(() => batchedModel.PredictAsync(x))));

        for (int i = 0; i < inputs.Count; i++)
        {
            Assert.Equal(expected[i].Shape, results[i].Shape);
            Assert.Equal(expected[i].Values, results[i].Values);   // exact: each row of a batch is computed as if alone
        }
        long passes = batchedModel.BatchedForwardPasses!.Value - before;
        Assert.True(passes < inputs.Count, $"{passes} forward passes for {inputs.Count} requests: nothing was coalesced.");
        Assert.True(passes >= 48 / 16, $"{passes} forward passes cannot hold 48 rows in batches of at most 16.");
    }

    [Fact]
    public async Task OverHttp_BatchedAnswersEqualInProcessForward()
    {
        await using var host = await LoopbackHost.StartAsync(registry, new ServingOptions
        {
            AllowAnonymousInference = true,
            Batching = new BatchingOptions { MaxBatchSize = 8, MaxQueueDelay = TimeSpan.FromMilliseconds(5) },
            MaxConcurrencyPerModel = 2,
        });
        var http = host.Http;
        var reference = registry.Load("mlp", "1");
        var tasks = Enumerable.Range(0, 32).Select(async i =>
        {
            var x = Rows(1, 100 + i);
            string body = $$"""{"inputs": [{"name": "input", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": [{{string.Join(",", x.ToArray<float>().Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}}]}]}""";
            using var response = await http.PostAsync("/v2/models/mlp/infer", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            float[] got = [.. json.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle())];
            float[] want;
            using (Tensor.NoGrad()) want = reference.Forward(x).ToArray<float>();
            Assert.Equal(want, got);
        });
        await Task.WhenAll(tasks);
    }

    [Fact]
    public async Task RequestTimeout_GivesTimeoutException_And503OverHttp()
    {
        var slow = new ServingOptions
        {
            Urls = ["http://127.0.0.1:0"],
            AllowAnonymousInference = true,
            // The batcher holds the first request up to 2 s (always: no adaptive dispatch); the timeout is 50 ms.
            Batching = new BatchingOptions { MaxBatchSize = 1000, MaxQueueDelay = TimeSpan.FromSeconds(2), DispatchWhenIdle = false },
            RequestTimeout = TimeSpan.FromMilliseconds(50),
        };
        using (var models = new LoadedModels(registry, null, slow))
            Assert.Contains("request timeout", (await Assert.ThrowsAsync<TimeoutException>(() => models.Get("mlp", "1").PredictAsync(Rows(1, 1)))).Message);

        await using var host = await LoopbackHost.StartAsync(registry, slow);
        var http = host.Http;
        using var response = await http.PostAsync("/v1/models/mlp:predict", new StringContent($"[{string.Join(",", Enumerable.Repeat("0", 784))}]", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("timed out", await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v2/health/live")).StatusCode);
    }

    [Fact]
    public async Task DispatchWhenIdle_LoneRequestRunsAtOnce_DespiteLongDelay()
    {
        using var models = new LoadedModels(registry, null, new ServingOptions
        {
            Batching = new BatchingOptions { MaxBatchSize = 32, MaxQueueDelay = TimeSpan.FromSeconds(5) },
        });
        var model = models.Get("mlp", "1");
        var x = Rows(1, 3);
        long before = model.BatchedForwardPasses!.Value;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var task = model.PredictAsync(x);
        Assert.True(task.IsCompletedSuccessfully, "a request finding the batcher idle and nothing else on its way should run at once");
        var (shape, values) = await task;
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2.5), $"the lone request took {watch.Elapsed.TotalMilliseconds:F0} ms with a 5 s queue delay");
        Assert.Equal(1, model.BatchedForwardPasses!.Value - before);
        var (wantShape, wantValues) = model.Predict(x);
        Assert.Equal(wantShape, shape);
        Assert.Equal(wantValues, values);
    }

    /// <summary>Passes its input through; the first forward pass holds until released.</summary>
    sealed class HeldOnce : Module
    {
        public readonly ManualResetEventSlim Entered = new(), Release = new();
        int calls;

        public override Tensor Forward(Tensor x)
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                Entered.Set();
                Release.Wait(TimeSpan.FromSeconds(10));
            }
            return x;
        }
    }

    [Fact]
    public async Task DispatchWhenIdle_RequestsQueuedDuringAForwardPass_FormTheNextBatch()
    {
        var held = new HeldOnce();
        var info = registry.Resolve("mlp", "1");
        using var model = new LoadedModel(info, new Sequential(held, new Flatten()), new ServingOptions
        {
            Batching = new BatchingOptions { MaxBatchSize = 32, MaxQueueDelay = TimeSpan.FromSeconds(5) },
        });
        // The first request finds the batcher idle and runs at once on its own thread, where it is held.
        var first = Task.Run(() => model.PredictAsync(Rows(1, 10)));
        Assert.True(held.Entered.Wait(TimeSpan.FromSeconds(10)), "the first forward pass did not start");
        var inputs = Enumerable.Range(0, 5).Select(i => Rows(1 + i % 2, 20 + i)).ToList();
        var queued = inputs.Select(x => model.PredictAsync(x)).ToList();
        await Task.Delay(50);
        Assert.All(queued, t => Assert.False(t.IsCompleted));
        held.Release.Set();
        var results = await Task.WhenAll(queued).WaitAsync(TimeSpan.FromSeconds(4));   // well before the 5 s delay
        await first;
        Assert.Equal(2, model.BatchedForwardPasses);   // the held one, then one batch for the five queued
        for (int i = 0; i < inputs.Count; i++)
        {
            Assert.Equal([inputs[i].Shape[0], 784L], results[i].Shape);
            Assert.Equal(inputs[i].ToArray<float>(), results[i].Values);
        }
    }

    [Fact]
    public void BadSettings_AreRefused()
    {
        using var zero = new LoadedModels(registry, null, new ServingOptions { MaxConcurrencyPerModel = 0 });
        Assert.Contains("at least 1", Assert.Throws<ArgumentException>(() => zero.Get("mlp", "1")).Message);
        using var batch = new LoadedModels(registry, null, new ServingOptions { Batching = new BatchingOptions { MaxBatchSize = 0 } });
        Assert.Contains("MaxBatchSize", Assert.Throws<ArgumentException>(() => batch.Get("mlp", "1")).Message);
        Assert.Throws<ArgumentException>(() => ServingHost.Create(registry, new ServingOptions { MaxConcurrencyPerModel = 0 }));
        Assert.Throws<ArgumentException>(() => ServingHost.Create(registry, new ServingOptions { Batching = new BatchingOptions { MaxBatchSize = 0 } }));
        Assert.Throws<ArgumentException>(() => ServingHost.Create(registry, new ServingOptions { RequestTimeout = TimeSpan.Zero }));
    }
}
