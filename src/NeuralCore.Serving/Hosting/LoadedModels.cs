using System.Collections.Concurrent;
using NeuralCore.Nn;
using NeuralCore.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NeuralCore.Serving.Registry;

namespace NeuralCore.Serving.Hosting;

/// <summary>A registry version loaded for serving: the model (evaluation mode, warmed up) and its record.</summary>
public sealed class LoadedModel
{
    internal LoadedModel(ModelVersionInfo info, Sequential model)
    {
        Info = info;
        Model = model;
    }

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
}

/// <summary>
/// The versions a host has loaded: each (model, version, file hash) is loaded once, on first use, verified by the
/// registry, warmed up with one forward pass, and then shared by all requests. A load that fails is not kept, so the
/// next request tries again (and is refused again if the file is still bad).
/// </summary>
public sealed class LoadedModels(ModelRegistry registry, ModelLoadLimits? limits = null)
{
    readonly ConcurrentDictionary<(string Name, int Version, string Sha256), Lazy<LoadedModel>> loaded = new();

    /// <summary>The registry the models come from.</summary>
    public ModelRegistry Registry { get; } = registry ?? throw new ArgumentNullException(nameof(registry));

    /// <summary>Where loads and refused loads are logged; nothing by default (the host sets its logger).</summary>
    public ILogger Logger { get; set; } = NullLogger.Instance;

    /// <summary>How many versions are loaded.</summary>
    public int Count => loaded.Count(e => e.Value.IsValueCreated);

    /// <summary>Resolves <paramref name="reference"/> (number, alias or <c>latest</c>) now and returns that version, loading it on first use.</summary>
    /// <exception cref="ModelNotFoundException">No such model, version or alias.</exception>
    /// <exception cref="InvalidDataException">The version's file fails verification or does not load.</exception>
    public LoadedModel Get(string name, string reference) => Get(Registry.Resolve(name, reference));

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

    LoadedModel Load(ModelVersionInfo version)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        var model = new LoadedModel(version, Registry.Load(version, limits));
        var input = version.Signature.Inputs[0].Shape;
        if (input.Count > 0)
            model.Predict(Tensor.Zeros([.. input.Select((d, i) => i == 0 ? 1 : d)]));   // warm-up: first-call costs are paid here
        ServingMetrics.Loaded(version.Name, version.Version);
        Logger.LogInformation("Loaded model {Model} version {Version} (sha256 {Sha256}) in {Milliseconds:F1} ms",
            version.Name, version.Version, version.Sha256, System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        return model;
    }
}
