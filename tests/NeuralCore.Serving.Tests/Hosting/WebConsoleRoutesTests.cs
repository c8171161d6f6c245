using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using NeuralCore.Nn;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Registry;
using NeuralCore.Serving.Tests.Registry;
using NeuralCore.Training;

namespace NeuralCore.Serving.Tests.Hosting;

/// <summary>The web console's files and JSON routes (<c>/v1/caller</c>, <c>/v1/stats</c>, curves) on real Kestrel.</summary>
public sealed class WebConsoleRoutesTests : IAsyncLifetime
{
    readonly RegistryBackend env = RegistryBackend.Create("sqlite");
    ModelRegistry registry = null!;
    LoopbackHost host = null!;
    History history = null!;
    string reader = null!, inferOnly = null!;

    public async Task InitializeAsync()
    {
        registry = env.Open();
        (var model, history, _) = ModelRegistryTests.Trained();
        var options = new RegisterOptions { InputShape = [-1, 4], ClassNames = ModelRegistryTests.Classes };
        registry.Register("clf", model, history, options with { Aliases = ["production"] });
        registry.Register("secret", model, history, options);
        reader = registry.CreateApiKey("reader", AccessScope.ParseList("read:clf,infer:clf")).Key;
        inferOnly = registry.CreateApiKey("infer-only", AccessScope.ParseList("infer:clf")).Key;
        host = await LoopbackHost.StartAsync(registry, new ServingOptions());
    }

    public async Task DisposeAsync()
    {
        await host.DisposeAsync();
        registry.Dispose();
        env.Dispose();
    }

    async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> Get(string path, string? key = null, string? ifNoneMatch = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (key is not null) request.Headers.Add(ServingAccess.ApiKeyHeader, key);
        if (ifNoneMatch is not null) request.Headers.IfNoneMatch.Add(new EntityTagHeaderValue(ifNoneMatch));
        var response = await host.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    [Fact]
    public async Task ConsoleFiles_AreServedFromTheAssembly_WithTypesSecurityHeadersAndETags()
    {
        Assert.Equal(["console.css", "console.js", "index.html"], WebConsole.FileNames.Order(StringComparer.Ordinal));
        var (status, html, response) = await Get("/console/");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("<script src=\"console.js\" defer></script>", html);
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("default-src 'self'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        string etag = response.Headers.ETag!.Tag;

        var (again, _, _) = await Get("/console/index.html", ifNoneMatch: etag);
        Assert.Equal(HttpStatusCode.NotModified, again);
        var (js, script, jsResponse) = await Get("/console/console.js");
        Assert.Equal(HttpStatusCode.OK, js);
        Assert.Equal("text/javascript", jsResponse.Content.Headers.ContentType!.MediaType);
        Assert.Contains("X-API-Key", script);
        Assert.Equal("text/css", (await Get("/console/console.css")).Response.Content.Headers.ContentType!.MediaType);

        using var redirect = await new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = host.Http.BaseAddress }.GetAsync("/console");
        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        Assert.Equal("/console/", redirect.Headers.Location!.OriginalString);
        var (missing, problem, _) = await Get("/console/nothing.js");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Contains("no file 'nothing.js'", problem);
    }

    [Fact]
    public async Task ConsoleCanBeTurnedOff()
    {
        await using var bare = await LoopbackHost.StartAsync(registry, new ServingOptions { WebConsole = false });
        using var response = await bare.Http.GetAsync("/console/");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Caller_DescribesAValidKey_AndRefusesMissingOrWrongOnes()
    {
        var (status, body, _) = await Get("/v1/caller", reader);
        Assert.Equal(HttpStatusCode.OK, status);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal("key:reader", json.GetProperty("subject").GetString());
        Assert.Equal(["read:clf", "infer:clf"], json.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));

        var (none, noneBody, _) = await Get("/v1/caller");
        Assert.Equal(HttpStatusCode.Unauthorized, none);
        Assert.Contains("needs an API key", noneBody);
        var (wrong, wrongBody, _) = await Get("/v1/caller", "nck_0000000000000000_wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong);
        Assert.Contains("refused", wrongBody);
        Assert.Equal(HttpStatusCode.OK, (await Get("/v1/caller", inferOnly)).Status);   // any valid key may ask who it is
    }

    [Fact]
    public async Task Curves_AreTheRegisteredHistory_ByNumberOrAlias_ForReadersOnly()
    {
        foreach (var reference in new[] { "1", "production" })
        {
            var (status, body, _) = await Get($"/v1/models/clf/versions/{reference}/curves", reader);
            Assert.Equal(HttpStatusCode.OK, status);
            var json = JsonDocument.Parse(body).RootElement;
            Assert.Equal(1, json.GetProperty("version").GetInt32());
            var curves = json.GetProperty("curves");
            Assert.Equal(history.Keys, curves.EnumerateObject().Select(p => p.Name));
            foreach (var key in history.Keys)
                Assert.Equal(history[key], curves.GetProperty(key).EnumerateArray().Select(v => v.GetDouble()));
        }
        Assert.Equal(HttpStatusCode.NotFound, (await Get("/v1/models/clf/versions/7/curves", reader)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await Get("/v1/models/secret/versions/1/curves", reader)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await Get("/v1/models/clf/versions/1/curves", inferOnly)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Get("/v1/models/clf/versions/1/curves")).Status);
    }

    [Fact]
    public async Task Stats_CountThisHostsInferenceRequests_PerSecond_WithLatencies()
    {
        var (empty, emptyBody, _) = await Get("/v1/stats", reader);
        Assert.Equal(HttpStatusCode.OK, empty);
        Assert.Equal(0, JsonDocument.Parse(emptyBody).RootElement.GetProperty("total_requests").GetInt64());

        const int good = 7;
        for (int i = 0; i < good; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/models/clf:predict")
            {
                Content = new StringContent("{\"instances\": [[0.1, 0.2, 0.3, 0.4]]}", Encoding.UTF8, "application/json"),
            };
            request.Headers.Add(ServingAccess.ApiKeyHeader, reader);
            using var response = await host.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        using (var bad = new HttpRequestMessage(HttpMethod.Post, "/v1/models/clf:predict") { Content = new StringContent("{\"instances\": [[1]]}", Encoding.UTF8, "application/json") })
        {
            bad.Headers.Add(ServingAccess.ApiKeyHeader, reader);
            using var response = await host.Http.SendAsync(bad);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        var (status, body, _) = await Get("/v1/stats", reader);
        Assert.Equal(HttpStatusCode.OK, status);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal(good + 1, json.GetProperty("total_requests").GetInt64());
        var series = json.GetProperty("series").EnumerateArray().ToList();
        Assert.Equal(RequestStats.WindowSeconds, series.Count);
        Assert.Equal(json.GetProperty("now").GetInt64(), series[^1].GetProperty("t").GetInt64());
        Assert.Equal(good + 1, series.Sum(p => p.GetProperty("requests").GetInt64()));
        Assert.Equal(1, series.Sum(p => p.GetProperty("errors").GetInt64()));
        foreach (var point in series.Where(p => p.GetProperty("requests").GetInt64() > 0))
        {
            double p50 = point.GetProperty("p50_ms").GetDouble(), p99 = point.GetProperty("p99_ms").GetDouble();
            Assert.InRange(p50, 0.001, 30_000);
            Assert.True(p99 >= p50, $"p99 {p99} < p50 {p50}");
            Assert.True(point.GetProperty("mean_ms").GetDouble() > 0);
        }
        Assert.Equal(JsonValueKind.Null, series.First(p => p.GetProperty("requests").GetInt64() == 0).GetProperty("p50_ms").ValueKind);

        Assert.Equal(HttpStatusCode.Unauthorized, (await Get("/v1/stats")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await Get("/v1/stats", inferOnly)).Status);   // needs read on some model
    }

    [Fact]
    public void StatsBuckets_KeepPercentilesWithinNinePercent()
    {
        foreach (double seconds in new[] { 60e-6, 1e-4, 3.3e-4, 1e-3, 0.0123, 0.5, 2.0, 40.0 })
        {
            double middle = RequestStats.Middle(RequestStats.Bucket(seconds));
            Assert.InRange(middle / seconds, 1 / 1.0906, 1.0906);   // 2^(1/8): half a bucket of four per octave
        }
        Assert.Equal(0, RequestStats.Bucket(0));
        Assert.Equal(0, RequestStats.Bucket(double.NaN));
        Assert.Equal(79, RequestStats.Bucket(1e6));
        Assert.Equal(79, RequestStats.Bucket(double.PositiveInfinity));
    }

    [Fact]
    public void StatsWindow_ForgetsSecondsOlderThanTheWindow()
    {
        var clock = new ManualClock(DateTimeOffset.FromUnixTimeSeconds(1_000_000));
        var stats = new RequestStats(clock);
        stats.Record(TimeSpan.FromMilliseconds(2), 200);
        stats.Record(TimeSpan.FromMilliseconds(4), 503);
        clock.Now += TimeSpan.FromSeconds(1);
        var snapshot = stats.Snapshot();
        Assert.Equal(2, snapshot.Series[^2].Requests);
        Assert.Equal(1, snapshot.Series[^2].Errors);
        Assert.Equal(0.2, snapshot.Recent.RequestsPerSecond, 12);   // 2 requests over the 10 s summary
        Assert.Equal(1, snapshot.Recent.Errors);

        clock.Now += TimeSpan.FromSeconds(RequestStats.WindowSeconds);
        stats.Record(TimeSpan.FromMilliseconds(1), 200);   // the first second is now out of the window
        snapshot = stats.Snapshot();
        Assert.Equal(1, snapshot.Series.Sum(p => p.Requests));
        Assert.Equal(3, snapshot.TotalRequests);
    }

    sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
