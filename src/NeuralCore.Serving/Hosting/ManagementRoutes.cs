using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using NeuralCore.Serving.Registry;

namespace NeuralCore.Serving.Hosting;

public static partial class ServingHost
{
    /// <summary>
    /// Maps the registry's management routes under <c>/v1/models</c> (never anonymous): listing and showing models
    /// and versions need <c>read</c>, moving aliases, tags and archiving need <c>manage</c> on the model. Changes are
    /// refused with 409 when the registry's rules forbid them (an alias on an archived version...).
    /// </summary>
    public static IEndpointRouteBuilder MapRegistryManagement(this IEndpointRouteBuilder endpoints, ServingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        options ??= new ServingOptions();

        endpoints.MapGet("/v1/models", (HttpContext http, LoadedModels models) => Guarded(() =>
        {
            var readable = models.Registry.ListModels().Where(m => ServingAccess.Scopes(http.User).Any(s => s.Allows(AccessVerb.Read, m.Name)));
            return Results.Json(new ModelListResponse([.. readable.Select(ModelJson.From)]), ServingJson.Default.ModelListResponse);
        })).RequireScope(AccessVerb.Read, options, anyModel: true);

        var read = endpoints.MapGroup("/v1/models/{name}").RequireScope(AccessVerb.Read, options);
        read.MapGet("", (string name, LoadedModels models) => Guarded(() => Results.Json(
            new ModelDetailResponse(ModelJson.From(models.Registry.GetModel(name)), [.. models.Registry.ListVersions(name).Select(VersionJson.From)]),
            ServingJson.Default.ModelDetailResponse)));
        read.MapGet("/versions/{version}", (string name, string version, LoadedModels models) =>
            Guarded(() => Version(models.Registry.Resolve(name, version))));

        var manage = endpoints.MapGroup("/v1/models/{name}").RequireScope(AccessVerb.Manage, options);
        manage.MapPut("/aliases/{alias}", async (string name, string alias, HttpRequest request, LoadedModels models) =>
        {
            var (body, problem) = await ReadObject(request);
            if (problem is not null) return problem;
            return Managed(() =>
            {
                if (!body.TryGetProperty("version", out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int version) || version < 1)
                    throw new InferenceRequestException("The body must be {\"version\": N} with N a version number.");
                models.Registry.SetAlias(name, alias, version);
                return Version(models.Registry.GetVersion(name, version));
            });
        });
        manage.MapDelete("/aliases/{alias}", (string name, string alias, LoadedModels models) => Managed(() =>
            models.Registry.RemoveAlias(name, alias) ? Results.NoContent()
                : throw new ModelNotFoundException($"Model '{name}' has no alias '{alias}'.")));
        manage.MapPut("/versions/{version}/tags/{key}", async (string name, string version, string key, HttpRequest request, LoadedModels models) =>
        {
            var (body, problem) = await ReadObject(request);
            if (problem is not null) return problem;
            return Managed(() =>
            {
                if (!body.TryGetProperty("value", out var value) || value.ValueKind != JsonValueKind.String)
                    throw new InferenceRequestException("The body must be {\"value\": \"...\"}.");
                int number = Number(models, name, version);
                models.Registry.SetTag(name, number, key, value.GetString()!);
                return Version(models.Registry.GetVersion(name, number));
            });
        });
        manage.MapDelete("/versions/{version}/tags/{key}", (string name, string version, string key, LoadedModels models) => Managed(() =>
            models.Registry.RemoveTag(name, Number(models, name, version), key) ? Results.NoContent()
                : throw new ModelNotFoundException($"Model '{name}' version {version} has no tag '{key}'.")));
        manage.MapPost("/versions/{version}/archive", (string name, string version, LoadedModels models) => Managed(() =>
        {
            int number = Number(models, name, version);
            models.Registry.Archive(name, number);
            return Version(models.Registry.GetVersion(name, number));
        }));
        manage.MapPost("/versions/{version}/unarchive", (string name, string version, LoadedModels models) => Managed(() =>
        {
            int number = Number(models, name, version);
            models.Registry.Unarchive(name, number);
            return Version(models.Registry.GetVersion(name, number));
        }));
        return endpoints;
    }

    static int Number(LoadedModels models, string name, string reference) => models.Registry.Resolve(name, reference).Version;

    static IResult Managed(Func<IResult> body)
    {
        try
        {
            return Guarded(body);
        }
        catch (InvalidOperationException e)
        {
            return Problem(StatusCodes.Status409Conflict, "Refused by the registry", e.Message);
        }
    }

    static async Task<(JsonElement Body, IResult? Problem)> ReadObject(HttpRequest request)
    {
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = 16 }, request.HttpContext.RequestAborted);
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? (document.RootElement.Clone(), null)
                : (default, Problem(StatusCodes.Status400BadRequest, "Invalid request", "The body must be a JSON object."));
        }
        catch (JsonException e)
        {
            return (default, Problem(StatusCodes.Status400BadRequest, "Malformed JSON", $"The request body is not valid JSON: {e.Message}"));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (default, Problem(StatusCodes.Status413PayloadTooLarge, "Request too large", e.Message));
        }
    }

    static IResult Version(ModelVersionInfo v) => Results.Json(VersionJson.From(v), ServingJson.Default.VersionJson);

    /// <summary>
    /// <c>POST /v1/models/{name}:predict[?version=V]</c>: instances in (<see cref="InferenceRequest.ParseInstances(ReadOnlySpan{byte}, ModelSignature)"/>), or
    /// one PNG or JPEG image (<c>Content-Type: image/png</c> or <c>image/jpeg</c>, <see cref="ImageInput"/>); per instance the class probabilities (softmax of the output, unless its rows already are probabilities), the
    /// most probable class and its label out.
    /// </summary>
    static async Task<IResult> Predict(LoadedModels models, string name, string defaultVersion, HttpRequest request)
    {
        string reference = request.Query["version"].FirstOrDefault() ?? defaultVersion;
        if (ImageInput.IsImage(request.ContentType))
        {
            var (image, readError) = await ReadBodyAsync(request);
            if (image is null) return readError!;
            return await Predict(models, name, reference, request, signature => ImageInput.Parse(image, signature));
        }
        // Read from the body's bytes (no document): checked as JSON first, so a malformed body is a 400 before the
        // model is looked up, as when it was parsed into a document.
        var (body, error) = await ReadBodyAsync(request);
        if (body is null) return error!;
        int start = body.AsSpan().StartsWith(Utf8Bom) ? Utf8Bom.Length : 0;   // skipped, as JsonDocument.ParseAsync skips it
        InferenceRequest.InstancesLayout layout;
        try
        {
            layout = InferenceRequest.LocateInstances(body.AsSpan(start), InferenceRequest.MaxJsonDepth);
        }
        catch (JsonException e)
        {
            return MalformedJson(e);
        }
        return await Predict(models, name, reference, request, signature => InferenceRequest.ParseInstances(body.AsSpan(start), layout, signature));
    }

    static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    static Task<IResult> Predict(LoadedModels models, string name, string reference, HttpRequest request, Func<ModelSignature, Tensor> parse) =>
        GuardedAsync(async () =>
            {
                var model = models.Get(name, reference);
                request.HttpContext.Items[ServingMetrics.ServedItem] = model;
                var input = parse(model.Info.Signature);
                var (shape, values) = await model.PredictAsync(input, request.HttpContext.RequestAborted);
                if (shape.Length != 2)
                    throw new InferenceRequestException($"The model's output has shape [{string.Join(", ", shape)}]; :predict needs one row of class scores per instance. Use the v2 infer route.");
                int classes = (int)shape[1];
                var names = model.Info.Signature.ClassNames;
                var predictions = new Prediction[shape[0]];
                for (int i = 0; i < shape[0]; i++)
                {
                    var probabilities = Probabilities(values.AsSpan(i * classes, classes));
                    int best = 0;
                    for (int c = 1; c < classes; c++) if (probabilities[c] > probabilities[best]) best = c;
                    predictions[i] = new Prediction(best, best < names.Count ? names[best] : best.ToString(CultureInfo.InvariantCulture), probabilities);
                }
                return Results.Json(new PredictResponse(model.Info.Name, model.Info.Version.ToString(CultureInfo.InvariantCulture), names, predictions),
                    ServingJson.Default.PredictResponse);
            });

    /// <summary>The row itself when it already is a probability distribution (non-negative, sums to 1 within 1e-4); else its softmax.</summary>
    internal static float[] Probabilities(ReadOnlySpan<float> row)
    {
        double sum = 0;
        bool distribution = true;
        foreach (var v in row)
        {
            distribution &= v >= 0;
            sum += v;
        }
        if (distribution && Math.Abs(sum - 1) <= 1e-4) return row.ToArray();
        float max = float.NegativeInfinity;
        foreach (var v in row) max = Math.Max(max, v);
        var result = new float[row.Length];
        double total = 0;
        for (int i = 0; i < row.Length; i++) total += result[i] = MathF.Exp(row[i] - max);
        for (int i = 0; i < row.Length; i++) result[i] = (float)(result[i] / total);
        return result;
    }
}
