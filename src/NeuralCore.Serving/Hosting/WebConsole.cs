using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using NeuralCore.Serving.Registry;

namespace NeuralCore.Serving.Hosting;

/// <summary>
/// The web console: static files embedded in this assembly (HTML, JavaScript, CSS; no Node or other files needed at
/// run time) served under <c>/console/</c>, and the small JSON routes it calls besides the management and inference
/// routes: <c>GET /v1/caller</c>, <c>GET /v1/stats</c> and <c>GET /v1/models/{name}/versions/{version}/curves</c>.
/// The files are open (they hold no data); everything they show comes from routes that check the caller's scopes.
/// </summary>
public static class WebConsole
{
    /// <summary>The path the console is served under.</summary>
    public const string BasePath = "/console";

    const string ResourcePrefix = "console/";

    /// <summary>Each embedded file by its path under <see cref="BasePath"/>, with its content type and entity tag.</summary>
    static readonly Lazy<FrozenDictionary<string, (byte[] Bytes, string ContentType, string ETag)>> Files = new(LoadFiles);

    static FrozenDictionary<string, (byte[], string, string)> LoadFiles()
    {
        var assembly = typeof(WebConsole).Assembly;
        var files = new Dictionary<string, (byte[], string, string)>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal)) continue;
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var bytes = buffer.ToArray();
            string etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..16] + "\"";
            files[resource[ResourcePrefix.Length..]] = (bytes, ContentType(resource), etag);
        }
        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    static string ContentType(string path) => Path.GetExtension(path) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        _ => "application/octet-stream",
    };

    /// <summary>The files the console consists of (paths under <see cref="BasePath"/>).</summary>
    public static IReadOnlyCollection<string> FileNames => Files.Value.Keys;

    /// <summary>
    /// Maps the console's files under <see cref="BasePath"/> and its JSON routes; a <see cref="LoadedModels"/> must be
    /// registered as a service (and an <see cref="RequestStats"/> for <c>/v1/stats</c> to count anything, as
    /// <see cref="ServingHost.Create"/> does).
    /// </summary>
    public static IEndpointRouteBuilder MapWebConsole(this IEndpointRouteBuilder endpoints, ServingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        options ??= new ServingOptions();
        // The catch-all also matches the bare path, which is sent to the folder so that the page's relative links resolve.
        endpoints.MapGet(BasePath + "/{*file}", (string? file, HttpContext http) =>
            http.Request.Path.Value is BasePath ? Results.Redirect(BasePath + "/")
                : Serve(http, string.IsNullOrEmpty(file) ? "index.html" : file));

        endpoints.MapGet("/v1/caller", (HttpContext http) => Results.Json(
            new CallerResponse(http.User.FindFirst(ServingAccess.SubjectClaim)?.Value ?? "", [.. ServingAccess.Scopes(http.User).Select(s => s.ToString())]),
            ServingJson.Default.CallerResponse)).RequireCaller();

        endpoints.MapGet("/v1/stats", (HttpContext http) =>
        {
            var stats = http.RequestServices.GetService(typeof(RequestStats)) as RequestStats;
            return stats is null
                ? Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: "This host does not keep request statistics.")
                : Results.Json(stats.Snapshot(), ServingJson.Default.StatsResponse);
        }).RequireScope(AccessVerb.Read, options, anyModel: true);

        endpoints.MapGet("/v1/models/{name}/versions/{version}/curves", (string name, string version, LoadedModels models) =>
            ServingHost.Guarded(() =>
            {
                var info = models.Registry.Resolve(name, version);
                return Results.Json(new CurvesResponse(info.Name, info.Version, models.Registry.GetTrainingCurves(info.Name, info.Version)),
                    ServingJson.Default.CurvesResponse);
            })).RequireScope(AccessVerb.Read, options);

        // The mean FLOPs and energy per inference request this host served for the model (all versions).
        endpoints.MapGet("/v1/models/{name}/energy", (string name, LoadedModels models) =>
            ServingHost.Guarded(() =>
            {
                var model = models.Registry.GetModel(name);
                var cost = ServingMetrics.GetServedCost(model.Name);
                return Results.Json(new ServedCostResponse(model.Name, cost?.Requests ?? 0, cost?.FlopsPerRequest, cost?.JoulesPerRequest,
                    cost?.Co2eGramsPerRequest, cost?.Method), ServingJson.Default.ServedCostResponse);
            })).RequireScope(AccessVerb.Read, options);
        return endpoints;
    }

    static IResult Serve(HttpContext http, string file)
    {
        if (!Files.Value.TryGetValue(file, out var entry))
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"The console has no file '{InferenceRequest.Clip(file)}'.");
        var headers = http.Response.Headers;
        // Scripts and styles from this host only, no inline script; images may be data: or blob: URLs (the drawing pad, dropped files).
        headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-cache";
        headers.ETag = entry.ETag;
        if (http.Request.Headers.IfNoneMatch.Contains(entry.ETag)) return Results.StatusCode(StatusCodes.Status304NotModified);
        return Results.Bytes(entry.Bytes, entry.ContentType);
    }
}
