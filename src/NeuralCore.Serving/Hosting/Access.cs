using System.Collections.Concurrent;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using NeuralCore.Serving.Registry;

namespace NeuralCore.Serving.Hosting;

/// <summary>JWT bearer tokens signed by the operator with a symmetric key (HMAC-SHA256).</summary>
public sealed record JwtOptions
{
    /// <summary>The signing key: at least 32 bytes (256 bits).</summary>
    public required byte[] SigningKey { get; init; }

    /// <summary>The issuer (<c>iss</c>) tokens must carry; null: not checked.</summary>
    public string? Issuer { get; init; }

    /// <summary>The audience (<c>aud</c>) tokens must carry; null: not checked.</summary>
    public string? Audience { get; init; }

    /// <summary>Tolerated clock difference when checking <c>exp</c> and <c>nbf</c>; 30 s by default.</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>Per-caller rate limit (a token bucket per API key, JWT subject, or client address for anonymous calls).</summary>
public sealed record RateLimitOptions
{
    /// <summary>Requests per second each caller may make on average.</summary>
    public required int RequestsPerSecond { get; init; }

    /// <summary>Requests a caller may make at once after being idle; <see cref="RequestsPerSecond"/> by default.</summary>
    public int? Burst { get; init; }
}

/// <summary>
/// Authentication and authorization of the serving host. Callers present an API key (created with
/// <see cref="ModelRegistry.CreateApiKey"/>) or a JWT as <c>Authorization: Bearer ...</c> (an API key also as
/// <c>X-API-Key</c>); both carry scopes (<see cref="AccessScope"/>). A route needs a verb on the model it names.
/// </summary>
public static class ServingAccess
{
    /// <summary>The authentication scheme that picks API key or JWT from the request.</summary>
    public const string Scheme = "NeuralCore";

    /// <summary>The API key authentication scheme.</summary>
    public const string ApiKeyScheme = "ApiKey";

    /// <summary>The header that may carry an API key.</summary>
    public const string ApiKeyHeader = "X-API-Key";

    /// <summary>The claim that carries scopes (space-separated, as OAuth 2 does; repeated claims are read too).</summary>
    public const string ScopeClaim = "scope";

    /// <summary>The claim naming the caller (<c>key:NAME</c> for API keys, the token's subject for JWTs).</summary>
    public const string SubjectClaim = "sub";

    /// <summary>Registers authentication (API keys; JWT when <see cref="ServingOptions.Jwt"/> is set) and the rate limiter.</summary>
    public static IServiceCollection AddServingAccess(this IServiceCollection services, ServingOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        var jwt = options.Jwt;
        if (jwt is not null && (jwt.SigningKey is null || jwt.SigningKey.Length < 32))
            throw new ArgumentException($"The JWT signing key has {jwt.SigningKey?.Length ?? 0} bytes; at least 32 (256 bits) are needed.", nameof(options));
        var authentication = services.AddAuthentication(Scheme)
            .AddPolicyScheme(Scheme, "API key or JWT", p => p.ForwardDefaultSelector = context =>
                jwt is null || IsApiKeyRequest(context.Request) ? ApiKeyScheme : JwtBearerDefaults.AuthenticationScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyScheme, null);
        if (jwt is not null)
            authentication.AddJwtBearer(o =>
            {
                o.MapInboundClaims = false;
                o.TokenValidationParameters = new TokenValidationParameters
                {
                    IssuerSigningKey = new SymmetricSecurityKey(jwt.SigningKey),
                    ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                    ValidateIssuer = jwt.Issuer is not null,
                    ValidIssuer = jwt.Issuer,
                    ValidateAudience = jwt.Audience is not null,
                    ValidAudience = jwt.Audience,
                    ValidateLifetime = true,
                    RequireExpirationTime = true,
                    ClockSkew = jwt.ClockSkew,
                    NameClaimType = SubjectClaim,
                };
            });
        services.AddSingleton<ApiKeyCache>();
        if (options.RateLimit is { Burst: < 1 } or { RequestsPerSecond: < 1 })
            throw new ArgumentException("The rate limit needs at least 1 request per second and a burst of at least 1.", nameof(options));
        if (options.ExplainRateLimit is { Burst: < 1 } or { RequestsPerSecond: < 1 })
            throw new ArgumentException("The explain rate limit needs at least 1 request per second and a burst of at least 1.", nameof(options));
        if (options.RateLimit is null && options.ExplainRateLimit is null) return services;
        services.AddRateLimiter(r =>
        {
            if (options.RateLimit is { } limit)
            {
                r.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                    context.Request.Path.StartsWithSegments("/v2/health") || context.Request.Path.StartsWithSegments("/metrics")
                        ? RateLimitPartition.GetNoLimiter("unlimited")
                        : RateLimitPartition.GetTokenBucketLimiter(Caller(context), _ => Bucket(limit)));
                r.OnRejected = (context, _) => Rejected(context.HttpContext, $"Over the rate limit of {limit.RequestsPerSecond} requests per second for this caller.");
            }
            if (options.ExplainRateLimit is { } explain)
                r.AddPolicy(ServingHost.ExplainRateLimitPolicy, new ExplainRateLimiterPolicy(explain));
        });
        return services;
    }

    /// <summary>Adds the authentication middleware and, when configured, the rate limiter (after authentication, so it knows the caller).</summary>
    public static WebApplication UseServingAccess(this WebApplication app, ServingOptions options)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(options);
        // Both schemes read credentials from these two headers only: a request without them is anonymous, and skips the
        // authentication middleware (the route's scope check still applies).
        app.UseWhen(context => HasCredentials(context.Request), branch => branch.UseAuthentication());
        if (options.RateLimit is not null || options.ExplainRateLimit is not null) app.UseRateLimiter();
        return app;
    }

    /// <summary>Whether the request carries credentials at all (an <c>Authorization</c> or <c>X-API-Key</c> header).</summary>
    static bool HasCredentials(HttpRequest request) =>
        request.Headers.ContainsKey(ApiKeyHeader) || request.Headers.ContainsKey(Microsoft.Net.Http.Headers.HeaderNames.Authorization);

    static TokenBucketRateLimiterOptions Bucket(RateLimitOptions limit) => new()
    {
        TokenLimit = limit.Burst ?? limit.RequestsPerSecond,
        TokensPerPeriod = limit.RequestsPerSecond,
        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
        QueueLimit = 0,
        AutoReplenishment = true,
    };

    static async ValueTask Rejected(HttpContext http, string detail)
    {
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        http.Response.Headers.RetryAfter = "1";
        await Results.Problem(statusCode: 429, title: "Too many requests", detail: detail).ExecuteAsync(http);
    }

    /// <summary>The explain routes' own per-caller token bucket, with its own 429 message.</summary>
    sealed class ExplainRateLimiterPolicy(RateLimitOptions limit) : IRateLimiterPolicy<string>
    {
        public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected { get; } = (context, _) =>
            Rejected(context.HttpContext, $"Over the explain rate limit of {limit.RequestsPerSecond} requests per second for this caller.");

        public RateLimitPartition<string> GetPartition(HttpContext httpContext) =>
            RateLimitPartition.GetTokenBucketLimiter(Caller(httpContext), _ => Bucket(limit));
    }

    static bool IsApiKeyRequest(HttpRequest request) =>
        request.Headers.ContainsKey(ApiKeyHeader)
        || request.Headers.Authorization.ToString().StartsWith("Bearer nck_", StringComparison.Ordinal);

    /// <summary>The rate-limit partition: the authenticated caller, else the client address.</summary>
    static string Caller(HttpContext context) =>
        context.User.Identity?.IsAuthenticated == true && context.User.FindFirst(SubjectClaim)?.Value is { } subject
            ? "caller:" + subject
            : "address:" + context.Connection.RemoteIpAddress;

    /// <summary>The scopes a principal holds.</summary>
    public static IEnumerable<AccessScope> Scopes(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        foreach (var claim in user.FindAll(ScopeClaim))
            foreach (var text in claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                if (AccessScope.TryParse(text, out var scope))
                    yield return scope;
    }

    /// <summary>
    /// Adds the access check to a route: the caller must hold <paramref name="verb"/> on the model named by the
    /// route's <c>name</c> value. No credentials: 401 unless <paramref name="anonymousWhenInferenceOpen"/> and
    /// <see cref="ServingOptions.AllowAnonymousInference"/>; bad credentials (unknown key, bad signature, expired):
    /// 401; missing scope: 403. With <paramref name="anyModel"/> (routes naming no model, such as listings), the verb
    /// on any model will do; the route then shows only what the caller's scopes cover.
    /// </summary>
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, AccessVerb verb, ServingOptions options, bool anonymousWhenInferenceOpen = false,
        bool anyModel = false)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(options);
        bool anonymous = anonymousWhenInferenceOpen && options.AllowAnonymousInference;
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (await RefusedCaller(http, anonymous) is { } refused) return refused;
            var user = http.User;
            if (user.Identity?.IsAuthenticated != true) return await next(context);   // anonymous, and allowed
            string? model = http.Request.RouteValues["name"] as string;
            if (!Scopes(user).Any(s => anyModel ? s.Verb == verb : s.Allows(verb, model)))
            {
                var needed = new AccessScope(verb, model);
                return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
                    detail: $"The caller '{user.FindFirst(SubjectClaim)?.Value}' lacks the scope {needed}{(model is null ? "" : $" (or {needed.Verb.ToString().ToLowerInvariant()}:*)")}.");
            }
            return await next(context);
        });
        return builder;
    }

    /// <summary>
    /// Adds a check that the caller presented valid credentials (an API key or JWT), whatever its scopes: 401 without
    /// credentials or with refused ones. For routes that describe the caller itself.
    /// </summary>
    public static TBuilder RequireCaller<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.AddEndpointFilter(async (context, next) => await RefusedCaller(context.HttpContext, anonymous: false) ?? await next(context));
        return builder;
    }

    /// <summary>The 401 to answer when the credentials were refused, or when there are none and <paramref name="anonymous"/> is false; else null.</summary>
    static async Task<IResult?> RefusedCaller(HttpContext http, bool anonymous)
    {
        // The authentication middleware records successes only; a refused credential is asked for again here
        // (handlers keep their result per request, so nothing is checked twice).
        var result = http.User.Identity?.IsAuthenticated == true || !HasCredentials(http.Request) ? null : await AuthenticateOrNull(http);
        if (result?.Failure is { } failure)
            return Unauthorized(http, $"The credentials were refused: {Describe(failure)}");
        if (http.User.Identity?.IsAuthenticated != true && !anonymous)
            return Unauthorized(http, "This route needs an API key or bearer token (Authorization: Bearer ..., or X-API-Key).");
        return null;
    }

    static async Task<AuthenticateResult?> AuthenticateOrNull(HttpContext http) =>
        http.RequestServices.GetService<IAuthenticationSchemeProvider>() is { } schemes && await schemes.GetDefaultAuthenticateSchemeAsync() is not null
            ? await http.AuthenticateAsync()
            : null;

    static string Describe(Exception failure)
    {
        var inner = failure is AggregateException all ? all.InnerExceptions : [failure];
        if (inner.Any(e => e is SecurityTokenExpiredException)) return "the bearer token has expired.";
        // Token library messages can quote the token; name only the kind of failure.
        return inner.All(e => e is SecurityTokenException or ArgumentException) ? "the bearer token is not valid." : failure.Message;
    }

    static IResult Unauthorized(HttpContext http, string detail)
    {
        http.Response.Headers.WWWAuthenticate = "Bearer";
        return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized", detail: detail);
    }
}

/// <summary>Recently checked API keys (by the SHA-256 of the presented key) for a few seconds, so most requests skip the database.</summary>
internal sealed class ApiKeyCache(LoadedModels models)
{
    static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(10);
    const int MaxEntries = 10_000;
    readonly ConcurrentDictionary<string, (ApiKeyInfo? Info, DateTime Until)> entries = new();

    public ApiKeyInfo? Find(string presented)
    {
        string hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(presented)));
        var now = DateTime.UtcNow;
        if (entries.TryGetValue(hash, out var entry) && entry.Until > now
            && (entry.Info?.ExpiresUtc is not { } expires || expires > DateTimeOffset.UtcNow))
            return entry.Info;
        var info = models.Registry.FindApiKey(presented);
        if (entries.Count >= MaxEntries) entries.Clear();   // bounded: unknown keys tried in bulk cannot grow it
        entries[hash] = (info, now + Lifetime);
        return info;
    }
}

/// <summary>Authenticates <c>X-API-Key: KEY</c> or <c>Authorization: Bearer KEY</c> against the registry's API keys.</summary>
internal sealed class ApiKeyAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyCache keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? presented = Request.Headers[ServingAccess.ApiKeyHeader].FirstOrDefault();
        if (presented is null)
        {
            string authorization = Request.Headers.Authorization.ToString();
            if (!authorization.StartsWith("Bearer ", StringComparison.Ordinal)) return Task.FromResult(AuthenticateResult.NoResult());
            presented = authorization["Bearer ".Length..].Trim();
        }
        var info = keys.Find(presented);
        if (info is null) return Task.FromResult(AuthenticateResult.Fail("unknown, revoked or expired API key."));
        var claims = new List<Claim> { new(ServingAccess.SubjectClaim, "key:" + info.Name) };
        claims.AddRange(info.Scopes.Select(s => new Claim(ServingAccess.ScopeClaim, s.ToString())));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, ServingAccess.ApiKeyScheme, ServingAccess.SubjectClaim, null));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, ServingAccess.ApiKeyScheme)));
    }
}
