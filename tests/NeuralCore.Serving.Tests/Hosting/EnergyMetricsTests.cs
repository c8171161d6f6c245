using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Registry;
using NeuralCore.Serving.Tests.Registry;

namespace NeuralCore.Serving.Tests.Hosting;

/// <summary>FLOPs and energy per served request: Prometheus series, the console route and the recorded training cost.</summary>
public sealed class EnergyMetricsTests : IAsyncLifetime
{
    // Names of their own: the metrics live in prometheus-net's process-wide registry, shared with other tests.
    const string Model = "energy-clf";
    const string Batched = "energy-batched";
    // Dense(4 → 8, ReLU), Dense(8 → 3) on one row: 2·8·4 + 8 (bias) + 8 (ReLU) + 2·3·8 + 3 (bias).
    const long FlopsPerRow = 64 + 8 + 8 + 48 + 3;
    readonly RegistryBackend env = RegistryBackend.Create("sqlite");
    ModelRegistry registry = null!;
    LoopbackHost host = null!;
    string reader = "";

    HttpClient http => host.Http;

    public async Task InitializeAsync()
    {
        registry = env.Open();
        var (model, history, _) = ModelRegistryTests.Trained();
        registry.Register(Model, model, history, new RegisterOptions { InputShape = [-1, 4] });
        reader = registry.CreateApiKey("reader", AccessScope.ParseList($"read:{Model}")).Key;
        host = await LoopbackHost.StartAsync(registry, new ServingOptions { AllowAnonymousInference = true });
    }

    public async Task DisposeAsync()
    {
        await host.DisposeAsync();
        registry.Dispose();
        env.Dispose();
    }

    async Task<double> Sample(string series)
    {
        string text = await http.GetStringAsync("/metrics");
        var match = Regex.Match(text, "^" + Regex.Escape(series) + @" (\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    static string Method => Profiling.EnergyMeter.Probe().Method;

    [Fact]
    public async Task Metrics_HaveFlopsAndEnergyPerRequest_AfterInference()
    {
        string flopsCount = $$"""neuralcore_inference_request_flops_count{model="{{Model}}"}""";
        string flopsSum = $$"""neuralcore_inference_request_flops_sum{model="{{Model}}"}""";
        string energyCount = $$"""neuralcore_inference_request_energy_joules_count{model="{{Model}}",method="{{Method}}"}""";
        string energySum = $$"""neuralcore_inference_request_energy_joules_sum{model="{{Model}}",method="{{Method}}"}""";
        double c0 = await Sample(flopsCount), s0 = await Sample(flopsSum), e0 = await Sample(energyCount), j0 = await Sample(energySum);

        for (int i = 0; i < 3; i++)
        {
            using var response = await http.PostAsync($"/v1/models/{Model}:predict", new StringContent("[1, 2, 3, 4]", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        using (var response = await http.PostAsync($"/v1/models/{Model}:predict", new StringContent("[[1, 2, 3, 4], [5, 6, 7, 8]]", Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        Assert.Equal(c0 + 4, await Sample(flopsCount));
        Assert.Equal(s0 + 5 * FlopsPerRow, await Sample(flopsSum));
        Assert.Equal(e0 + 4, await Sample(energyCount));
        Assert.True(await Sample(energySum) > j0);
        Assert.True(await Sample($$"""neuralcore_inference_co2e_grams_total{model="{{Model}}"}""") > 0);
        string text = await http.GetStringAsync("/metrics");
        Assert.Contains("# TYPE neuralcore_inference_request_energy_joules histogram", text);

        // The console's route: the mean per request on this host.
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/models/{Model}/energy");
        request.Headers.Add(ServingAccess.ApiKeyHeader, reader);
        using var answer = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        using var json = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
        var root = json.RootElement;
        long requests = root.GetProperty("requests").GetInt64();
        Assert.True(requests >= 4);
        Assert.True(root.GetProperty("joules_per_request").GetDouble() > 0);
        Assert.Equal(Method, root.GetProperty("method").GetString());
        var cost = ServingMetrics.GetServedCost(Model)!;
        Assert.Equal(cost.FlopsPerRequest, root.GetProperty("flops_per_request").GetDouble(), 6);
    }

    [Fact]
    public void BadEnergyOptions_AreRefusedWhenTheHostIsCreated()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            ServingHost.Create(registry, new ServingOptions { Energy = new Profiling.EnergyOptions { CpuTdpWatts = -5 } }));
        Assert.Equal("CpuTdpWatts", e.ParamName);
    }

    [Fact]
    public async Task EnergyRoute_NeedsReadScope_AndKnowsTheModel()
    {
        using (var anonymous = await http.GetAsync($"/v1/models/{Model}/energy"))
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models/no-such-model/energy");
        request.Headers.Add(ServingAccess.ApiKeyHeader, reader);
        using var answer = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
    }

    [Fact]
    public async Task VersionJson_CarriesTheTrainingCost()
    {
        var info = registry.GetVersion(Model, 1);
        Assert.NotNull(info.TrainingCost);
        using var details = new HttpRequestMessage(HttpMethod.Get, $"/v1/models/{Model}");
        details.Headers.Add(ServingAccess.ApiKeyHeader, reader);
        using var answer = await http.SendAsync(details);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        using var json = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
        var cost = json.RootElement.GetProperty("versions")[0].GetProperty("training_cost");
        Assert.Equal(info.TrainingCost!.Flops, cost.GetProperty("flops").GetInt64());
        Assert.Equal(info.TrainingCost.Method, cost.GetProperty("method").GetString());
        Assert.True(cost.GetProperty("energy_joules").GetDouble() > 0);
    }

    [Fact]
    public async Task MicroBatchedRequests_EachGetTheirRowsShare()
    {
        var (model, history, _) = ModelRegistryTests.Trained(1);
        registry.Register(Batched, model, history, new RegisterOptions { InputShape = [-1, 4] });
        await using var batching = await LoopbackHost.StartAsync(registry, new ServingOptions
        {
            AllowAnonymousInference = true,
            Batching = new BatchingOptions { MaxBatchSize = 64, MaxQueueDelay = TimeSpan.FromMilliseconds(20) },
        });
        string count = $$"""neuralcore_inference_request_flops_count{model="{{Batched}}"}""";
        string sum = $$"""neuralcore_inference_request_flops_sum{model="{{Batched}}"}""";
        double c0 = await Sample(count), s0 = await Sample(sum);
        var calls = Enumerable.Range(0, 6).Select(async i =>
        {
            string body = i % 2 == 0 ? "[1, 2, 3, 4]" : "[[1, 2, 3, 4], [4, 3, 2, 1]]";
            using var response = await batching.Http.PostAsync($"/v1/models/{Batched}:predict", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        });
        await Task.WhenAll(calls);
        Assert.Equal(c0 + 6, await Sample(count));
        // Three one-row and three two-row requests: 9 rows in all, however they were batched.
        Assert.Equal(s0 + 9 * FlopsPerRow, await Sample(sum), 6);
    }
}
