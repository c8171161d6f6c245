using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using NeuralCore.Nn;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Registry;
using NeuralCore.Serving.Tests.Registry;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace NeuralCore.Serving.Tests.Hosting;

/// <summary>The explain routes (v2 and v1) on real Kestrel over a real SQLite registry.</summary>
public sealed class ExplainRouteTests : IAsyncLifetime
{
    readonly RegistryBackend env = RegistryBackend.Create("sqlite");
    readonly List<LoopbackHost> hosts = [];
    ModelRegistry registry = null!;
    Tensor x = null!;

    public Task InitializeAsync()
    {
        registry = env.Open();
        (var model, var history, x) = ModelRegistryTests.Trained();
        x = x.Narrow(0, 0, 6).Contiguous();
        registry.Register("clf", model, history, new RegisterOptions { InputShape = [-1, 4], ClassNames = ["a", "b", "c"] });
        // Integrated gradients' completeness is checked on a smooth (tanh) network: on a ReLU network the trapezoid
        // rule's error at the kinks is first order in the step, which a near-zero f(x) - f(0) magnifies.
        registry.Register("smooth", new Sequential(new Dense(4, 16, Activation.Tanh), new Dense(16, 3)), null, new RegisterOptions { InputShape = [-1, 4] });
        var image = new Sequential(new Flatten(), new Dense(64, 12, Activation.Relu), new Dense(12, 3));
        registry.Register("pictures", image, null, new RegisterOptions { InputShape = [-1, 1, 8, 8] });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var host in hosts) await host.DisposeAsync();
        registry.Dispose();
        env.Dispose();
    }

    async Task<HttpClient> Start(ServingOptions options)
    {
        var host = await LoopbackHost.StartAsync(registry, options);
        hosts.Add(host);
        return host.Http;
    }

    static string Numbers(IEnumerable<float> values) => string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    string V2Body(string? parameters = null) =>
        $$"""{"inputs": [{"name": "input", "shape": [{{x.Shape[0]}}, 4], "datatype": "FP32", "data": [{{Numbers(x.ToArray<float>())}}]}]{{(parameters is null ? "" : ", \"parameters\": " + parameters)}}}""";

    string V1Body(string? parameters = null)
    {
        var rows = x.ToArray<float>().Chunk(4).Select(r => "[" + Numbers(r) + "]");
        return $$"""{"instances": [{{string.Join(",", rows)}}]{{(parameters is null ? "" : ", \"parameters\": " + parameters)}}}""";
    }

    static async Task<(HttpStatusCode Status, string Body)> Post(HttpClient http, string path, string body, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (apiKey is not null) request.Headers.Add(ServingAccess.ApiKeyHeader, apiKey);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The served model's outputs, computed here from a model loaded from the registry: [rows, 3].</summary>
    float[][] Outputs(Tensor input, string name = "clf")
    {
        var model = registry.Load(name, "latest");
        using var noGrad = Tensor.NoGrad();
        return model.Forward(input).ToArray<float>().Chunk(3).ToArray();
    }

    [Fact]
    public async Task V2_IntegratedGradients_SumToOutputChange_Within1Percent()
    {
        var http = await Start(new ServingOptions { AllowAnonymousInference = true });
        var (status, body) = await Post(http, "/v2/models/smooth/explain", V2Body("""{"steps": 512, "method": "integrated_gradients"}"""));
        Assert.True(status == HttpStatusCode.OK, body);
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        Assert.Equal("integrated_gradients", root.GetProperty("method").GetString());
        var attributions = root.GetProperty("attributions");
        Assert.Equal([x.Shape[0], 4], attributions.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        var values = attributions.GetProperty("data").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var fx = Outputs(x, "smooth");
        var fb = Outputs(Tensor.Zeros([x.Shape[0], 4]), "smooth");
        var predictions = root.GetProperty("predictions").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var targets = root.GetProperty("targets").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var served = root.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        for (int i = 0; i < x.Shape[0]; i++)
        {
            int best = Array.IndexOf(fx[i], fx[i].Max());
            Assert.Equal(best, predictions[i]);
            Assert.Equal(best, targets[i]);   // the predicted class by default
            for (int c = 0; c < 3; c++) Assert.Equal(fx[i][c], served[i * 3 + c], 5);
            double change = fx[i][best] - fb[i][best];
            double sum = values.Skip(i * 4).Take(4).Sum();
            Assert.True(Math.Abs(sum - change) <= 0.01 * Math.Abs(change), $"row {i}: attributions sum to {sum}, f(x) - f(0) = {change}");
            Assert.True(root.GetProperty("completeness").GetProperty("relative_delta")[i].GetDouble() < 0.01);
        }
    }

    [Fact]
    public async Task V1_Saliency_ForAChosenTarget_MatchesTheLibrary_AndIntegratedGradientsAreComplete()
    {
        var http = await Start(new ServingOptions { AllowAnonymousInference = true });
        var (status, body) = await Post(http, "/v1/models/clf:explain", V1Body("""{"method": "saliency", "target": 2}"""));
        Assert.True(status == HttpStatusCode.OK, body);
        var expected = NeuralCore.Explain.Saliency.Attribute(registry.Load("clf", "latest"), x, target: 2, abs: false).ToArray<float>();
        using (var json = JsonDocument.Parse(body))
        {
            var explanations = json.RootElement.GetProperty("explanations");
            Assert.Equal(x.Shape[0], explanations.GetArrayLength());
            var fx = Outputs(x);
            for (int i = 0; i < x.Shape[0]; i++)
            {
                var e = explanations[i];
                Assert.Equal(2, e.GetProperty("target").GetInt32());
                Assert.Equal("c", e.GetProperty("target_label").GetString());
                Assert.Equal(Array.IndexOf(fx[i], fx[i].Max()), e.GetProperty("class").GetInt32());
                var a = e.GetProperty("attributions").EnumerateArray().Select(v => v.GetSingle()).ToArray();
                Assert.Equal(4, a.Length);
                for (int j = 0; j < 4; j++) Assert.Equal(expected[i * 4 + j], a[j], 5);
                Assert.False(e.TryGetProperty("completeness", out _));
            }
        }

        (status, body) = await Post(http, "/v1/models/smooth:explain", V1Body());
        Assert.True(status == HttpStatusCode.OK, body);
        using (var json = JsonDocument.Parse(body))
            foreach (var e in json.RootElement.GetProperty("explanations").EnumerateArray())
            {
                var c = e.GetProperty("completeness");
                double change = c.GetProperty("output").GetDouble() - c.GetProperty("baseline_output").GetDouble();
                double sum = e.GetProperty("attributions").EnumerateArray().Sum(v => v.GetDouble());
                Assert.True(Math.Abs(sum - change) <= 0.01 * Math.Abs(change), $"attributions sum to {sum}, f(x) - f(0) = {change}");
            }
    }

    [Fact]
    public async Task V1_ImageBody_WithHeatmap_GivesAPngOfTheInputsSize()
    {
        var http = await Start(new ServingOptions { AllowAnonymousInference = true });
        using var picture = new Image<L8>(8, 8);
        for (int y = 0; y < 8; y++) for (int i = 0; i < 8; i++) picture[i, y] = new L8((byte)(i == y || i == 7 - y ? 255 : 0));
        using var png = new MemoryStream();
        picture.SaveAsPng(png);
        var content = new ByteArrayContent(png.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        using var response = await http.PostAsync("/v1/models/pictures:explain?heatmap=true&method=occlusion&window=2", content);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        using var json = JsonDocument.Parse(body);
        var e = json.RootElement.GetProperty("explanations")[0];
        Assert.Equal("occlusion", json.RootElement.GetProperty("method").GetString());
        var a = e.GetProperty("attributions");
        Assert.Equal(1, a.GetArrayLength());   // [1, 8, 8]
        Assert.Equal(8, a[0].GetArrayLength());
        Assert.Equal(8, a[0][0].GetArrayLength());
        Assert.Contains(a[0].EnumerateArray().SelectMany(r => r.EnumerateArray()), v => v.GetDouble() != 0);
        using var heatmap = Image.Load<Rgb24>(Convert.FromBase64String(e.GetProperty("heatmap").GetString()!));
        Assert.True(heatmap.Width >= 8 && heatmap.Width == heatmap.Height, $"{heatmap.Width}x{heatmap.Height}");

        // A tabular input has no picture to draw over.
        var (status, problem) = await Post(http, "/v2/models/clf/explain", V2Body("""{"heatmap": true}"""));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("image input", problem);
    }

    [Fact]
    public async Task Explain_NeedsTheInferScope()
    {
        var http = await Start(new ServingOptions());
        string reader = registry.CreateApiKey("reader", AccessScope.ParseList("read")).Key;
        string otherModel = registry.CreateApiKey("other", AccessScope.ParseList("infer:pictures")).Key;
        string inferrer = registry.CreateApiKey("inferrer", AccessScope.ParseList("infer:clf")).Key;
        foreach (var (path, body) in new[] { ("/v2/models/clf/explain", V2Body()), ("/v2/models/clf/versions/1/explain", V2Body()), ("/v1/models/clf:explain", V1Body()) })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await Post(http, path, body)).Status);
            Assert.Equal(HttpStatusCode.Forbidden, (await Post(http, path, body, reader)).Status);
            Assert.Equal(HttpStatusCode.Forbidden, (await Post(http, path, body, otherModel)).Status);
            var ok = await Post(http, path, body, inferrer);
            Assert.True(ok.Status == HttpStatusCode.OK, ok.Body);
        }
    }

    [Fact]
    public async Task ExplainRateLimit_Gives429_WhileInferStillAnswers()
    {
        var http = await Start(new ServingOptions { AllowAnonymousInference = true, ExplainRateLimit = new RateLimitOptions { RequestsPerSecond = 1, Burst = 1 } });
        var statuses = new List<HttpStatusCode>();
        string? refused = null;
        for (int i = 0; i < 4; i++)
        {
            var (status, body) = await Post(http, "/v2/models/clf/explain", V2Body("""{"method": "saliency"}"""));
            statuses.Add(status);
            if (status == HttpStatusCode.TooManyRequests) refused = body;
        }
        Assert.Equal(HttpStatusCode.OK, statuses[0]);
        Assert.True(refused is not null, string.Join(",", statuses));
        Assert.Contains("explain rate limit", refused);
        for (int i = 0; i < 5; i++)
        {
            var infer = await Post(http, "/v2/models/clf/infer", $$"""{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}""");
            Assert.True(infer.Status == HttpStatusCode.OK, infer.Body);
        }
    }

    [Theory]
    [InlineData("""{"method": "lime"}""", "lime")]
    [InlineData("""{"steps": 0}""", "steps")]
    [InlineData("""{"steps": 100000}""", "steps")]
    [InlineData("""{"target": 3}""", "target")]
    [InlineData("""{"target": -1}""", "target")]
    [InlineData("""{"heatmap": "yes"}""", "heatmap")]
    [InlineData("""{"window": 9, "method": "occlusion"}""", "window")]
    [InlineData("""{"colour": "red"}""", "colour")]
    [InlineData("""[1]""", "parameters")]
    public async Task BadParameters_Give400_NamingTheProblem(string parameters, string named)
    {
        var http = await Start(new ServingOptions { AllowAnonymousInference = true });
        foreach (var (path, body) in new[] { ("/v2/models/clf/explain", V2Body(parameters)), ("/v1/models/clf:explain", V1Body(parameters)) })
        {
            var (status, problem) = await Post(http, path, body);
            Assert.True(status == HttpStatusCode.BadRequest, $"{path}: {status} {problem}");
            using var json = JsonDocument.Parse(problem);
            Assert.Contains(named, json.RootElement.GetProperty("detail").GetString());
        }
    }

    [Fact]
    public async Task TooMuchWork_Gives400_NamingTheLimit()
    {
        var http = await Start(new ServingOptions { AllowAnonymousInference = true });
        var rows = Enumerable.Range(0, ExplainParameters.MaxInstances + 1).Select(_ => "[1, 2, 3, 4]");
        var (status, problem) = await Post(http, "/v1/models/clf:explain", $$"""{"instances": [{{string.Join(",", rows)}}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains($"at most {ExplainParameters.MaxInstances}", problem);
    }
}
