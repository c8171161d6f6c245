using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NeuralCore.Nn;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Registry;
using Npgsql;
using Xunit.Abstractions;

namespace NeuralCore.Serving.Tests.Hosting;

/// <summary>
/// Two hosts sharing one registry, each through its own <see cref="ModelRegistry"/> instance (as two processes or
/// machines would): an alias moved or a version registered on host A is served by host B within the stated bound
/// (PostgreSQL: the change notification; SQLite: the refresh interval), while between changes host B answers
/// resolutions from its cache instead of the database.
/// </summary>
public sealed class ReplicaConsistencyTests(ITestOutputHelper log) : IDisposable
{
    /// <summary>The bound stated for PostgreSQL with its listener up (docs/serving.md): one second.</summary>
    static readonly TimeSpan NotifiedBound = TimeSpan.FromSeconds(1);

    /// <summary>The refresh interval of the SQLite case; the bound there is this interval.</summary>
    static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>Time the observing poll adds on top of the interval: one infer request on loopback plus the poll spacing.</summary>
    static readonly TimeSpan PollSlack = TimeSpan.FromMilliseconds(500);

    RegistryBackend? env;

    public void Dispose() => env?.Dispose();

    static Sequential Mlp(int seed)
    {
        Rng.ManualSeed(seed);
        return new Sequential(new Flatten(), new Dense(16, activation: Activation.Relu), new Dense(10));
    }

    static readonly RegisterOptions Shape = new() { InputShape = [-1, 1, 28, 28] };

    static readonly string Body =
        $$"""{"inputs": [{"name": "input", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": [{{string.Join(",", Enumerable.Repeat("0.5", 784))}}]}]}""";

    static async Task<string> ServedVersion(HttpClient http, string reference)
    {
        using var response = await http.PostAsync($"/v2/models/mlp/versions/{reference}/infer", new StringContent(Body, Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var json = JsonDocument.Parse(text);
        return json.RootElement.GetProperty("model_version").GetString()!;
    }

    /// <summary>Polls <paramref name="http"/> every 10 ms until it serves <paramref name="expected"/>; returns the time taken (or fails after 30 s).</summary>
    static async Task<TimeSpan> TimeUntilServed(HttpClient http, string reference, string expected, Stopwatch since)
    {
        while (await ServedVersion(http, reference) != expected)
        {
            Assert.True(since.Elapsed < TimeSpan.FromSeconds(30), $"host B still does not serve version {expected} of '{reference}' after 30 s");
            await Task.Delay(10);
        }
        return since.Elapsed;
    }

    [Theory, SqliteBackend, PostgresBackend]
    public async Task AliasMoveAndNewVersionOnHostA_AreServedByHostB_WithinTheBound(string kind)
    {
        env = RegistryBackend.Create(kind);
        using var registryA = env.Open();
        using var registryB = env.Open();
        registryA.Register("mlp", Mlp(1), null, Shape with { Aliases = ["production"] });
        registryA.Register("mlp", Mlp(2), null, Shape);
        // PostgreSQL: a refresh interval far above the bound, so only the notification can deliver the change in time.
        var refresh = kind == "postgresql" ? TimeSpan.FromSeconds(30) : PollInterval;
        var bound = kind == "postgresql" ? NotifiedBound : PollInterval + PollSlack;
        await using var hostA = await LoopbackHost.StartAsync(registryA, new ServingOptions { RegistryRefreshInterval = refresh });
        await using var hostB = await LoopbackHost.StartAsync(registryB, new ServingOptions { AllowAnonymousInference = true, RegistryRefreshInterval = refresh });
        string key = registryA.CreateApiKey("ops", AccessScope.ParseList("manage,read,infer")).Key;
        hostA.Http.DefaultRequestHeaders.Add(ServingAccess.ApiKeyHeader, key);

        Assert.Equal("1", await ServedVersion(hostB.Http, "production"));
        Assert.Equal("2", await ServedVersion(hostB.Http, "latest"));
        if (kind == "postgresql") await WaitListening(registryB);

        // Move the alias through host A's management route.
        using (var moved = await hostA.Http.PutAsJsonAsync("/v1/models/mlp/aliases/production", new { version = 2 }))
            Assert.True(moved.IsSuccessStatusCode, $"{(int)moved.StatusCode} {await moved.Content.ReadAsStringAsync()}");
        // Timed from host A's answer: the move is committed by then (the route reads the version back after it).
        var clock = Stopwatch.StartNew();
        var seen = await TimeUntilServed(hostB.Http, "production", "2", clock);
        log.WriteLine($"{kind}: alias move seen by host B after {seen.TotalMilliseconds:F0} ms (bound {bound.TotalMilliseconds:F0} ms)");
        Assert.True(seen <= bound, $"{kind}: host B served the moved alias after {seen.TotalMilliseconds:F0} ms, over the bound of {bound.TotalMilliseconds:F0} ms");

        // Register a version on host A's registry, taking the alias: `production` and `latest` move on host B.
        clock.Restart();
        registryA.Register("mlp", Mlp(3), null, Shape with { Aliases = ["production"] });
        var seenAlias = await TimeUntilServed(hostB.Http, "production", "3", clock);
        var seenLatest = await TimeUntilServed(hostB.Http, "latest", "3", clock);
        log.WriteLine($"{kind}: new version seen by host B after {seenAlias.TotalMilliseconds:F0} ms (alias) and {seenLatest.TotalMilliseconds:F0} ms (latest)");
        Assert.True(seenLatest <= bound, $"{kind}: host B served the new version after {seenLatest.TotalMilliseconds:F0} ms, over the bound of {bound.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task BetweenChanges_ResolutionsComeFromTheCache_AndOnlyTheIntervalBoundsAnotherProcessesChange()
    {
        env = RegistryBackend.Create("sqlite");
        using var registryA = env.Open();
        using var registryB = env.Open();
        registryA.Register("mlp", Mlp(1), null, Shape with { Aliases = ["production"] });
        registryA.Register("mlp", Mlp(2), null, Shape);
        await using var hostB = await LoopbackHost.StartAsync(registryB,
            new ServingOptions { AllowAnonymousInference = true, RegistryRefreshInterval = TimeSpan.FromSeconds(30) });
        var models = hostB.App.Services.GetRequiredService<LoadedModels>();

        for (int i = 0; i < 20; i++) Assert.Equal("1", await ServedVersion(hostB.Http, "production"));
        Assert.Equal(1, models.ResolveMisses);   // one database read for twenty requests

        // SQLite sends no notifications: another process's move is not seen before the interval (30 s here)...
        registryA.SetAlias("mlp", "production", 2);
        await Task.Delay(300);
        Assert.Equal("1", await ServedVersion(hostB.Http, "production"));
        // ...while a change made through host B's own registry is seen by the very next request.
        registryB.SetAlias("mlp", "production", 2);
        Assert.Equal("2", await ServedVersion(hostB.Http, "production"));
        Assert.Equal(2, models.ResolveMisses);
    }

    [Theory, PostgresBackend]
    public async Task AfterTheListeningConnectionIsKilled_TheHostReconnects_AndSeesChangesWithinTheBoundAgain(string kind)
    {
        env = RegistryBackend.Create(kind);
        using var registryA = env.Open();
        using var registryB = env.Open();
        registryA.Register("mlp", Mlp(1), null, Shape with { Aliases = ["production"] });
        registryA.Register("mlp", Mlp(2), null, Shape);
        await using var hostB = await LoopbackHost.StartAsync(registryB,
            new ServingOptions { AllowAnonymousInference = true, RegistryRefreshInterval = TimeSpan.FromSeconds(30) });
        Assert.Equal("1", await ServedVersion(hostB.Http, "production"));
        await WaitListening(registryB);

        // Kill every listening connection of this database from the server side, as a restart or network cut would.
        long before = registryB.Changes.Generation;
        using (var admin = new NpgsqlConnection(Environment.GetEnvironmentVariable(RegistryBackend.PostgresVariable)))
        {
            admin.Open();
            using var kill = new NpgsqlCommand(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = @name AND datname = current_database()", admin);
            kill.Parameters.AddWithValue("name", PostgresRegistryDatabase.ListenerApplicationName);
            Assert.True(Convert.ToInt64(kill.ExecuteScalar()) >= 1, "no listening connection was found to terminate");
        }
        // It reconnects after RegistryChanges.ReconnectDelay, and bumps the generation (changes may have been missed).
        var clock = Stopwatch.StartNew();
        while (registryB.Changes.Generation == before || !registryB.Changes.Listening)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the listener did not reconnect within 10 s");
            await Task.Delay(20);
        }
        log.WriteLine($"listener back after {clock.ElapsedMilliseconds} ms");

        clock.Restart();
        registryA.SetAlias("mlp", "production", 2);
        var seen = await TimeUntilServed(hostB.Http, "production", "2", clock);
        Assert.True(seen <= NotifiedBound, $"after the reconnect, the move was seen after {seen.TotalMilliseconds:F0} ms, over {NotifiedBound.TotalMilliseconds:F0} ms");
    }

    static async Task WaitListening(ModelRegistry registry)
    {
        var clock = Stopwatch.StartNew();
        while (!registry.Changes.Listening)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the registry's change listener did not connect within 10 s");
            await Task.Delay(10);
        }
    }
}
