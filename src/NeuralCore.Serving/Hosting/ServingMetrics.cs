using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Prometheus;

namespace NeuralCore.Serving.Hosting;

/// <summary>
/// The host's Prometheus metrics (prometheus-net, default registry), exposed at <c>/metrics</c> next to
/// prometheus-net's HTTP metrics (<c>http_requests_received_total</c>, <c>http_request_duration_seconds</c> by route).
/// Inference requests are also counted per second for the web console (<c>GET /v1/stats</c>) when a
/// <see cref="RequestStats"/> service is registered.
/// </summary>
public static class ServingMetrics
{
    /// <summary>Item key under which an inference route records the version it served.</summary>
    internal const string ServedItem = "neuralcore.served";

    static readonly Counter InferenceRequests = Metrics.CreateCounter(
        "neuralcore_inference_requests_total", "Inference requests (infer and :predict) by model, served version and status code.",
        new CounterConfiguration { LabelNames = ["model", "version", "status"] });

    static readonly Histogram InferenceDuration = Metrics.CreateHistogram(
        "neuralcore_inference_duration_seconds", "Time to answer an inference request (parsing, model, response), by model.",
        new HistogramConfiguration { LabelNames = ["model"], Buckets = Histogram.ExponentialBuckets(0.0001, 2, 16) });

    static readonly Gauge LoadedVersions = Metrics.CreateGauge(
        "neuralcore_loaded_versions", "Model versions loaded and shared by requests (1 per loaded model and version).",
        new GaugeConfiguration { LabelNames = ["model", "version"] });

    static readonly Counter LoadFailures = Metrics.CreateCounter(
        "neuralcore_model_load_failures_total", "Model versions refused at load (verification or loading failed), by model.",
        new CounterConfiguration { LabelNames = ["model"] });

    internal static void Loaded(string model, int version) =>
        LoadedVersions.WithLabels(model, version.ToString(System.Globalization.CultureInfo.InvariantCulture)).Set(1);

    internal static void LoadFailed(string model) => LoadFailures.WithLabels(model).Inc();

    /// <summary>
    /// One served version's series of the inference metrics, looked up on first use rather than by
    /// label values on every request: the request count by status (200 kept at hand, others looked up) and the duration.
    /// </summary>
    internal sealed class ModelSeries
    {
        readonly string model, version;
        Counter.Child? ok;   // created on first use, so that no empty series shows up before a request
        Histogram.Child? duration;

        /// <summary>The series of version <paramref name="version"/> of <paramref name="model"/>.</summary>
        public ModelSeries(string model, int version) : this(model, version.ToString(System.Globalization.CultureInfo.InvariantCulture)) { }

        ModelSeries(string model, string version)
        {
            this.model = model;
            this.version = version;
        }

        /// <summary>The series of requests that named no version that could be resolved (empty model and version labels).</summary>
        public static readonly ModelSeries Unresolved = new("", "");

        /// <summary>Counts one answered request and its duration.</summary>
        public void Record(int statusCode, TimeSpan elapsed)
        {
            (statusCode == StatusCodes.Status200OK ? ok ??= InferenceRequests.WithLabels(model, version, "200")
                : InferenceRequests.WithLabels(model, version, statusCode.ToString(System.Globalization.CultureInfo.InvariantCulture))).Inc();
            (duration ??= InferenceDuration.WithLabels(model)).Observe(elapsed.TotalSeconds);
        }
    }

    /// <summary>Adds prometheus-net's HTTP metrics and the inference metrics (counted for the infer and :predict routes).</summary>
    public static WebApplication UseServingMetrics(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseHttpMetrics();
        var stats = app.Services.GetService(typeof(RequestStats)) as RequestStats;
        app.Use(async (context, next) =>
        {
            string path = context.Request.Path.Value ?? "";
            if (!HttpMethods.IsPost(context.Request.Method) || !(path.EndsWith("/infer", StringComparison.Ordinal) || path.EndsWith(":predict", StringComparison.Ordinal)))
            {
                await next(context);
                return;
            }
            long start = Stopwatch.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                // Labels only name versions that were resolved, so unknown names in URLs cannot grow the series.
                var series = context.Items.TryGetValue(ServedItem, out var served) && served is LoadedModel model ? model.Metrics : ModelSeries.Unresolved;
                var elapsed = Stopwatch.GetElapsedTime(start);
                series.Record(context.Response.StatusCode, elapsed);
                stats?.Record(elapsed, context.Response.StatusCode);
            }
        });
        return app;
    }
}
