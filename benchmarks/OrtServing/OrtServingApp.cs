// A minimal ASP.NET Core app serving one ONNX model with ONNX Runtime over the Open Inference Protocol's JSON infer
// route, as a .NET team would write it today: one shared InferenceSession, System.Text.Json, no batching.
//
//   dotnet run --project benchmarks/OrtServing -c Release -- --model PATH.onnx [--name fashion-mlp]
//                                                            [--urls http://127.0.0.1:8081] [--intra-op-threads 1]
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace NeuralCore.Benchmarks.OrtServing;

/// <summary>Builds and runs the ONNX Runtime serving app.</summary>
public static class OrtServingApp
{
    /// <summary>Most input values one request may carry (as NeuralCore.Serving's limit).</summary>
    public const int MaxElements = 1 << 24;

    /// <summary>Parses <c>--model</c>, <c>--name</c>, <c>--urls</c> and <c>--intra-op-threads</c>, then serves until stopped.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        string? model = null, name = "fashion-mlp", urls = "http://127.0.0.1:8081";
        int threads = 1;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--model": model = Next(); break;
                case "--name": name = Next(); break;
                case "--urls": urls = Next(); break;
                case "--intra-op-threads":
                    threads = int.TryParse(Next(), out int n) && n >= 1 ? n : throw new ArgumentException("--intra-op-threads must be a positive integer.");
                    break;
                default: throw new ArgumentException($"Unknown option {args[i]}. Options: --model PATH, --name NAME, --urls URL, --intra-op-threads N.");
            }
        }
        if (model is null) throw new ArgumentException("--model PATH.onnx is required.");
        await using var app = Create(model, name, urls.Split(';'), threads);
        await app.RunAsync();
        return 0;
    }

    /// <summary>
    /// The app serving the ONNX file <paramref name="modelPath"/> as <paramref name="modelName"/> at
    /// <paramref name="urls"/>, with ONNX Runtime's intra-op thread pool set to <paramref name="intraOpThreads"/>.
    /// Routes: <c>GET /v2/health/ready</c> and <c>POST /v2/models/{name}/infer</c>.
    /// </summary>
    public static WebApplication Create(string modelPath, string modelName, string[] urls, int intraOpThreads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(intraOpThreads, 1);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls(urls);
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, OrtServingJson.Default));
        var options = new Microsoft.ML.OnnxRuntime.SessionOptions
        {
            IntraOpNumThreads = intraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        var session = new InferenceSession(modelPath, options);
        var runOptions = new RunOptions();
        builder.Services.AddSingleton(session);
        var app = builder.Build();

        string inputName = session.InputNames[0], outputName = session.OutputNames[0];
        long[] inputShape = [.. session.InputMetadata[inputName].Dimensions.Select(d => (long)d)];

        app.MapGet("/v2/health/ready", () => Results.Json(new ReadyResponse(true), OrtServingJson.Default.ReadyResponse));
        app.MapPost("/v2/models/{name}/infer", (string name, InferRequest request) =>
        {
            if (name != modelName) return Error(StatusCodes.Status404NotFound, $"Unknown model '{name}'; this server serves '{modelName}'.");
            if (request.Inputs is not [var input]) return Error(StatusCodes.Status400BadRequest, "The request must have exactly one input.");
            if (input.Datatype != "FP32") return Error(StatusCodes.Status400BadRequest, $"Input datatype must be FP32, not {input.Datatype}.");
            if (input.Shape is null || input.Data is null) return Error(StatusCodes.Status400BadRequest, "The input needs a shape and flat data.");
            if (input.Shape.Length != inputShape.Length || input.Shape.Any(d => d < 1)
                || input.Shape.Where((d, i) => i > 0 && inputShape[i] > 0 && inputShape[i] != d).Any())
                return Error(StatusCodes.Status400BadRequest, $"Input shape [{string.Join(", ", input.Shape)}] does not fit the model's [{string.Join(", ", inputShape)}] (-1: any).");
            long count = input.Shape.Aggregate(1L, (a, d) => a * d);
            if (count > MaxElements || count != input.Data.Length)
                return Error(StatusCodes.Status400BadRequest, $"The shape holds {count} values (at most {MaxElements}), the data {input.Data.Length}.");

            using var tensor = OrtValue.CreateTensorValueFromMemory(input.Data, input.Shape);
            using var results = session.Run(runOptions, [inputName], [tensor], [outputName]);
            var output = results[0];
            long[] shape = output.GetTensorTypeAndShape().Shape;
            float[] data = output.GetTensorDataAsSpan<float>().ToArray();
            return Results.Json(new InferResponse(modelName, "1", request.Id, [new InferOutput(outputName, "FP32", shape, data)]),
                OrtServingJson.Default.InferResponse);
        });
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            runOptions.Dispose();
            session.Dispose();
        });
        return app;
    }

    static IResult Error(int status, string message) => Results.Json(new ErrorResponse(message), OrtServingJson.Default.ErrorResponse, statusCode: status);
}

/// <summary>A v2 infer request (JSON form, flat data only).</summary>
/// <param name="Id">The request id, echoed in the answer.</param>
/// <param name="Inputs">The input tensors; the model takes one.</param>
public sealed record InferRequest(string? Id, InferInput[]? Inputs);

/// <summary>One input tensor of a v2 infer request.</summary>
/// <param name="Name">The input's name.</param>
/// <param name="Shape">Its shape, batch first.</param>
/// <param name="Datatype">Its element type; FP32 only.</param>
/// <param name="Data">Its values, flat and row-major.</param>
public sealed record InferInput(string? Name, long[]? Shape, string? Datatype, float[]? Data);

/// <summary>A v2 infer answer.</summary>
/// <param name="ModelName">The model served.</param>
/// <param name="ModelVersion">Its version (always "1").</param>
/// <param name="Id">The request's id.</param>
/// <param name="Outputs">The output tensors.</param>
public sealed record InferResponse(
    [property: JsonPropertyName("model_name")] string ModelName,
    [property: JsonPropertyName("model_version")] string ModelVersion,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Id,
    InferOutput[] Outputs);

/// <summary>One output tensor of a v2 infer answer.</summary>
/// <param name="Name">The output's name.</param>
/// <param name="Datatype">Its element type.</param>
/// <param name="Shape">Its shape.</param>
/// <param name="Data">Its values, flat and row-major.</param>
public sealed record InferOutput(string Name, string Datatype, long[] Shape, float[] Data);

/// <summary>The answer of <c>/v2/health/ready</c>.</summary>
/// <param name="Ready">Whether the server is ready.</param>
public sealed record ReadyResponse(bool Ready);

/// <summary>The answer to a refused request.</summary>
/// <param name="Error">What was wrong.</param>
public sealed record ErrorResponse(string Error);

/// <summary>Source-generated System.Text.Json metadata for the app's messages (camelCase, as the v2 protocol spells them).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(InferRequest))]
[JsonSerializable(typeof(InferResponse))]
[JsonSerializable(typeof(ReadyResponse))]
[JsonSerializable(typeof(ErrorResponse))]
public sealed partial class OrtServingJson : JsonSerializerContext;
