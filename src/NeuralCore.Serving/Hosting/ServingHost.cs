using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;
using NeuralCore.Serving.Registry;

namespace NeuralCore.Serving.Hosting;

/// <summary>Settings of a <see cref="ServingHost"/>.</summary>
public sealed record ServingOptions
{
    /// <summary>Where Kestrel listens; loopback only by default (<c>http://127.0.0.1:8080</c>). Port 0 picks a free port.</summary>
    public IReadOnlyList<string> Urls { get; init; } = ["http://127.0.0.1:8080"];

    /// <summary>The version a route without <c>/versions/{version}</c> serves: a number, an alias or <c>latest</c> (the default).</summary>
    public string DefaultVersion { get; init; } = "latest";

    /// <summary>Largest request body accepted, in bytes (larger ones get 413); 64 MiB by default.</summary>
    public long MaxRequestBodyBytes { get; init; } = 64L << 20;

    /// <summary>
    /// When true, callers without credentials may run inference and read the Open Inference Protocol's model metadata
    /// and readiness (what a client needs to call <c>infer</c>); false by default. Management routes always need a scope.
    /// </summary>
    public bool AllowAnonymousInference { get; init; }

    /// <summary>JWT bearer tokens accepted besides API keys; null (the default): API keys only.</summary>
    public JwtOptions? Jwt { get; init; }

    /// <summary>Per-caller rate limit; null (the default): none.</summary>
    public RateLimitOptions? RateLimit { get; init; }

    /// <summary>
    /// Per-caller rate limit of the explain routes (<see cref="ServingHost.MapExplain"/>), a bucket of its own besides
    /// <see cref="RateLimit"/> since an explain costs many forward and backward passes; null (the default): none.
    /// </summary>
    public RateLimitOptions? ExplainRateLimit { get; init; }

    /// <summary>Dynamic micro-batching per loaded version; null (the default): each request runs its own forward pass.</summary>
    public BatchingOptions? Batching { get; init; }

    /// <summary>Most forward passes running at once per loaded version without batching; null (the default): no limit.</summary>
    public int? MaxConcurrencyPerModel { get; init; }

    /// <summary>Longest an inference may wait and run before it is answered with 503; 30 s by default, null: no limit.</summary>
    public TimeSpan? RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Serves the web console under <c>/console/</c> and its JSON routes (<see cref="WebConsole"/>); true by default.</summary>
    public bool WebConsole { get; init; } = true;

    /// <summary>
    /// Counts each inference's FLOPs and measures its energy (<see cref="Profiling.FlopCounter"/>,
    /// <see cref="Profiling.EnergyMeter"/>) for the <c>neuralcore_inference_request_*</c> metrics and the console; true by default.
    /// </summary>
    public bool MeasureCost { get; init; } = true;

    /// <summary>Energy methods, power model and carbon intensity for <see cref="MeasureCost"/>; <see cref="Profiling.EnergyOptions.Default"/> when null.</summary>
    public Profiling.EnergyOptions? Energy { get; init; }

    /// <summary>The default <see cref="RegistryRefreshInterval"/>: one second.</summary>
    public static readonly TimeSpan DefaultRegistryRefreshInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long the host may reuse a resolved model reference (alias, <c>latest</c>, number) when the registry sends
    /// no change notifications: with SQLite, or while a PostgreSQL host re-opens its lost listening connection. This is
    /// then the bound on how late another process's alias move or new version is seen. With PostgreSQL listening,
    /// changes are seen as soon as the notification arrives. One second by default.
    /// </summary>
    public TimeSpan RegistryRefreshInterval { get; init; } = DefaultRegistryRefreshInterval;
}

/// <summary>
/// An ASP.NET Core host (Kestrel, minimal APIs) serving a <see cref="ModelRegistry"/> over the Open Inference Protocol
/// (KServe v2) with JSON tensors: health, server and model metadata, readiness and inference. Aliases resolve per
/// request; each version is loaded once (verified by the registry) and shared by all requests. Errors are
/// <c>application/problem+json</c>: 400 for a malformed or mismatched request (naming what was expected), 404 for an
/// unknown model, version or alias, 413 for a body over the limit, 503 when a version cannot be loaded.
/// </summary>
public static partial class ServingHost
{
    /// <summary>The server name reported by <c>GET /v2</c>.</summary>
    public const string ServerName = "neuralcore";

    /// <summary>Builds (without starting) a web application serving <paramref name="registry"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="ServingOptions.Energy"/> holds a value out of range (the message names it).</exception>
    public static WebApplication Create(ModelRegistry registry, ServingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        options ??= new ServingOptions();
        options.Energy?.Validate();
        if (options.MaxConcurrencyPerModel is < 1)
            throw new ArgumentException($"MaxConcurrencyPerModel must be at least 1, not {options.MaxConcurrencyPerModel}.", nameof(options));
        if (options.Batching is { MaxBatchSize: < 1 } || options.Batching?.MaxQueueDelay < TimeSpan.Zero)
            throw new ArgumentException("Batching needs a MaxBatchSize of at least 1 and a MaxQueueDelay that is not negative.", nameof(options));
        if (options.RequestTimeout <= TimeSpan.Zero)
            throw new ArgumentException($"RequestTimeout must be positive (or null for none), not {options.RequestTimeout}.", nameof(options));
        if (options.RegistryRefreshInterval < TimeSpan.Zero)
            throw new ArgumentException($"RegistryRefreshInterval must not be negative, not {options.RegistryRefreshInterval}.", nameof(options));
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls([.. options.Urls]);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            k.AddServerHeader = false;
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("NeuralCore.Serving", LogLevel.Information);
        builder.Services.AddProblemDetails();
        var models = new LoadedModels(registry, null, options);
        builder.Services.AddSingleton(models);
        builder.Services.AddSingleton(new RequestStats(TimeProvider.System));
        builder.Services.AddServingAccess(options);
        var app = builder.Build();
        models.Logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("NeuralCore.Serving.LoadedModels");
        app.Lifetime.ApplicationStopped.Register(models.Dispose);
        app.UseServingMetrics();
        app.UseServingAccess(options);
        app.MapOpenInference(options);
        app.MapRegistryManagement(options);
        if (options.WebConsole) app.MapWebConsole(options);
        app.MapMetrics("/metrics");
        return app;
    }

    /// <summary>
    /// Maps the Open Inference Protocol routes; a <see cref="LoadedModels"/> must be registered as a service, and
    /// <see cref="ServingAccess.AddServingAccess"/> / <see cref="ServingAccess.UseServingAccess"/> used for credentials
    /// to be recognised. Health and server metadata are open; model metadata and readiness need <c>read</c>, inference
    /// <c>infer</c> on the model (both open when <see cref="ServingOptions.AllowAnonymousInference"/> is set).
    /// </summary>
    public static IEndpointRouteBuilder MapOpenInference(this IEndpointRouteBuilder endpoints, ServingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        options ??= new ServingOptions();
        string defaultVersion = options.DefaultVersion;

        endpoints.MapGet("/v2/health/live", () => Results.Json(new LiveResponse(true), ServingJson.Default.LiveResponse));
        endpoints.MapGet("/v2/health/ready", (LoadedModels models) =>
        {
            try
            {
                models.Registry.ListModels();
                return Results.Json(new ReadyResponse(true), ServingJson.Default.ReadyResponse);
            }
            catch (Exception e) when (e is System.Data.Common.DbException or IOException or InvalidOperationException)
            {
                return Problem(StatusCodes.Status503ServiceUnavailable, "Registry unavailable", e.Message);
            }
        });
        endpoints.MapGet("/v2", () => Results.Json(
            new ServerMetadataResponse(ServerName, typeof(ServingHost).Assembly.GetName().Version?.ToString(3) ?? "0.0.0", ["binary_tensor_data"]),
            ServingJson.Default.ServerMetadataResponse));

        var model = endpoints.MapGroup("/v2/models/{name}");
        var read = model.MapGroup("").RequireScope(AccessVerb.Read, options, anonymousWhenInferenceOpen: true);
        read.MapGet("", (string name, LoadedModels models) => Metadata(models, name, defaultVersion));
        read.MapGet("/versions/{version}", (string name, string version, LoadedModels models) => Metadata(models, name, version));
        read.MapGet("/ready", (string name, LoadedModels models) => Ready(models, name, defaultVersion));
        read.MapGet("/versions/{version}/ready", (string name, string version, LoadedModels models) => Ready(models, name, version));
        var infer = model.MapGroup("").RequireScope(AccessVerb.Infer, options, anonymousWhenInferenceOpen: true);
        infer.MapPost("/infer", (string name, HttpRequest request, LoadedModels models) => Infer(models, name, defaultVersion, request));
        infer.MapPost("/versions/{version}/infer", (string name, string version, HttpRequest request, LoadedModels models) =>
            Infer(models, name, version, request));
        endpoints.MapPost("/v1/models/{name}:predict", (string name, HttpRequest request, LoadedModels models) => Predict(models, name, defaultVersion, request))
            .RequireScope(AccessVerb.Infer, options, anonymousWhenInferenceOpen: true);
        endpoints.MapExplain(options);
        return endpoints;
    }

    static IResult Metadata(LoadedModels models, string name, string reference) => Guarded(() =>
    {
        var info = models.Registry.Resolve(name, reference);
        string[] versions = [.. models.Registry.ListVersions(name).Where(v => !v.Archived).Select(v => v.Version.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        return Results.Json(new ModelMetadataResponse(info.Name, versions, ServerName,
            TensorJson.From(info.Signature.Inputs), TensorJson.From(info.Signature.Outputs),
            new ModelMetadataParameters(info.Version, info.Aliases, info.Signature.ClassNames, info.Sha256, info.Description)),
            ServingJson.Default.ModelMetadataResponse);
    });

    static IResult Ready(LoadedModels models, string name, string reference) => Guarded(() =>
    {
        var model = models.Get(name, reference);
        return Results.Json(new ModelReadyResponse(model.Info.Name, model.Info.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), true),
            ServingJson.Default.ModelReadyResponse);
    });

    /// <summary>The binary tensor data extension's header: the length of the JSON part that starts the body.</summary>
    internal const string InferenceHeaderLength = "Inference-Header-Content-Length";

    static async Task<IResult> Infer(LoadedModels models, string name, string reference, HttpRequest request)
    {
        LoadedModel? model = null;
        JsonDocument? document;
        IResult? error = null;
        byte[] binary = [];
        if (request.Headers.TryGetValue(InferenceHeaderLength, out var declared))
        {
            // Binary tensor data extension: a JSON header of the declared length, then the tensors' raw bytes.
            (var body, error) = await ReadBodyAsync(request);
            if (body is null) return error!;
            if (!int.TryParse(declared, NumberStyles.None, CultureInfo.InvariantCulture, out int length) || length > body.Length)
                return Problem(StatusCodes.Status400BadRequest, "Bad binary request",
                    $"The {InferenceHeaderLength} header must be a byte count of at most the body's {body.Length} bytes; found \"{InferenceRequest.Clip(declared.ToString())}\".");
            (document, error) = ParseJson(body.AsMemory(0, length));
            binary = body[length..];
        }
        else
        {
            // The common form is read straight from the body's bytes (InferenceRequest.TryParseFlat); anything else goes
            // through a JsonDocument, which also names what is wrong with a bad request.
            var reader = request.BodyReader;
            ReadResult read;
            try
            {
                while (!(read = await reader.ReadAsync(request.HttpContext.RequestAborted)).IsCompleted)
                    reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return TooLarge(e);
            }
            IResult? notFound = null;
            string? flatId = null;
            Tensor? flat = null;
            try
            {
                try
                {
                    // Resolved through the host's cache, which a registry change (here or on another host) invalidates.
                    model = models.Get(name, reference);
                }
                catch (Exception e) when (ProblemFor(e) is { } problem)
                {
                    notFound = problem;   // answered once the body is known to be JSON, as for binary requests
                }
                if (model is not null && InferenceRequest.TryParseFlat(read.Buffer, model.Info.Signature, out flatId, out flat)) document = null;
                else (document, error) = ParseJson(read.Buffer);
            }
            finally
            {
                reader.AdvanceTo(read.Buffer.End);
            }
            if (flat is not null)
            {
                request.HttpContext.Items[ServingMetrics.ServedItem] = model;
                return await Answer(model!, flatId, flat, binaryOutput: false, request);
            }
            if (document is not null && notFound is not null)
            {
                document.Dispose();
                return notFound;
            }
        }
        if (document is null) return error!;
        string? id;
        Tensor input;
        bool binaryOutput;
        using (document)
        {
            try
            {
                model ??= models.Get(name, reference);
                request.HttpContext.Items[ServingMetrics.ServedItem] = model;
                (id, input, binaryOutput) = InferenceRequest.Parse(document.RootElement, model.Info.Signature, binary);
            }
            catch (Exception e) when (ProblemFor(e) is { } problem)
            {
                return problem;
            }
        }
        return await Answer(model, id, input, binaryOutput, request);
    }

    /// <summary>Runs <paramref name="input"/> through <paramref name="model"/> and answers in JSON or, with <paramref name="binaryOutput"/>, binary form.</summary>
    static async Task<IResult> Answer(LoadedModel model, string? id, Tensor input, bool binaryOutput, HttpRequest request)
    {
        long[] shape;
        float[] values;
        try
        {
            (shape, values) = await model.PredictAsync(input, request.HttpContext.RequestAborted);
        }
        catch (Exception e) when (ProblemFor(e) is { } problem)
        {
            return problem;
        }
        if (!binaryOutput) return new InferResponse(model.Info, id, shape, values);
        var header = System.Text.Encoding.UTF8.GetBytes(Response(model.Info, id, shape, values, binary: true));
        var payload = new byte[header.Length + values.Length * sizeof(float)];
        header.CopyTo(payload, 0);
        for (int i = 0; i < values.Length; i++)
            System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(payload.AsSpan(header.Length + i * sizeof(float)), values[i]);
        request.HttpContext.Response.Headers[InferenceHeaderLength] = header.Length.ToString(CultureInfo.InvariantCulture);
        return Results.Bytes(payload, "application/octet-stream");
    }

    /// <summary>A JSON v2 infer answer, written straight into the response body.</summary>
    sealed class InferResponse(ModelVersionInfo info, string? id, long[] shape, float[] values) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.ContentType = "application/json";
            await using (var writer = new Utf8JsonWriter(httpContext.Response.BodyWriter))
                WriteResponse(writer, info, id, shape, values, binary: false);
            await httpContext.Response.BodyWriter.FlushAsync(httpContext.RequestAborted);
        }
    }

    /// <summary>The v2 infer response; with <paramref name="binary"/> the output's values are left out of the JSON (they follow it as raw bytes).</summary>
    static string Response(ModelVersionInfo info, string? id, long[] shape, float[] values, bool binary)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
            WriteResponse(w, info, id, shape, values, binary);
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    static void WriteResponse(Utf8JsonWriter w, ModelVersionInfo info, string? id, long[] shape, float[] values, bool binary)
    {
        w.WriteStartObject();
        w.WriteString("model_name", info.Name);
        w.WriteString("model_version", info.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (id is not null) w.WriteString("id", id);
        w.WriteStartArray("outputs");
        w.WriteStartObject();
        w.WriteString("name", info.Signature.Outputs[0].Name);
        w.WriteString("datatype", "FP32");
        w.WriteStartArray("shape");
        foreach (var d in shape) w.WriteNumberValue(d);
        w.WriteEndArray();
        if (binary)
        {
            w.WriteStartObject("parameters");
            w.WriteNumber("binary_data_size", (long)values.Length * sizeof(float));
            w.WriteEndObject();
        }
        else
        {
            w.WriteStartArray("data");
            // Shortest round-trip form: a client parsing these as float32 gets the exact values.
            foreach (var v in values)
                if (float.IsFinite(v)) w.WriteNumberValue(v);
                else w.WriteStringValue(float.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
            w.WriteEndArray();
        }
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    internal static IResult Guarded(Func<IResult> body) => GuardedAsync(() => Task.FromResult(body())).GetAwaiter().GetResult();

    static async Task<IResult> GuardedAsync(Func<Task<IResult>> body)
    {
        try
        {
            return await body();
        }
        catch (Exception e) when (ProblemFor(e) is { } problem)
        {
            return problem;
        }
    }

    /// <summary>The problem answer for an exception a route expects (timeout, unknown model, bad request, unloadable version); null for others.</summary>
    static IResult? ProblemFor(Exception e) => e switch
    {
        TimeoutException => Problem(StatusCodes.Status503ServiceUnavailable, "Inference timed out", e.Message),
        ModelNotFoundException => Problem(StatusCodes.Status404NotFound, "Not found", e.Message),
        InferenceRequestException => Problem(StatusCodes.Status400BadRequest, "Invalid inference request", e.Message),
        ArgumentException => Problem(StatusCodes.Status400BadRequest, "Invalid model reference", e.Message),
        InvalidDataException => Problem(StatusCodes.Status503ServiceUnavailable, "Model version not loadable", e.Message),
        _ => null,
    };

    static IResult Problem(int status, string title, string detail) => Results.Problem(detail: detail, statusCode: status, title: title);

    /// <summary>Parses a JSON request body; a body that is not JSON (400) or is over the size cap (413) gives the problem to return instead.</summary>
    static async Task<(JsonDocument? Document, IResult? Error)> ReadJsonAsync(HttpRequest request)
    {
        try
        {
            return (await JsonDocument.ParseAsync(request.Body, JsonBodyOptions, request.HttpContext.RequestAborted), null);
        }
        catch (JsonException e)
        {
            return (null, MalformedJson(e));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge(e));
        }
    }

    /// <summary>Parses JSON already in memory (the header of a binary request).</summary>
    static (JsonDocument? Document, IResult? Error) ParseJson(ReadOnlyMemory<byte> json) => ParseJson(new ReadOnlySequence<byte>(json));

    /// <summary>Parses JSON already in memory (copied into the document, so the bytes may be released afterwards).</summary>
    static (JsonDocument? Document, IResult? Error) ParseJson(ReadOnlySequence<byte> json)
    {
        try
        {
            return (JsonDocument.Parse(json, JsonBodyOptions), null);
        }
        catch (JsonException e)
        {
            return (null, MalformedJson(e));
        }
    }

    /// <summary>Reads the whole request body into one array (bounded by the host's body size cap: 413 beyond it).</summary>
    static async Task<(byte[]? Body, IResult? Error)> ReadBodyAsync(HttpRequest request)
    {
        var reader = request.BodyReader;
        try
        {
            ReadResult read;
            while (!(read = await reader.ReadAsync(request.HttpContext.RequestAborted)).IsCompleted)
                reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
            var body = read.Buffer.ToArray();
            reader.AdvanceTo(read.Buffer.End);
            return (body, null);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge(e));
        }
    }

    static readonly JsonDocumentOptions JsonBodyOptions = new() { MaxDepth = 64 };

    static IResult MalformedJson(JsonException e) => Problem(StatusCodes.Status400BadRequest, "Malformed JSON", $"The request body is not valid JSON: {e.Message}");

    static IResult TooLarge(BadHttpRequestException e) => Problem(StatusCodes.Status413PayloadTooLarge, "Request too large", e.Message);
}
