using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Registry;
using NeuralCore.Serving.Tests.Registry;

namespace NeuralCore.Serving.Tests.Hosting;

/// <summary>Prometheus metrics at /metrics on real Kestrel.</summary>
public sealed class MetricsTests : IAsyncLifetime
{
    // A model name of its own: the metrics live in prometheus-net's process-wide registry, shared with other tests.
    const string Model = "metrics-clf";
    readonly RegistryBackend env = RegistryBackend.Create("sqlite");
    ModelRegistry registry = null!;
    LoopbackHost host = null!;

    HttpClient http => host.Http;

    public async Task InitializeAsync()
    {
        registry = env.Open();
        var (model, history, _) = ModelRegistryTests.Trained();
        registry.Register(Model, model, history, new RegisterOptions { InputShape = [-1, 4] });
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

    [Fact]
    public async Task Metrics_CountRequestsErrorsLatencyAndLoadedVersions()
    {
        string ok = $$"""neuralcore_inference_requests_total{model="{{Model}}",version="1",status="200"}""";
        string bad = $$"""neuralcore_inference_requests_total{model="{{Model}}",version="1",status="400"}""";
        string latency = $$"""neuralcore_inference_duration_seconds_count{model="{{Model}}"}""";
        double ok0 = await Sample(ok), bad0 = await Sample(bad), latency0 = await Sample(latency);

        for (int i = 0; i < 3; i++)
        {
            using var response = await http.PostAsync($"/v1/models/{Model}:predict", new StringContent("[1, 2, 3, 4]", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        using (var response = await http.PostAsync($"/v1/models/{Model}:predict", new StringContent("[1, 2]", Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);

        Assert.Equal(ok0 + 3, await Sample(ok));
        Assert.Equal(bad0 + 1, await Sample(bad));
        Assert.Equal(latency0 + 4, await Sample(latency));
        Assert.Equal(1, await Sample($$"""neuralcore_loaded_versions{model="{{Model}}",version="1"}"""));

        string text = await http.GetStringAsync("/metrics");
        Assert.Contains("# TYPE neuralcore_inference_duration_seconds histogram", text);
        Assert.Contains("http_request_duration_seconds_bucket", text);   // prometheus-net's per-route HTTP metrics
        Assert.Contains(":predict", text);
    }
}
