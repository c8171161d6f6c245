using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using NeuralCore.Explain;
using NeuralCore.Nn;
using NeuralCore.Serving.Registry;

namespace NeuralCore.Serving.Hosting;

/// <summary>The attribution method an explain request asks for (parameter <c>method</c>).</summary>
public enum ExplainMethod
{
    /// <summary><c>integrated_gradients</c> (the default): attributions that sum to f(x) − f(0), with the completeness delta reported.</summary>
    IntegratedGradients,

    /// <summary><c>saliency</c>: the signed gradient of the target output with respect to the input.</summary>
    Saliency,

    /// <summary><c>occlusion</c>: the drop of the target output when a window of the input is set to 0.</summary>
    Occlusion,
}

/// <summary>
/// The parameters of an explain request: <c>method</c> (<c>integrated_gradients</c>, <c>saliency</c> or
/// <c>occlusion</c>), <c>target</c> (a class index; the predicted class by default), <c>steps</c> (integrated
/// gradients' trapezoid intervals), <c>window</c> (occlusion's window side) and <c>heatmap</c> (a PNG per instance).
/// </summary>
/// <param name="Method">The attribution method.</param>
/// <param name="Target">The output column to explain; null: each instance's predicted class.</param>
/// <param name="Steps">Intervals of the trapezoid rule for integrated gradients.</param>
/// <param name="Window">Occlusion's window side; null: 1 for one-dimensional instances, else 4 (clipped to the input).</param>
/// <param name="Heatmap">Whether to render each instance's attributions as a base64 PNG over the input (image inputs only).</param>
public sealed record ExplainParameters(ExplainMethod Method, int? Target, int Steps, int? Window, bool Heatmap)
{
    /// <summary>Default <see cref="Steps"/>: 256 trapezoid intervals (257 points on the path).</summary>
    public const int DefaultSteps = 256;

    /// <summary>Largest <see cref="Steps"/> accepted.</summary>
    public const int MaxSteps = 1024;

    /// <summary>Most instances one explain request may carry.</summary>
    public const int MaxInstances = 64;

    /// <summary>
    /// Most input elements the model may be evaluated on for one request (instances × input elements × path points
    /// or occlusion windows): 2^27, about half a gigabyte of Float32 passed through the model.
    /// </summary>
    public const long MaxWorkElements = 1L << 27;

    static readonly string[] Names = ["method", "target", "steps", "window", "heatmap"];

    /// <summary>Reads the parameters from name/value pairs (JSON <c>parameters</c> object or query string).</summary>
    /// <exception cref="InferenceRequestException">An unknown name or a value out of range; the message names it and what is accepted.</exception>
    public static ExplainParameters Parse(IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (var name in values.Keys)
            if (!Names.Contains(name))
                throw new InferenceRequestException($"Unknown explain parameter \"{InferenceRequest.Clip(name)}\"; the parameters are {string.Join(", ", Names)}.");
        var method = ExplainMethod.IntegratedGradients;
        if (values.TryGetValue("method", out var m))
            method = m switch
            {
                "integrated_gradients" => ExplainMethod.IntegratedGradients,
                "saliency" => ExplainMethod.Saliency,
                "occlusion" => ExplainMethod.Occlusion,
                _ => throw new InferenceRequestException($"Unknown explain method \"{InferenceRequest.Clip(m)}\"; use integrated_gradients (the default), saliency or occlusion."),
            };
        int? target = values.TryGetValue("target", out var t) ? Integer("target", t, 0, int.MaxValue) : null;
        int steps = values.TryGetValue("steps", out var s) ? Integer("steps", s, 1, MaxSteps) : DefaultSteps;
        int? window = values.TryGetValue("window", out var w) ? Integer("window", w, 1, 1 << 14) : null;
        bool heatmap = values.TryGetValue("heatmap", out var h) && (h switch
        {
            "true" => true,
            "false" => false,
            _ => throw new InferenceRequestException($"The explain parameter heatmap must be true or false; found \"{InferenceRequest.Clip(h)}\"."),
        });
        return new ExplainParameters(method, target, steps, window, heatmap);
    }

    static int Integer(string name, string text, int min, int max) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) && v >= min && v <= max ? v
            : throw new InferenceRequestException($"The explain parameter {name} must be an integer in [{min}, {max}]; found \"{InferenceRequest.Clip(text)}\".");

    /// <summary>The method's name on the wire.</summary>
    internal string MethodName => Method switch
    {
        ExplainMethod.Saliency => "saliency",
        ExplainMethod.Occlusion => "occlusion",
        _ => "integrated_gradients",
    };
}

/// <summary>What an explain request computed for its batch.</summary>
internal sealed record ExplainResult(
    ModelVersionInfo Info,
    ExplainParameters Parameters,
    long[] InputShape,
    long[] OutputShape,
    float[] Outputs,
    int[] Predictions,
    int[] Targets,
    float[] Attributions,
    IntegratedGradientsResult[]? Completeness,
    string?[]? Heatmaps);

public static partial class ServingHost
{
    /// <summary>The rate limiter policy of the explain routes (<see cref="ServingOptions.ExplainRateLimit"/>).</summary>
    public const string ExplainRateLimitPolicy = "explain";

    /// <summary>Per loaded version: the lock that serializes its explains and the model copy they run on.</summary>
    sealed class ExplainSlot
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public Sequential? Copy;
    }

    static readonly ConditionalWeakTable<LoadedModel, ExplainSlot> ExplainSlots = new();

    /// <summary>
    /// Maps the explain routes beside infer, with the same access rule (<c>infer</c> on the model):
    /// <c>POST /v2/models/{name}[/versions/{version}]/explain</c> (a v2 infer body plus <c>parameters</c>) and
    /// <c>POST /v1/models/{name}:explain[?version=V]</c> (instances as for <c>:predict</c>, or one PNG/JPEG image, with
    /// the parameters in the body's <c>parameters</c> object or the query string). With
    /// <see cref="ServingOptions.ExplainRateLimit"/> set they also pass the <see cref="ExplainRateLimitPolicy"/> limiter.
    /// </summary>
    /// <remarks>
    /// Explains of one loaded version run one at a time, on a second instance of the version's model loaded from the
    /// registry on the first explain: the attribution methods switch the parameters' gradients off while they run,
    /// which must not happen to the instance that (micro-batched) inference shares.
    /// </remarks>
    public static IEndpointRouteBuilder MapExplain(this IEndpointRouteBuilder endpoints, ServingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        options ??= new ServingOptions();
        string defaultVersion = options.DefaultVersion;
        var builders = new[]
        {
            endpoints.MapPost("/v2/models/{name}/explain", (string name, HttpRequest request, LoadedModels models) =>
                ExplainV2(models, name, defaultVersion, request, options)),
            endpoints.MapPost("/v2/models/{name}/versions/{version}/explain", (string name, string version, HttpRequest request, LoadedModels models) =>
                ExplainV2(models, name, version, request, options)),
            endpoints.MapPost("/v1/models/{name}:explain", (string name, HttpRequest request, LoadedModels models) =>
                ExplainV1(models, name, request.Query["version"].FirstOrDefault() ?? defaultVersion, request, options)),
        };
        foreach (var b in builders)
        {
            b.RequireScope(AccessVerb.Infer, options, anonymousWhenInferenceOpen: true);
            if (options.ExplainRateLimit is not null) b.RequireRateLimiting(ExplainRateLimitPolicy);
        }
        return endpoints;
    }

    static async Task<IResult> ExplainV2(LoadedModels models, string name, string reference, HttpRequest request, ServingOptions options)
    {
        var (document, error) = await ReadJsonAsync(request);
        if (document is null) return error!;
        using (document)
            return await GuardedAsync(async () =>
            {
                var model = models.Get(name, reference);
                request.HttpContext.Items[ServingMetrics.ServedItem] = model;
                var root = document.RootElement;
                var parameters = ExplainParameters.Parse(ParameterValues(root, request: null));
                var (id, input, _) = InferenceRequest.Parse(WithoutParameters(root), model.Info.Signature, ReadOnlySpan<byte>.Empty);
                var result = await ExplainAsync(models, model, input, parameters, options, request.HttpContext.RequestAborted);
                return Results.Text(WriteV2(result, id), "application/json");
            });
    }

    static async Task<IResult> ExplainV1(LoadedModels models, string name, string reference, HttpRequest request, ServingOptions options)
    {
        Func<ModelSignature, Tensor> parse;
        JsonDocument? document = null;
        if (ImageInput.IsImage(request.ContentType))
        {
            var (image, readError) = await ReadBodyAsync(request);
            if (image is null) return readError!;
            parse = signature => ImageInput.Parse(image, signature);
        }
        else
        {
            (document, var error) = await ReadJsonAsync(request);
            if (document is null) return error!;
            var root = document.RootElement;
            parse = signature => InferenceRequest.ParseInstances(root, signature);
        }
        using (document)
            return await GuardedAsync(async () =>
            {
                var model = models.Get(name, reference);
                request.HttpContext.Items[ServingMetrics.ServedItem] = model;
                var parameters = ExplainParameters.Parse(ParameterValues(document?.RootElement, request));
                var input = parse(model.Info.Signature);
                var result = await ExplainAsync(models, model, input, parameters, options, request.HttpContext.RequestAborted);
                return Results.Text(WriteV1(result), "application/json");
            });
    }

    /// <summary>
    /// The explain parameters: the body's <c>parameters</c> object (values: strings, integers or booleans), and for
    /// the v1 route the query string (besides <c>version</c>); a name given both ways is refused.
    /// </summary>
    static Dictionary<string, string> ParameterValues(JsonElement? root, HttpRequest? request)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root is { ValueKind: JsonValueKind.Object } r && r.TryGetProperty("parameters", out var parameters))
        {
            if (parameters.ValueKind != JsonValueKind.Object)
                throw new InferenceRequestException("\"parameters\" must be an object, such as {\"method\": \"saliency\", \"target\": 2}.");
            foreach (var p in parameters.EnumerateObject())
                values[p.Name] = p.Value.ValueKind switch
                {
                    JsonValueKind.String => p.Value.GetString()!,
                    JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => p.Value.GetRawText(),
                    _ => throw new InferenceRequestException($"The explain parameter \"{InferenceRequest.Clip(p.Name)}\" must be a string, number or boolean."),
                };
        }
        if (request is not null)
            foreach (var (key, value) in request.Query)
            {
                if (key == "version") continue;
                if (values.ContainsKey(key))
                    throw new InferenceRequestException($"The explain parameter \"{InferenceRequest.Clip(key)}\" is given both in the body and in the query string.");
                values[key] = value.ToString();
            }
        return values;
    }

    /// <summary>The v2 body without its top-level <c>parameters</c> (which hold the explain parameters, not infer's).</summary>
    static JsonElement WithoutParameters(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("parameters", out _)) return root;
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (var p in root.EnumerateObject())
                if (p.Name != "parameters") p.WriteTo(w);
            w.WriteEndObject();
        }
        using var copy = JsonDocument.Parse(buffer.ToArray(), JsonBodyOptions);
        return copy.RootElement.Clone();
    }

    /// <summary>Checks the bounds, then runs the explain on the version's explain copy, one explain at a time per version.</summary>
    static async Task<ExplainResult> ExplainAsync(LoadedModels models, LoadedModel model, Tensor input, ExplainParameters parameters,
        ServingOptions options, CancellationToken cancellation)
    {
        long n = input.Shape[0];
        long[] instance = input.Shape.ToArray()[1..];
        long perInstance = instance.Aggregate(1L, (a, b) => a * b);
        if (n > ExplainParameters.MaxInstances)
            throw new InferenceRequestException($"The request holds {n} instances; an explain takes at most {ExplainParameters.MaxInstances}.");
        var window = parameters.Method == ExplainMethod.Occlusion ? OcclusionWindow(instance, parameters.Window) : null;
        long evaluations = parameters.Method switch
        {
            ExplainMethod.IntegratedGradients => parameters.Steps + 3L,   // path points, f(x) and f(baseline)
            ExplainMethod.Occlusion => Windows(instance, window!) + 1,
            _ => 2,
        };
        if (n * perInstance * evaluations > ExplainParameters.MaxWorkElements)
            throw new InferenceRequestException(
                $"Explaining {n} instance(s) of {perInstance} values with {parameters.MethodName} evaluates the model on {n * perInstance * evaluations} input elements, more than {ExplainParameters.MaxWorkElements}; send fewer instances, fewer steps or a larger window.");
        (int H, int W, int C)? picture = parameters.Heatmap
            ? ImagePlanes(instance) ?? throw new InferenceRequestException(
                $"A heatmap needs an image input ([H, W], [1 or 3, H, W], or [N] with N a square of at least 64 per instance); the model's instances are [{string.Join(", ", instance)}].")
            : null;

        var slot = ExplainSlots.GetValue(model, _ => new ExplainSlot());
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        if (options.RequestTimeout is { } timeout) limit.CancelAfter(timeout);
        try
        {
            await slot.Gate.WaitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            throw new TimeoutException($"Model '{model.Info.Name}' version {model.Info.Version}: another explain held the model past the request timeout of {options.RequestTimeout?.TotalSeconds:0.###} s.");
        }
        try
        {
            // Autograd's mode and tensor scopes are per thread: the whole explain runs on one.
            return await Task.Run(() =>
            {
                if (slot.Copy is null)
                {
                    slot.Copy = models.LoadExplainCopy(model.Info);
                    slot.Copy.Eval();
                }
                return Explain(slot.Copy, model.Info, input, parameters, window, picture);
            }, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    static ExplainResult Explain(Sequential net, ModelVersionInfo info, Tensor input, ExplainParameters parameters, int[]? window, (int H, int W, int C)? picture)
    {
        int n = (int)input.Shape[0];
        long perInstance = input.NumElements / n;
        long[] outputShape;
        float[] outputs;
        using (Tensor.NoGrad())
        using (Tensor.Scope())
        {
            var y = net.Forward(input);
            outputShape = y.Shape.ToArray();
            outputs = y.To(DType.Float32).ToArray<float>();
        }
        if (outputShape.Length is < 1 or > 2 || outputShape[0] != n)
            throw new InferenceRequestException($"The model's output has shape [{string.Join(", ", outputShape)}]; explaining needs one output row ([N] or [N, classes]) per instance.");
        int classes = outputShape.Length == 2 ? (int)outputShape[1] : 1;
        if (parameters.Target is int t && t >= classes)
            throw new InferenceRequestException($"The explain parameter target is {t}; the model has {classes} output column(s), so it must lie in [0, {classes}).");
        var predictions = new int[n];
        var targets = new int[n];
        var attributions = new float[n * perInstance];
        var completeness = parameters.Method == ExplainMethod.IntegratedGradients ? new IntegratedGradientsResult[n] : null;
        var heatmaps = picture is null ? null : new string?[n];
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            for (int c = 1; c < classes; c++) if (outputs[i * classes + c] > outputs[i * classes + best]) best = c;
            predictions[i] = best;
            targets[i] = parameters.Target ?? best;
            using var scope = Tensor.Scope();
            var row = input.Narrow(0, i, 1);
            Tensor map;
            try
            {
                switch (parameters.Method)
                {
                    case ExplainMethod.Saliency:
                        map = Saliency.Attribute(net, row, targets[i], abs: false);
                        break;
                    case ExplainMethod.Occlusion:
                        map = Occlusion.Attribute(net, row, window!, target: targets[i]);
                        break;
                    default:
                        var ig = IntegratedGradients.Attribute(net, row, targets[i], steps: parameters.Steps, rule: IntegrationRule.Trapezoid);
                        completeness![i] = ig;
                        map = ig.Attributions;
                        break;
                }
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                throw new InferenceRequestException($"The model cannot be explained with {parameters.MethodName}: {e.Message}", e);
            }
            var values = map.To(DType.Float32).ToArray<float>();
            values.CopyTo(attributions, i * perInstance);
            if (picture is { } p)
            {
                long[] planes = p.C == 0 ? [p.H, p.W] : [p.C, p.H, p.W];
                heatmaps![i] = Convert.ToBase64String(NeuralCore.Explain.Heatmap.EncodePng(map.Reshape(planes), row.Reshape(planes)));
            }
        }
        return new ExplainResult(info, parameters, input.Shape.ToArray(), outputShape, outputs, predictions, targets, attributions, completeness, heatmaps);
    }

    /// <summary>Occlusion's window: all channels of an image by a square of the given side, else that many values along the last axis.</summary>
    static int[] OcclusionWindow(long[] instance, int? side)
    {
        var planes = ImagePlanes(instance);
        int s = side ?? (instance.Length == 1 ? 1 : 4);
        var window = instance.Select(_ => 1).ToArray();
        if (instance.Length >= 2)
        {
            window[^1] = s;
            window[^2] = s;
            if (instance.Length == 3 && planes is not null) window[0] = (int)instance[0];
        }
        else window[^1] = s;
        for (int d = 0; d < window.Length; d++)
            if (window[d] > instance[d])
                throw new InferenceRequestException($"The occlusion window {s} is larger than the instance shape [{string.Join(", ", instance)}] allows.");
        return window;
    }

    static long Windows(long[] instance, int[] window)
    {
        long count = 1;
        for (int d = 0; d < instance.Length; d++) count *= (instance[d] - window[d]) / window[d] + 1;
        return count;
    }

    /// <summary>Height, width and channels (0: none) when an instance is an image: [H, W], [1 or 3, H, W], or [N] with N a square of at least 64 (8 × 8).</summary>
    static (int H, int W, int C)? ImagePlanes(long[] instance) => instance switch
    {
        [var h, var w] when h > 1 && w > 1 => ((int)h, (int)w, 0),
        [var c, var h, var w] when c is 1 or 3 && h > 1 && w > 1 => ((int)h, (int)w, (int)c),
        [var n] when n >= 64 && (long)Math.Sqrt(n) * (long)Math.Sqrt(n) == n => ((int)Math.Sqrt(n), (int)Math.Sqrt(n), 0),
        _ => null,
    };

    /// <summary>
    /// The v2 explain response: <c>outputs</c> as infer gives them, <c>predictions</c> and <c>targets</c> per instance,
    /// <c>attributions</c> as a tensor shaped like the input, <c>completeness</c> for integrated gradients and
    /// <c>heatmaps</c> (base64 PNG) when asked for.
    /// </summary>
    static string WriteV2(ExplainResult r, string? id)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("model_name", r.Info.Name);
            w.WriteString("model_version", r.Info.Version.ToString(CultureInfo.InvariantCulture));
            if (id is not null) w.WriteString("id", id);
            w.WriteString("method", r.Parameters.MethodName);
            w.WriteStartArray("outputs");
            WriteTensor(w, r.Info.Signature.Outputs[0].Name, r.OutputShape, r.Outputs);
            w.WriteEndArray();
            WriteInts(w, "predictions", r.Predictions);
            WriteInts(w, "targets", r.Targets);
            w.WritePropertyName("attributions");
            WriteTensor(w, r.Info.Signature.Inputs[0].Name, r.InputShape, r.Attributions);
            if (r.Completeness is { } c)
            {
                w.WriteStartObject("completeness");
                WriteDoubles(w, "output", c.Select(x => x.Outputs[0]));
                WriteDoubles(w, "baseline_output", c.Select(x => x.BaselineOutputs[0]));
                WriteDoubles(w, "attribution_sum", c.Select(x => x.AttributionSums[0]));
                WriteDoubles(w, "delta", c.Select(x => x.AbsoluteDelta[0]));
                WriteDoubles(w, "relative_delta", c.Select(x => x.RelativeDelta[0]));
                w.WriteEndObject();
            }
            if (r.Heatmaps is { } maps)
            {
                w.WriteStartArray("heatmaps");
                foreach (var m in maps) w.WriteStringValue(m);
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>
    /// The v1 explain response: per instance the prediction as <c>:predict</c> gives it (class, label, probabilities),
    /// the target and its label, the attributions nested as the instance, the completeness check for integrated
    /// gradients and the heatmap (base64 PNG) when asked for.
    /// </summary>
    static string WriteV1(ExplainResult r)
    {
        var names = r.Info.Signature.ClassNames;
        string Label(int c) => c < names.Count ? names[c] : c.ToString(CultureInfo.InvariantCulture);
        int n = r.Predictions.Length;
        int classes = r.OutputShape.Length == 2 ? (int)r.OutputShape[1] : 1;
        long[] instance = r.InputShape[1..];
        int perInstance = r.Attributions.Length / n;
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("model_name", r.Info.Name);
            w.WriteString("model_version", r.Info.Version.ToString(CultureInfo.InvariantCulture));
            w.WriteString("method", r.Parameters.MethodName);
            w.WriteStartArray("class_names");
            foreach (var name in names) w.WriteStringValue(name);
            w.WriteEndArray();
            w.WriteStartArray("explanations");
            for (int i = 0; i < n; i++)
            {
                w.WriteStartObject();
                w.WriteNumber("class", r.Predictions[i]);
                w.WriteString("label", Label(r.Predictions[i]));
                w.WriteStartArray("probabilities");
                foreach (var p in Probabilities(r.Outputs.AsSpan(i * classes, classes))) WriteFloat(w, p);
                w.WriteEndArray();
                w.WriteNumber("target", r.Targets[i]);
                w.WriteString("target_label", Label(r.Targets[i]));
                w.WritePropertyName("attributions");
                WriteNested(w, r.Attributions.AsSpan(i * perInstance, perInstance), instance, 0);
                if (r.Completeness is { } c)
                {
                    w.WriteStartObject("completeness");
                    w.WriteNumber("output", c[i].Outputs[0]);
                    w.WriteNumber("baseline_output", c[i].BaselineOutputs[0]);
                    w.WriteNumber("attribution_sum", c[i].AttributionSums[0]);
                    w.WriteNumber("delta", c[i].AbsoluteDelta[0]);
                    w.WriteNumber("relative_delta", c[i].RelativeDelta[0]);
                    w.WriteEndObject();
                }
                if (r.Heatmaps is { } maps) w.WriteString("heatmap", maps[i]);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    static void WriteTensor(Utf8JsonWriter w, string name, long[] shape, float[] values)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteString("datatype", "FP32");
        w.WriteStartArray("shape");
        foreach (var d in shape) w.WriteNumberValue(d);
        w.WriteEndArray();
        w.WriteStartArray("data");
        foreach (var v in values) WriteFloat(w, v);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    static void WriteNested(Utf8JsonWriter w, ReadOnlySpan<float> values, long[] shape, int axis)
    {
        if (axis == shape.Length)
        {
            WriteFloat(w, values[0]);
            return;
        }
        w.WriteStartArray();
        int inner = values.Length / (int)shape[axis];
        for (int k = 0; k < shape[axis]; k++) WriteNested(w, values.Slice(k * inner, inner), shape, axis + 1);
        w.WriteEndArray();
    }

    static void WriteFloat(Utf8JsonWriter w, float v)
    {
        if (float.IsFinite(v)) w.WriteNumberValue(v);
        else w.WriteStringValue(float.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
    }

    static void WriteInts(Utf8JsonWriter w, string name, int[] values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    static void WriteDoubles(Utf8JsonWriter w, string name, IEnumerable<double> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
            if (double.IsFinite(v)) w.WriteNumberValue(v);
            else w.WriteStringValue(double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
        w.WriteEndArray();
    }
}
