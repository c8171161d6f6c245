using System.Net;
using System.Text;
using System.Text.Json;
using NeuralCore.Nn;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Registry;
using NeuralCore.Serving.Tests.Registry;

namespace NeuralCore.Serving.Tests.Hosting;

/// <summary>The management routes and <c>:predict</c> on real Kestrel over a real SQLite registry.</summary>
public sealed class ManagementRoutesTests : IAsyncLifetime
{
    readonly RegistryBackend env = RegistryBackend.Create("sqlite");
    ModelRegistry registry = null!;
    LoopbackHost host = null!;

    HttpClient http => host.Http;
    Sequential model = null!;
    Tensor x = null!;
    string key = null!;

    public async Task InitializeAsync()
    {
        registry = env.Open();
        (model, var history, x) = ModelRegistryTests.Trained();
        var options = new RegisterOptions { InputShape = [-1, 4], ClassNames = ModelRegistryTests.Classes };
        registry.Register("clf", model, history, options with { Aliases = ["production"] });
        registry.Register("clf", model, history, options);
        registry.Register("secret", model, history, options);
        key = registry.CreateApiKey("ops", AccessScope.ParseList("read:clf,manage:clf,infer:clf")).Key;
        host = await LoopbackHost.StartAsync(registry, new ServingOptions { MaxRequestBodyBytes = 64 << 10 });
        http.DefaultRequestHeaders.Add(ServingAccess.ApiKeyHeader, key);
    }

    public async Task DisposeAsync()
    {
        await host.DisposeAsync();
        registry.Dispose();
        env.Dispose();
    }

    async Task<(HttpStatusCode Status, JsonElement Body)> Send(HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    [Fact]
    public async Task ListAndShow_OnlyWhatTheScopesCover()
    {
        var (status, body) = await Send(HttpMethod.Get, "/v1/models");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["clf"], body.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("name").GetString()));   // not "secret"

        (status, body) = await Send(HttpMethod.Get, "/v1/models/clf");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, body.GetProperty("model").GetProperty("version_count").GetInt32());
        Assert.Equal([1, 2], body.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetInt32()));

        (status, body) = await Send(HttpMethod.Get, "/v1/models/clf/versions/production");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, body.GetProperty("version").GetInt32());
        Assert.Equal(registry.GetVersion("clf", 1).Sha256, body.GetProperty("sha256").GetString());
        Assert.Equal(ModelRegistryTests.Classes, body.GetProperty("class_names").EnumerateArray().Select(e => e.GetString()));

        Assert.Equal(HttpStatusCode.Forbidden, (await Send(HttpMethod.Get, "/v1/models/secret")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Send(HttpMethod.Get, "/v1/models/clf/versions/9")).Status);
    }

    [Fact]
    public async Task MovingAnAlias_ChangesWhatTheNextRequestGets_TagsAndArchive()
    {
        var (status, body) = await Send(HttpMethod.Put, "/v1/models/clf/aliases/production", """{"version": 2}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("production", body.GetProperty("aliases").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(2, registry.Resolve("clf", "production").Version);
        (status, body) = await Send(HttpMethod.Post, "/v1/models/clf:predict?version=production", "[1, 2, 3, 4]");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("2", body.GetProperty("model_version").GetString());

        (status, body) = await Send(HttpMethod.Put, "/v1/models/clf/versions/2/tags/stage", """{"value": "approved"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("approved", registry.GetVersion("clf", 2).Tags["stage"]);
        Assert.Equal(HttpStatusCode.NoContent, (await Send(HttpMethod.Delete, "/v1/models/clf/versions/2/tags/stage")).Status);
        Assert.Empty(registry.GetVersion("clf", 2).Tags);
        Assert.Equal(HttpStatusCode.NotFound, (await Send(HttpMethod.Delete, "/v1/models/clf/versions/2/tags/stage")).Status);

        // Archiving a version an alias points at is refused (409, naming the alias); version 1 is free now.
        (status, body) = await Send(HttpMethod.Post, "/v1/models/clf/versions/2/archive");
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("production", body.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Post, "/v1/models/clf/versions/1/archive")).Status);
        Assert.True(registry.GetVersion("clf", 1).Archived);
        // An alias cannot point at an archived version.
        Assert.Equal(HttpStatusCode.Conflict, (await Send(HttpMethod.Put, "/v1/models/clf/aliases/old", """{"version": 1}""")).Status);

        Assert.Equal(HttpStatusCode.BadRequest, (await Send(HttpMethod.Put, "/v1/models/clf/aliases/canary", """{"version": "two"}""")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await Send(HttpMethod.Put, "/v1/models/clf/aliases/canary", "{not json")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await Send(HttpMethod.Put, "/v1/models/clf/aliases/123", """{"version": 2}""")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Send(HttpMethod.Delete, "/v1/models/clf/aliases/none")).Status);
    }

    [Fact]
    public async Task Predict_GivesSoftmaxProbabilitiesAndLabels_EqualToInProcess()
    {
        model.Eval();
        float[] logits;
        using (Tensor.NoGrad()) logits = model.Forward(x).ToArray<float>();
        int rows = (int)x.Shape[0];
        float[] input = x.ToArray<float>();
        string nested = "[" + string.Join(",", Enumerable.Range(0, rows).Select(r =>
            "[" + string.Join(",", input.Skip(r * 4).Take(4).Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]")) + "]";

        foreach (var body in new[] { nested, $$"""{"instances": {{nested}}}""" })
        {
            var (status, response) = await Send(HttpMethod.Post, "/v1/models/clf:predict", body);
            Assert.True(status == HttpStatusCode.OK, response.ToString());
            var predictions = response.GetProperty("predictions").EnumerateArray().ToList();
            Assert.Equal(rows, predictions.Count);
            for (int r = 0; r < rows; r++)
            {
                var row = logits.AsSpan(r * 3, 3);
                float max = Math.Max(row[0], Math.Max(row[1], row[2]));
                double[] e = [Math.Exp(row[0] - max), Math.Exp(row[1] - max), Math.Exp(row[2] - max)];
                var p = predictions[r].GetProperty("probabilities").EnumerateArray().Select(v => v.GetSingle()).ToArray();
                for (int c = 0; c < 3; c++) Assert.InRange(Math.Abs(e[c] / e.Sum() - p[c]), 0, 1e-6);
                int best = row.IndexOf(max);
                Assert.Equal(best, predictions[r].GetProperty("class").GetInt32());
                Assert.Equal(ModelRegistryTests.Classes[best], predictions[r].GetProperty("label").GetString());
            }
        }

        // One flat instance.
        var (one, single) = await Send(HttpMethod.Post, "/v1/models/clf:predict", "[0.5, -1, 2, 0]");
        Assert.Equal(HttpStatusCode.OK, one);
        Assert.Single(single.GetProperty("predictions").EnumerateArray());

        // Wrong sizes and bodies: 400 naming what was expected; the host keeps serving.
        var (bad, problem) = await Send(HttpMethod.Post, "/v1/models/clf:predict", "[[1, 2, 3]]");
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Contains("instance 0 has 3 values", problem.GetProperty("detail").GetString());
        Assert.Contains("[4] (4 values)", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await Send(HttpMethod.Post, "/v1/models/clf:predict", "[]")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await Send(HttpMethod.Post, "/v1/models/clf:predict", """{"x": 1}""")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await Send(HttpMethod.Post, "/v1/models/clf:predict", """[[1, 2, "a", 4]]""")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Send(HttpMethod.Post, "/v1/models/clf:predict?version=staging", "[1, 2, 3, 4]")).Status);
        Assert.Equal(HttpStatusCode.OK, (await Send(HttpMethod.Post, "/v1/models/clf:predict", "[1, 2, 3, 4]")).Status);
    }

    [Fact]
    public void Probabilities_KeepDistributions_AndSoftmaxScores()
    {
        Assert.Equal([0.25f, 0.75f], ServingHost.Probabilities([0.25f, 0.75f]));
        var p = ServingHost.Probabilities([0f, 0f]);
        Assert.Equal([0.5f, 0.5f], p);
        var q = ServingHost.Probabilities([1000f, 0f]);      // no overflow
        Assert.Equal(1f, q[0]);
        Assert.Equal(0f, q[1]);
    }
}
