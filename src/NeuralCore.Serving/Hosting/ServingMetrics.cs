using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Prometheus;

namespace NeuralCore.Serving.Hosting;

/// <summary>The mean cost per inference request a host served for one model.</summary>
/// <param name="Requests">Requests measured.</param>
/// <param name="FlopsPerRequest">Mean FLOPs per request.</param>
/// <param name="JoulesPerRequest">Mean energy per request in joules.</param>
/// <param name="Co2eGramsPerRequest">Mean grams of CO2e per request.</param>
/// <param name="Method">How the energy was obtained, as <see cref="Profiling.EnergyReport.Method"/> states it (the latest request's).</param>
public sealed record ServedCost(long Requests, double FlopsPerRequest, double JoulesPerRequest, double Co2eGramsPerRequest, string Method);

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

    static readonly Histogram RequestFlops = Metrics.CreateHistogram(
        "neuralcore_inference_request_flops", "FLOPs of each served inference request (its rows' share of the forward pass), by model.",
        new HistogramConfiguration { LabelNames = ["model"], Buckets = Histogram.ExponentialBuckets(1e3, 10, 13) });

    static readonly Histogram RequestEnergy = Metrics.CreateHistogram(
        "neuralcore_inference_request_energy_joules",
        "Energy of each served inference request in joules (its rows' share of the forward pass), by model and method (Measured-RAPL, Estimated-TDP, +Measured-NVML).",
        new HistogramConfiguration { LabelNames = ["model", "method"], Buckets = Histogram.ExponentialBuckets(1e-6, 10, 10) });

    static readonly Counter RequestCo2e = Metrics.CreateCounter(
        "neuralcore_inference_co2e_grams_total", "Grams of CO2e of served inference requests at the configured carbon intensity, by model.",
        new CounterConfiguration { LabelNames = ["model"] });

    sealed class CostTotals
    {
        public long Requests;
        public double Flops, Joules, Co2eGrams;
        public string Method = "";
    }

    static readonly System.Collections.Concurrent.ConcurrentDictionary<string, CostTotals> Costs = new(StringComparer.Ordinal);

    /// <summary>
    /// The mean cost of the inference requests this process served for <paramref name="model"/> (all versions), or null
    /// when it served none with cost measurement on.
    /// </summary>
    public static ServedCost? GetServedCost(string model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!Costs.TryGetValue(model, out var t)) return null;
        lock (t)
            return t.Requests == 0 ? null
                : new ServedCost(t.Requests, t.Flops / t.Requests, t.Joules / t.Requests, t.Co2eGrams / t.Requests, t.Method);
    }

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

        Histogram.Child? flops;   // cost series, created on first use like the others
        Counter.Child? co2e;
        EnergySeries? energy;
        CostTotals? totals;

        /// <summary>The energy series of one method (one reference, so the pair is replaced atomically).</summary>
        sealed record EnergySeries(string Method, Histogram.Child Series);

        /// <summary>
        /// Records one forward pass's cost, split over the requests it answered in proportion to their rows
        /// (<paramref name="requestRows"/>, one entry per request).
        /// </summary>
        public void RecordCost(long passFlops, Profiling.EnergyReport report, ReadOnlySpan<long> requestRows)
        {
            if (requestRows.Length == 0) return;
            long rows = 0;
            foreach (var r in requestRows) rows += r;
            var method = report.Method;
            var flopsHistogram = flops ??= RequestFlops.WithLabels(model);
            // The method is fixed per process in practice; the series is looked up again only if it changes.
            if (energy is not { } cached || cached.Method != method) energy = cached = new(method, RequestEnergy.WithLabels(model, method));
            var energyHistogram = cached.Series;
            foreach (var r in requestRows)
            {
                double share = rows == 0 ? 1.0 / requestRows.Length : (double)r / rows;
                flopsHistogram.Observe(passFlops * share);
                energyHistogram.Observe(report.Joules * share);
            }
            (co2e ??= RequestCo2e.WithLabels(model)).Inc(report.Co2eGrams);
            var sums = totals ??= Costs.GetOrAdd(model, static _ => new CostTotals());
            lock (sums)
            {
                sums.Requests += requestRows.Length;
                sums.Flops += passFlops;
                sums.Joules += report.Joules;
                sums.Co2eGrams += report.Co2eGrams;
                sums.Method = method;
            }
        }

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
