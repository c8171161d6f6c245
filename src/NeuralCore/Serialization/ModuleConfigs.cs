using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using NeuralCore.Nn;

namespace NeuralCore.Serialization;

/// <summary>
/// The architecture registry: for each layer type, a name, a function describing an instance as a JSON
/// configuration, and a factory creating an instance from one. Reflection-free (trimming- and AOT-safe), and
/// loading creates only registered types: a file can never make the loader instantiate a type it names.
/// Built in: Sequential, Linear, Dense, Flatten, Dropout, the activation modules, and the convolution, pooling and
/// batch-norm layers, Conv1d, and the recurrent layers and cells (RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell). Register your own layers with <see cref="Register{T}"/>.
/// </summary>
/// <remarks>
/// A configuration is a JSON object with the type name under <c>"type"</c> and the layer's settings beside it, e.g.
/// <c>{"type": "Dense", "units": 64, "activation": "Relu", "useBias": true, "inFeatures": 784}</c>; a
/// <see cref="Sequential"/> lists its layers under <c>"layers"</c>. Parameters are not part of it: they travel in the
/// safetensors data.
/// </remarks>
public static partial class ModuleConfigs
{
    // Check, for the built-in layers, validates a configuration against the load limits without building anything
    // and returns the parameter and buffer elements the layer will hold; containers check their children in it.
    sealed record Entry(string TypeName, Type ClrType, Func<Module, JsonObject> Describe, Func<ModuleConfig, Module> Create, Func<ModuleConfig, long>? Check);

    static readonly object Gate = new();
    static readonly Dictionary<string, Entry> ByName = new(StringComparer.Ordinal);
    static readonly Dictionary<Type, Entry> ByType = [];

    static ModuleConfigs() => RegisterBuiltIns();

    /// <summary>
    /// Registers layer type <typeparamref name="T"/> under <paramref name="typeName"/>. <paramref name="describe"/>
    /// returns the layer's settings (the registry adds <c>"type"</c>); <paramref name="create"/> builds a layer from a
    /// stored configuration. Registering the same type under the same name again replaces the entry.
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty or "type" conflicts: the name is taken by another type, or the type has another name.</exception>
    public static void Register<T>(string typeName, Func<T, JsonObject> describe, Func<ModuleConfig, T> create) where T : Module
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        ArgumentNullException.ThrowIfNull(describe);
        ArgumentNullException.ThrowIfNull(create);
        Add(new Entry(typeName, typeof(T), m => describe((T)m), c => create(c), null));
    }

    // The built-in layers also register a check that runs on the whole architecture before anything is built.
    static void RegisterBuiltIn<T>(string typeName, Func<T, JsonObject> describe, Func<ModuleConfig, T> create, Func<ModuleConfig, long> check) where T : Module =>
        Add(new Entry(typeName, typeof(T), m => describe((T)m), c => create(c), check));

    static void Add(Entry entry)
    {
        lock (Gate)
        {
            if (ByName.TryGetValue(entry.TypeName, out var byName) && byName.ClrType != entry.ClrType)
                throw new ArgumentException($"ModuleConfigs: the type name '{entry.TypeName}' is already registered for {byName.ClrType.FullName}.", "typeName");
            if (ByType.TryGetValue(entry.ClrType, out var byType) && byType.TypeName != entry.TypeName)
                throw new ArgumentException($"ModuleConfigs: {entry.ClrType.FullName} is already registered as '{byType.TypeName}'.", "typeName");
            // Re-registering a built-in type replaces its check too: the new factory reserves its own parameters.
            ByName[entry.TypeName] = ByType[entry.ClrType] = entry;
        }
    }

    /// <summary>True when <paramref name="typeName"/> is registered.</summary>
    public static bool IsRegistered(string typeName)
    {
        lock (Gate) return ByName.ContainsKey(typeName);
    }

    /// <summary>
    /// The configuration of <paramref name="module"/> and, for containers, of everything inside it.
    /// </summary>
    /// <exception cref="InvalidOperationException">A module's type is not registered.</exception>
    public static JsonObject Describe(Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        Entry? entry;
        lock (Gate) ByType.TryGetValue(module.GetType(), out entry);
        if (entry is null)
            throw new InvalidOperationException($"ModuleConfigs: {module.GetType().FullName} has no architecture entry; register it with ModuleConfigs.Register to save its architecture.");
        var settings = entry.Describe(module);
        var config = new JsonObject { ["type"] = entry.TypeName };
        foreach (var (key, value) in settings)
        {
            if (key == "type") throw new InvalidOperationException($"ModuleConfigs: the description of '{entry.TypeName}' must not set \"type\".");
            config[key] = value?.DeepClone();
        }
        return config;
    }

    /// <summary>The configuration of <paramref name="module"/>, or null when some module in it is not registered.</summary>
    public static JsonObject? TryDescribe(Module module)
    {
        try
        {
            return Describe(module);
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// Creates the module a configuration describes, using only registered factories. The whole configuration is
    /// first checked against <paramref name="limits"/> (layer count, nesting, parameter count, each built-in layer's
    /// sizes) and only then built, so a configuration that is refused allocates no layer.
    /// </summary>
    /// <param name="architecture">A configuration from <see cref="Describe"/> (or a manifest).</param>
    /// <param name="maxParameterElements">
    /// Upper bound on the parameter and buffer elements the layers may declare (see
    /// <see cref="ModuleConfig.ReserveParameters"/>); loaders pass the number of elements the weight file holds.
    /// </param>
    /// <param name="limits">The bounds to enforce; <see cref="ModelLoadLimits.Default"/> when null.</param>
    /// <exception cref="ArgumentException">
    /// <paramref name="architecture"/> cannot be written as JSON: it nests deeper than
    /// <see cref="ModelLoadLimits.MaxJsonDepth"/> or holds a string that is not valid UTF-16.
    /// </exception>
    /// <exception cref="InvalidDataException">Unknown type, missing or mistyped settings, invalid values, or a value
    /// over a limit; the message names the layer (its place in the model and its type), the setting and the problem.</exception>
    public static Module Create(JsonObject architecture, long maxParameterElements = long.MaxValue, ModelLoadLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        limits ??= ModelLoadLimits.Default;
        using var document = Document(architecture, limits);
        var state = new BuildState(maxParameterElements, limits);
        Check(document.RootElement, state, 0, "");
        return Build(document.RootElement, state, 0, "", isChecked: true);
    }

    /// <summary>Checks a whole configuration against the limits as <see cref="Create(JsonObject, long, ModelLoadLimits?)"/> does, building nothing.</summary>
    internal static void Check(JsonObject architecture, long maxParameterElements, ModelLoadLimits limits)
    {
        using var document = Document(architecture, limits);
        Check(document.RootElement, new BuildState(maxParameterElements, limits), 0, "");
    }

    static JsonDocument Document(JsonObject architecture, ModelLoadLimits limits) =>
        ManifestJson.Parse(ManifestJson.ToUtf8(architecture, limits.MaxJsonDepth, "architecture"), limits, "Invalid architecture");

    /// <summary>
    /// Validates one layer configuration (and, for built-in containers, everything inside it) against the limits,
    /// counting its layers and declared parameters; builds nothing.
    /// </summary>
    internal static void Check(JsonElement json, BuildState state, int depth, string path)
    {
        var (entry, config) = Resolve(json, state, depth, path);
        state.CountLayer(config);
        if (entry.Check is null) return;
        long elements = Guarded(config, () => entry.Check(config));
        config.ReserveParameters(elements);
    }

    /// <summary>Builds one layer configuration, checking it first unless <paramref name="isChecked"/>.</summary>
    internal static Module Build(JsonElement json, BuildState state, int depth, string path, bool isChecked)
    {
        if (!isChecked) Check(json, state, depth, path);
        var (entry, config) = Resolve(json, state, depth, path);
        return Guarded(config, () => entry.Create(config) ?? throw config.Invalid("the registered factory returned null"));
    }

    static (Entry Entry, ModuleConfig Config) Resolve(JsonElement json, BuildState state, int depth, string path)
    {
        string where = path.Length == 0 ? "the root layer" : $"layer '{MessageText.Clip(path)}'";
        if (depth > state.Limits.MaxNestingDepth)
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"Invalid architecture: {where}: {ModelLoadLimits.Exceeded("its nesting depth", depth, nameof(ModelLoadLimits.MaxNestingDepth), state.Limits.MaxNestingDepth)}."));
        if (json.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"Invalid architecture: {where}: a layer configuration must be an object, found {json.ValueKind}.");
        if (!json.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"Invalid architecture: {where}: the layer configuration has no \"type\" string.");
        string typeName = typeElement.GetString()!;
        Entry? entry;
        lock (Gate) ByName.TryGetValue(typeName, out entry);
        if (entry is null)
            throw new InvalidDataException($"Invalid architecture: {where}: unknown layer type '{MessageText.Clip(typeName)}'; register it with ModuleConfigs.Register.");
        return (entry, new ModuleConfig(typeName, json, state, depth, path, childrenChecked: entry.Check is not null));
    }

    // Layer constructors and factories report bad settings with these exceptions; they become InvalidDataException
    // naming the layer. InvalidDataException (from nested layers or the typed getters) passes through unchanged.
    static T Guarded<T>(ModuleConfig config, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or OverflowException)
        {
            throw config.Invalid(MessageText.Clip(e.Message.TrimEnd('.'), 400));
        }
    }

    /// <summary>Counts the layers and the elements they declare, against the limits and the caller's bound.</summary>
    internal sealed class BuildState(long maxElements, ModelLoadLimits limits)
    {
        long used;
        int layers;

        public ModelLoadLimits Limits { get; } = limits;

        public void CountLayer(ModuleConfig config)
        {
            if (++layers > Limits.MaxLayers)
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"Invalid architecture: at {config.Where}: {ModelLoadLimits.Exceeded("the number of layers", layers, nameof(ModelLoadLimits.MaxLayers), Limits.MaxLayers)} (the count stops at the first layer over it)."));
        }

        public void Reserve(long elements, ModuleConfig config)
        {
            long total = used > long.MaxValue - elements ? long.MaxValue : used + elements;
            if (total > maxElements)
                throw config.Invalid(string.Create(CultureInfo.InvariantCulture,
                    $"it brings the parameter elements to {total}, more than the {maxElements} the weights hold"));
            if (total > Limits.MaxParameters)
                throw config.Invalid(ModelLoadLimits.Exceeded("the parameter element count it brings the model to", total, nameof(ModelLoadLimits.MaxParameters), Limits.MaxParameters));
            used = total;
        }
    }
}
