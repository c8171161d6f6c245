using System.Net;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Registry;
using NeuralCore.Serving.Tests.Registry;

namespace NeuralCore.Serving.Tests.Hosting;

/// <summary>API keys, JWTs, scopes and rate limits on real Kestrel over a real SQLite registry.</summary>
public sealed class AccessControlTests : IAsyncLifetime
{
    static readonly byte[] JwtKey = Encoding.ASCII.GetBytes("0123456789abcdef0123456789abcdef-test-signing-key");
    readonly RegistryBackend env = RegistryBackend.Create("sqlite");
    readonly List<LoopbackHost> hosts = [];
    ModelRegistry registry = null!;
    Tensor x = null!;

    public Task InitializeAsync()
    {
        registry = env.Open();
        (var model, var history, x) = ModelRegistryTests.Trained();
        registry.Register("clf", model, history, new RegisterOptions { InputShape = [-1, 4], Aliases = ["production"] });
        registry.Register("clf", model, history, new RegisterOptions { InputShape = [-1, 4] });
        registry.Register("other", model, history, new RegisterOptions { InputShape = [-1, 4] });
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

    string InferBody() =>
        $$"""{"inputs": [{"name": "input", "shape": [{{x.Shape[0]}}, 4], "datatype": "FP32", "data": [{{string.Join(",", x.ToArray<float>().Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}}]}]}""";

    /// <summary>
    /// Every protected route of the host on model <c>clf</c>: method, path, body, the verb it needs, the status a
    /// permitted call gets, and what to set up before each permitted call (so that deletions have something to delete).
    /// </summary>
    IEnumerable<(HttpMethod Method, string Path, string? Body, AccessVerb Verb, HttpStatusCode Ok, Action? Setup)> Routes() =>
    [
        (HttpMethod.Get, "/v2/models/clf", null, AccessVerb.Read, HttpStatusCode.OK, null),
        (HttpMethod.Get, "/v2/models/clf/versions/production", null, AccessVerb.Read, HttpStatusCode.OK, null),
        (HttpMethod.Get, "/v2/models/clf/ready", null, AccessVerb.Read, HttpStatusCode.OK, null),
        (HttpMethod.Get, "/v2/models/clf/versions/1/ready", null, AccessVerb.Read, HttpStatusCode.OK, null),
        (HttpMethod.Post, "/v2/models/clf/infer", InferBody(), AccessVerb.Infer, HttpStatusCode.OK, null),
        (HttpMethod.Post, "/v2/models/clf/versions/production/infer", InferBody(), AccessVerb.Infer, HttpStatusCode.OK, null),
        (HttpMethod.Post, "/v1/models/clf:predict", "[[1, 2, 3, 4]]", AccessVerb.Infer, HttpStatusCode.OK, null),
        (HttpMethod.Get, "/v1/models/clf", null, AccessVerb.Read, HttpStatusCode.OK, null),
        (HttpMethod.Get, "/v1/models/clf/versions/latest", null, AccessVerb.Read, HttpStatusCode.OK, null),
        (HttpMethod.Get, "/v1/models/clf/versions/1/curves", null, AccessVerb.Read, HttpStatusCode.OK, null),
        (HttpMethod.Put, "/v1/models/clf/aliases/canary", """{"version": 2}""", AccessVerb.Manage, HttpStatusCode.OK, null),
        (HttpMethod.Delete, "/v1/models/clf/aliases/canary", null, AccessVerb.Manage, HttpStatusCode.NoContent, () => registry.SetAlias("clf", "canary", 2)),
        (HttpMethod.Put, "/v1/models/clf/versions/2/tags/owner", """{"value": "team-a"}""", AccessVerb.Manage, HttpStatusCode.OK, null),
        (HttpMethod.Delete, "/v1/models/clf/versions/2/tags/owner", null, AccessVerb.Manage, HttpStatusCode.NoContent, () => registry.SetTag("clf", 2, "owner", "x")),
        (HttpMethod.Post, "/v1/models/clf/versions/2/archive", null, AccessVerb.Manage, HttpStatusCode.OK, () => registry.RemoveAlias("clf", "canary")),
        (HttpMethod.Post, "/v1/models/clf/versions/2/unarchive", null, AccessVerb.Manage, HttpStatusCode.OK, null),
    ];

    static async Task<(HttpStatusCode Status, string Body)> Send(HttpClient http, HttpMethod method, string path, string? body, string? bearer = null, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        if (bearer is not null) request.Headers.Authorization = new("Bearer", bearer);
        if (apiKey is not null) request.Headers.Add(ServingAccess.ApiKeyHeader, apiKey);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    static string Jwt(string scopes, DateTime expires, string subject = "alice", byte[]? key = null) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Subject = new ClaimsIdentity([new Claim("sub", subject), new Claim("scope", scopes)]),
            NotBefore = expires.AddHours(-2),
            IssuedAt = expires.AddHours(-2),
            Expires = expires,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(key ?? JwtKey), SecurityAlgorithms.HmacSha256),
        });

    [Fact]
    public async Task EveryRoute_NoKey401_WrongScope403_ExpiredJwt401_GoodKeyAndJwt200()
    {
        using var http = await Start(new ServingOptions { Jwt = new JwtOptions { SigningKey = JwtKey } });
        string wrongModel = registry.CreateApiKey("wrong-model", AccessScope.ParseList("infer:other,read:other,manage:other")).Key;
        string all = registry.CreateApiKey("all", AccessScope.ParseList("infer:clf,read:clf,manage:clf")).Key;
        string expiredJwt = Jwt("infer read manage", DateTime.UtcNow.AddMinutes(-10));
        string forgedJwt = Jwt("infer read manage", DateTime.UtcNow.AddMinutes(10), key: Encoding.ASCII.GetBytes(new string('k', 48)));

        foreach (var (method, path, body, verb, ok, setup) in Routes())
        {
            string route = $"{method} {path}";
            var none = await Send(http, method, path, body);
            Assert.True(none.Status == HttpStatusCode.Unauthorized, $"{route} without credentials: {none}");
            Assert.Contains("API key or bearer token", none.Body);

            Assert.Equal(HttpStatusCode.Unauthorized, (await Send(http, method, path, body, apiKey: "nck_0000000000000000_" + new string('a', 43))).Status);
            var expired = await Send(http, method, path, body, bearer: expiredJwt);
            Assert.True(expired.Status == HttpStatusCode.Unauthorized, $"{route} with an expired JWT: {expired}");
            Assert.Contains("expired", expired.Body);
            Assert.Equal(HttpStatusCode.Unauthorized, (await Send(http, method, path, body, bearer: forgedJwt)).Status);

            var wrong = await Send(http, method, path, body, apiKey: wrongModel);
            Assert.True(wrong.Status == HttpStatusCode.Forbidden, $"{route} with another model's scopes: {wrong}");
            string verbName = verb.ToString().ToLowerInvariant();
            Assert.Contains($"{verbName}:clf", wrong.Body);
            // Every scope but the one needed.
            string others = string.Join(" ", new[] { "infer", "read", "manage" }.Where(v => v != verbName));
            Assert.Equal(HttpStatusCode.Forbidden, (await Send(http, method, path, body, bearer: Jwt(others, DateTime.UtcNow.AddMinutes(10)))).Status);

            setup?.Invoke();
            var good = await Send(http, method, path, body, apiKey: all);
            Assert.True(good.Status == ok, $"{route} with a good key: {good}");
            setup?.Invoke();
            Assert.Equal(ok, (await Send(http, method, path, body, bearer: all)).Status);
            setup?.Invoke();
            Assert.Equal(ok, (await Send(http, method, path, body, bearer: Jwt($"{verbName}:clf", DateTime.UtcNow.AddMinutes(10)))).Status);
            setup?.Invoke();
            Assert.Equal(ok, (await Send(http, method, path, body, bearer: Jwt(verbName, DateTime.UtcNow.AddMinutes(10)))).Status);
        }

        // Health and server metadata stay open, for probes.
        Assert.Equal(HttpStatusCode.OK, (await Send(http, HttpMethod.Get, "/v2/health/live", null)).Status);
        Assert.Equal(HttpStatusCode.OK, (await Send(http, HttpMethod.Get, "/v2/health/ready", null)).Status);

        // A revoked key stops working (the host caches checks for at most 10 s; a fresh host sees it at once).
        Assert.True(registry.RevokeApiKey("all"));
        using var fresh = await Start(new ServingOptions());
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(fresh, HttpMethod.Get, "/v2/models/clf", null, apiKey: all)).Status);
    }

    [Fact]
    public async Task Caller_DescribesAJwtAsItDoesAnApiKey_AndRefusesExpiredOrForgedTokens()
    {
        using var http = await Start(new ServingOptions { Jwt = new JwtOptions { SigningKey = JwtKey } });
        var (status, body) = await Send(http, HttpMethod.Get, "/v1/caller", null, bearer: Jwt("read:clf manage:clf", DateTime.UtcNow.AddMinutes(10)));
        Assert.Equal(HttpStatusCode.OK, status);
        using (var json = JsonDocument.Parse(body))
        {
            Assert.Equal("alice", json.RootElement.GetProperty("subject").GetString());
            Assert.Equal(["read:clf", "manage:clf"], json.RootElement.GetProperty("scopes").EnumerateArray().Select(e => e.GetString()));
        }
        var expired = await Send(http, HttpMethod.Get, "/v1/caller", null, bearer: Jwt("read", DateTime.UtcNow.AddMinutes(-10)));
        Assert.Equal(HttpStatusCode.Unauthorized, expired.Status);
        Assert.Contains("expired", expired.Body);
        var forged = Jwt("read", DateTime.UtcNow.AddMinutes(10), key: Encoding.ASCII.GetBytes(new string('k', 48)));
        Assert.Equal(HttpStatusCode.Unauthorized, (await Send(http, HttpMethod.Get, "/v1/caller", null, bearer: forged)).Status);
    }

    [Fact]
    public async Task AnonymousInference_OnlyWhenTurnedOn_AndBadCredentialsStillRefused()
    {
        using var closed = await Start(new ServingOptions());
        using var open = await Start(new ServingOptions { AllowAnonymousInference = true });
        foreach (var (method, path, body, verb, ok, setup) in Routes())
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await Send(closed, method, path, body)).Status);
            setup?.Invoke();
            var anonymous = await Send(open, method, path, body);
            // Inference and the protocol's model metadata open up; the management routes (/v1/models/...) never do.
            bool opens = verb == AccessVerb.Infer || path.StartsWith("/v2/", StringComparison.Ordinal);
            Assert.True(anonymous.Status == (opens ? ok : HttpStatusCode.Unauthorized), $"{method} {path} anonymous with inference open: {anonymous}");
            Assert.Equal(HttpStatusCode.Unauthorized, (await Send(open, method, path, body, apiKey: "nck_bad")).Status);
        }
    }

    [Fact]
    public async Task RateLimit_PerKey_Gives429_AndOtherKeysAreUnaffected()
    {
        using var http = await Start(new ServingOptions { RateLimit = new RateLimitOptions { RequestsPerSecond = 1, Burst = 3 } });
        string a = registry.CreateApiKey("a", AccessScope.ParseList("read")).Key;
        string b = registry.CreateApiKey("b", AccessScope.ParseList("read")).Key;
        var statuses = new List<HttpStatusCode>();
        for (int i = 0; i < 6; i++) statuses.Add((await Send(http, HttpMethod.Get, "/v2/models/clf", null, apiKey: a)).Status);
        Assert.Equal(HttpStatusCode.OK, statuses[0]);
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        Assert.True(statuses.Count(s => s == HttpStatusCode.OK) <= 4, string.Join(",", statuses));   // burst 3, at most one refill
        var limited = await Send(http, HttpMethod.Get, "/v2/models/clf", null, apiKey: a);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.Status);
        using (var problem = JsonDocument.Parse(limited.Body))
            Assert.Contains("rate limit", problem.RootElement.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, (await Send(http, HttpMethod.Get, "/v2/models/clf", null, apiKey: b)).Status);
        Assert.Equal(HttpStatusCode.OK, (await Send(http, HttpMethod.Get, "/v2/health/live", null)).Status);
    }

    [Fact]
    public void ShortJwtKey_IsRefused() =>
        Assert.Contains("at least 32", Assert.Throws<ArgumentException>(() =>
            ServingHost.Create(registry, new ServingOptions { Jwt = new JwtOptions { SigningKey = new byte[16] } })).Message);
}
