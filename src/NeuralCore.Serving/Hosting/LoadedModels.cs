using System.Collections.Concurrent;
using NeuralCore.Nn;
using NeuralCore.Profiling;
using NeuralCore.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NeuralCore.Serving.Registry;

namespace NeuralCore.Serving.Hosting;

/// <summary>A registry version loaded for serving: the model (evaluation mode, warmed up) and its record.</summary>
public sealed class LoadedModel : IDisposable
{
    readonly MicroBatcher? batcher;
    readonly SemaphoreSlim? concurrency;
    readonly TimeSpan? timeout;
    readonly bool measureCost;
    readonly EnergyOptions? energy;

    internal LoadedModel(ModelVersionInfo info, Sequential model, ServingOptions? options = null)
    {
        Info = info;
        Model = model;
        Metrics = new ServingMetrics.ModelSeries(info.Name, info.Version);
        timeout = options?.RequestTimeout;
        measureCost = options?.MeasureCost ?? true;
        // Resolved once per loaded version, so requests do not re-read the environment.
        energy = measureCost ? options?.Energy ?? EnergyOptions.Default : null;
        energy?.Validate();
        if (options?.MaxConcurrencyPerModel is int limit)
            concurrency = limit >= 1 ? new SemaphoreSlim(limit, limit)
                : throw new ArgumentException($"MaxConcurrencyPerModel must be at least 1, not {limit}.", nameof(options));
        if (options?.Batching is { } batching) batcher = new MicroBatcher(this, batching);
    }

    /// <summary>This version's inference metric series, looked up once.</summary>
    internal ServingMetrics.ModelSeries Metrics { get; }

    /// <summary>The version's registry record.</summary>
    public ModelVersionInfo Info { get; }

    /// <summary>The model, shared by every request; only <see cref="Predict"/> touches it.</summary>
    internal Sequential Model { get; }

    /// <summary>
    /// Runs the model on <paramref name="input"/> under <see cref="Tensor.NoGrad"/> and returns the output's shape and
    /// values. Safe to call from many threads at once: the model is in evaluation mode and not changed by a forward pass.
    /// </summary>
    public (long[] Shape, float[] Values) Predict(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var noGrad = Tensor.NoGrad();
        using var scope = Tensor.Scope();
        var output = Model.Forward(input);
        return (output.Shape.ToArray(), output.DType == DType.Float32 ? output.ToArray<float>() : output.To(DType.Float32).ToArray<float>());
    }

    /// <summary>
    /// <see cref="Predict"/> for served requests: with cost measurement on, counts the pass's FLOPs and energy and records
    /// each request's share (by its rows; <paramref name="requestRows"/> lists them, one entry per request) in
    /// <see cref="ServingMetrics"/>.
    /// </summary>
    internal (long[] Shape, float[] Values) PredictServed(Tensor input, ReadOnlySpan<long> requestRows)
    {
        if (!measureCost) return Predict(input);
        using var flops = FlopCounter.Start();
        var meter = EnergyMeter.Start(energy);
        var result = Predict(input);
        flops.Dispose();
        Metrics.RecordCost(flops.Total, meter.Stop(), requestRows);
        return result;
    }

    /// <summary>
    /// Runs the model on <paramref name="input"/> as the host does: through the micro-batcher when batching is on,
    /// else directly, at most <see cref="ServingOptions.MaxConcurrencyPerModel"/> forward passes at once; waits at
    /// most <see cref="ServingOptions.RequestTimeout"/>.
    /// </summary>
    /// <exception cref="TimeoutException">The answer did not come within the request timeout.</exception>
    public async Task<(long[] Shape, float[] Values)> PredictAsync(Tensor input, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (batcher is not null)
        {
            var answer = batcher.Enqueue(input);
            if (answer.IsCompleted) return await answer.ConfigureAwait(false);   // run at once: nothing to wait for
            try
            {
                return await answer.WaitAsync(timeout ?? Timeout.InfiniteTimeSpan, cancellation).ConfigureAwait(false);
            }
            catch (TimeoutException) when (!answer.IsCompleted)
            {
                throw TimedOut();
            }
        }
        if (concurrency is null) return PredictServed(input, [input.Shape[0]]);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        if (timeout is { } t) limit.CancelAfter(t);
        try
        {
            await concurrency.WaitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            throw TimedOut();
        }
        try
        {
            return PredictServed(input, [input.Shape[0]]);
        }
        finally
        {
            concurrency.Release();
        }
    }

    TimeoutException TimedOut() =>
        new($"Model '{Info.Name}' version {Info.Version} did not answer within the request timeout of {timeout?.TotalSeconds:0.###} s.");

    /// <summary>Forward passes the micro-batcher has run; null without batching.</summary>
    internal long? BatchedForwardPasses => batcher?.ForwardPasses;

    /// <summary>Stops the micro-batcher (queued requests fail).</summary>
    public void Dispose()
    {
        batcher?.Dispose();
        concurrency?.Dispose();
    }
}

/// <summary>
/// The versions a host has loaded: each (model, version, file hash) is loaded once, on first use, verified by the
/// registry, warmed up with one forward pass, and then shared by all requests. A load that fails is not kept, so the
/// next request tries again (and is refused again if the file is still bad).
/// </summary>
/// <param name="registry">Where the models come from.</param>
/// <param name="limits">Load limits for the model files.</param>
/// <param name="options">Batching, concurrency limit and request timeout for every loaded version.</param>
public sealed class LoadedModels(ModelRegistry registry, ModelLoadLimits? limits = null, ServingOptions? options = null) : IDisposable
{
    readonly ConcurrentDictionary<(string Name, int Version, string Sha256), Lazy<LoadedModel>> loaded = new();

    /// <summary>The registry the models come from.</summary>
    public ModelRegistry Registry { get; } = registry ?? throw new ArgumentNullException(nameof(registry));

    /// <summary>Where loads and refused loads are logged; nothing by default (the host sets its logger).</summary>
    public ILogger Logger { get; set; } = NullLogger.Instance;

    /// <summary>How many versions are loaded.</summary>
    public int Count => loaded.Count(e => e.Value.IsValueCreated);

    /// <summary>
    /// Resolves <paramref name="reference"/> (number, alias or <c>latest</c>) and returns that version, loading it on
    /// first use. Resolutions are cached per (model, reference) and reused until the registry reports a change
    /// (<see cref="RegistryChanges"/>: a write through this process, or a PostgreSQL notification of another host's
    /// write); while no notifications arrive (SQLite, or the PostgreSQL listener reconnecting) a cached resolution is
    /// reused for at most <see cref="ServingOptions.RegistryRefreshInterval"/>, and while they do for at most
    /// <see cref="ListeningMaxAge"/>.
    /// </summary>
    /// <exception cref="ModelNotFoundException">No such model, version or alias.</exception>
    /// <exception cref="InvalidDataException">The version's file fails verification or does not load.</exception>
    public LoadedModel Get(string name, string reference) => Get(Resolve(name, reference));

    /// <summary>
    /// The longest a cached resolution is reused while change notifications arrive: a backstop for a listening
    /// connection that died without an error.
    /// </summary>
    public static readonly TimeSpan ListeningMaxAge = TimeSpan.FromSeconds(60);

    /// <summary>Most cached resolutions; the cache is emptied when a new one would exceed it.</summary>
    internal const int MaxCachedResolutions = 4096;

    readonly ConcurrentDictionary<(string Name, string Reference), (ModelVersionInfo Info, long Generation, long Timestamp)> resolved = new();
    readonly TimeSpan refreshInterval = options?.RegistryRefreshInterval ?? ServingOptions.DefaultRegistryRefreshInterval;

    /// <summary>Resolutions answered from the database rather than the cache (for tests and diagnostics).</summary>
    internal long ResolveMisses => Interlocked.Read(ref resolveMisses);
    long resolveMisses;

    /// <summary>Resolves <paramref name="reference"/> through the cache described at <see cref="Get(string, string)"/>.</summary>
    /// <exception cref="ModelNotFoundException">No such model, version or alias.</exception>
    public ModelVersionInfo Resolve(string name, string reference)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(reference);
        var changes = Registry.Changes;
        changes.EnsureListening();
        long generation = changes.Generation;   // read before the database: a change during the read leaves the entry stale
        var key = (name, reference);
        if (resolved.TryGetValue(key, out var entry) && entry.Generation == generation
            && System.Diagnostics.Stopwatch.GetElapsedTime(entry.Timestamp) < (changes.Listening ? ListeningMaxAge : refreshInterval))
            return entry.Info;
        Interlocked.Increment(ref resolveMisses);
        var info = Registry.Resolve(name, reference);   // not found: thrown, nothing cached
        if (resolved.Count >= MaxCachedResolutions) resolved.Clear();
        resolved[key] = (info, generation, System.Diagnostics.Stopwatch.GetTimestamp());
        return info;
    }

    /// <summary>Returns <paramref name="version"/>, loading it on first use.</summary>
    /// <exception cref="InvalidDataException">The version's file fails verification or does not load.</exception>
    public LoadedModel Get(ModelVersionInfo version)
    {
        ArgumentNullException.ThrowIfNull(version);
        var key = (version.Name, version.Version, version.Sha256);
        var lazy = loaded.GetOrAdd(key, _ => new Lazy<LoadedModel>(() => Load(version), LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return lazy.Value;
        }
        catch (Exception e)
        {
            if (loaded.TryRemove(new KeyValuePair<(string, int, string), Lazy<LoadedModel>>(key, lazy)))
            {
                ServingMetrics.LoadFailed(version.Name);
                Logger.LogWarning("Refused model {Model} version {Version} (sha256 {Sha256}): {Reason}", version.Name, version.Version, version.Sha256, e.Message);
            }
            throw;
        }
    }

    /// <summary>A second, private instance of <paramref name="version"/>'s model, loaded and verified as the served one is (for explains).</summary>
    internal Sequential LoadExplainCopy(ModelVersionInfo version) => Registry.Load(version, limits);

    /// <summary>Stops every loaded version's micro-batcher.</summary>
    public void Dispose()
    {
        foreach (var entry in loaded.Values)
            if (entry.IsValueCreated) entry.Value.Dispose();
    }

    LoadedModel Load(ModelVersionInfo version)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        var model = new LoadedModel(version, Registry.Load(version, limits), options);
        var input = version.Signature.Inputs[0].Shape;
        if (input.Count > 0)
            model.Predict(Tensor.Zeros([.. input.Select((d, i) => i == 0 ? 1 : d)]));   // warm-up: first-call costs are paid here
        ServingMetrics.Loaded(version.Name, version.Version);
        Logger.LogInformation("Loaded model {Model} version {Version} (sha256 {Sha256}) in {Milliseconds:F1} ms",
            version.Name, version.Version, version.Sha256, System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        return model;
    }
}
