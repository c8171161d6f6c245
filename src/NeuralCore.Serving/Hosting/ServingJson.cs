using System.Text.Json.Serialization;
using NeuralCore.Serving.Registry;

namespace NeuralCore.Serving.Hosting;

// The bodies the host answers with, as named types so that their JSON is source-generated (a trimmed or NativeAOT
// build has no reflection-based serialisation). Each property names its JSON field explicitly.

internal sealed record LiveResponse([property: JsonPropertyName("live")] bool Live);

internal sealed record ReadyResponse([property: JsonPropertyName("ready")] bool Ready);

internal sealed record ServerMetadataResponse(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("extensions")] string[] Extensions);

internal sealed record TensorJson(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("datatype")] string DataType,
    [property: JsonPropertyName("shape")] IReadOnlyList<long> Shape)
{
    public static TensorJson From(TensorSpec spec) => new(spec.Name, spec.DataType, spec.Shape);

    public static TensorJson[] From(IEnumerable<TensorSpec> specs) => [.. specs.Select(From)];
}

internal sealed record ModelMetadataParameters(
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("aliases")] IReadOnlyList<string> Aliases,
    [property: JsonPropertyName("class_names")] IReadOnlyList<string> ClassNames,
    [property: JsonPropertyName("sha256")] string Sha256,
    [property: JsonPropertyName("description")] string Description);

internal sealed record ModelMetadataResponse(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("versions")] string[] Versions,
    [property: JsonPropertyName("platform")] string Platform,
    [property: JsonPropertyName("inputs")] TensorJson[] Inputs,
    [property: JsonPropertyName("outputs")] TensorJson[] Outputs,
    [property: JsonPropertyName("parameters")] ModelMetadataParameters Parameters);

internal sealed record ModelReadyResponse(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("ready")] bool Ready);

internal sealed record ModelJson(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("created_utc")] DateTimeOffset CreatedUtc,
    [property: JsonPropertyName("latest_version")] int? LatestVersion,
    [property: JsonPropertyName("version_count")] int VersionCount)
{
    public static ModelJson From(RegisteredModel m) => new(m.Name, m.Description, m.CreatedUtc, m.LatestVersion, m.VersionCount);
}

internal sealed record VersionJson(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("sha256")] string Sha256,
    [property: JsonPropertyName("size_bytes")] long SizeBytes,
    [property: JsonPropertyName("description")] string Description,
    [property: JsonPropertyName("archived")] bool Archived,
    [property: JsonPropertyName("aliases")] IReadOnlyList<string> Aliases,
    [property: JsonPropertyName("tags")] IReadOnlyDictionary<string, string> Tags,
    [property: JsonPropertyName("metrics")] IReadOnlyDictionary<string, double> Metrics,
    [property: JsonPropertyName("parameters")] IReadOnlyDictionary<string, string> Parameters,
    [property: JsonPropertyName("parent_version")] int? ParentVersion,
    [property: JsonPropertyName("dataset")] string? Dataset,
    [property: JsonPropertyName("created_utc")] DateTimeOffset CreatedUtc,
    [property: JsonPropertyName("inputs")] TensorJson[] Inputs,
    [property: JsonPropertyName("outputs")] TensorJson[] Outputs,
    [property: JsonPropertyName("class_names")] IReadOnlyList<string> ClassNames,
    [property: JsonPropertyName("training_cost")] TrainingCostJson? TrainingCost)
{
    public static VersionJson From(ModelVersionInfo v) => new(v.Name, v.Version, v.Sha256, v.SizeBytes, v.Description, v.Archived,
        v.Aliases, v.Tags, v.Metrics, v.Parameters, v.ParentVersion, v.Dataset, v.CreatedUtc,
        TensorJson.From(v.Signature.Inputs), TensorJson.From(v.Signature.Outputs), v.Signature.ClassNames,
        v.TrainingCost is { } c ? new TrainingCostJson(c.Flops, c.EnergyJoules, c.EnergyKWh, c.Co2eGrams, c.Method) : null);
}

internal sealed record TrainingCostJson(
    [property: JsonPropertyName("flops")] long Flops,
    [property: JsonPropertyName("energy_joules")] double EnergyJoules,
    [property: JsonPropertyName("energy_kwh")] double EnergyKWh,
    [property: JsonPropertyName("co2e_grams")] double Co2eGrams,
    [property: JsonPropertyName("method")] string Method);

internal sealed record ServedCostResponse(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("requests")] long Requests,
    [property: JsonPropertyName("flops_per_request")] double? FlopsPerRequest,
    [property: JsonPropertyName("joules_per_request")] double? JoulesPerRequest,
    [property: JsonPropertyName("co2e_grams_per_request")] double? Co2eGramsPerRequest,
    [property: JsonPropertyName("method")] string? Method);

internal sealed record ModelListResponse([property: JsonPropertyName("models")] ModelJson[] Models);

internal sealed record ModelDetailResponse(
    [property: JsonPropertyName("model")] ModelJson Model,
    [property: JsonPropertyName("versions")] VersionJson[] Versions);

internal sealed record Prediction(
    [property: JsonPropertyName("class")] int Class,
    [property: JsonPropertyName("label")] string Label,
    [property: JsonPropertyName("probabilities")] float[] Probabilities);

internal sealed record PredictResponse(
    [property: JsonPropertyName("model_name")] string ModelName,
    [property: JsonPropertyName("model_version")] string ModelVersion,
    [property: JsonPropertyName("class_names")] IReadOnlyList<string> ClassNames,
    [property: JsonPropertyName("predictions")] Prediction[] Predictions);

internal sealed record StatsPoint(
    [property: JsonPropertyName("t")] long UnixSeconds,
    [property: JsonPropertyName("requests")] long Requests,
    [property: JsonPropertyName("errors")] long Errors,
    [property: JsonPropertyName("mean_ms")] double? MeanMs,
    [property: JsonPropertyName("p50_ms")] double? P50Ms,
    [property: JsonPropertyName("p99_ms")] double? P99Ms);

internal sealed record StatsSummary(
    [property: JsonPropertyName("seconds")] int Seconds,
    [property: JsonPropertyName("requests_per_second")] double RequestsPerSecond,
    [property: JsonPropertyName("errors")] long Errors,
    [property: JsonPropertyName("p50_ms")] double? P50Ms,
    [property: JsonPropertyName("p99_ms")] double? P99Ms);

internal sealed record StatsResponse(
    [property: JsonPropertyName("window_seconds")] int WindowSeconds,
    [property: JsonPropertyName("now")] long Now,
    [property: JsonPropertyName("total_requests")] long TotalRequests,
    [property: JsonPropertyName("recent")] StatsSummary Recent,
    [property: JsonPropertyName("series")] StatsPoint[] Series);

internal sealed record CallerResponse(
    [property: JsonPropertyName("subject")] string Subject,
    [property: JsonPropertyName("scopes")] string[] Scopes);

internal sealed record CurvesResponse(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("curves")] IReadOnlyDictionary<string, IReadOnlyList<double>> Curves);

/// <summary>
/// Source-generated JSON for everything the host answers with and the registry stores (its signature, metrics and
/// parameters columns, in their original property spelling). NaN and infinities are written as strings.
/// </summary>
[JsonSourceGenerationOptions(NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(LiveResponse))]
[JsonSerializable(typeof(ReadyResponse))]
[JsonSerializable(typeof(ServerMetadataResponse))]
[JsonSerializable(typeof(ModelMetadataResponse))]
[JsonSerializable(typeof(ModelReadyResponse))]
[JsonSerializable(typeof(ModelListResponse))]
[JsonSerializable(typeof(ModelDetailResponse))]
[JsonSerializable(typeof(VersionJson))]
[JsonSerializable(typeof(PredictResponse))]
[JsonSerializable(typeof(StatsResponse))]
[JsonSerializable(typeof(CallerResponse))]
[JsonSerializable(typeof(CurvesResponse))]
[JsonSerializable(typeof(ServedCostResponse))]
[JsonSerializable(typeof(ModelSignature))]
[JsonSerializable(typeof(Dictionary<string, double>))]
[JsonSerializable(typeof(double[]))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class ServingJson : JsonSerializerContext;
