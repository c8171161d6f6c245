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
/// batch-norm layers. Register your own layers with <see cref="Register{T}"/>.
/// </summary>
/// <remarks>
/// A configuration is a JSON object with the type name under <c>"type"</c> and the layer's settings beside it, e.g.
/// <c>{"type": "Dense", "units": 64, "activation": "Relu", "useBias": true, "inFeatures": 784}</c>; a
/// <see cref="Sequential"/> lists its layers under <c>"layers"</c>. Parameters are not part of it: they travel in the
/// safetensors data.
/// </remarks>
public static partial class ModuleConfigs
{
    sealed record Entry(string TypeName, Type ClrType, Func<Module, JsonObject> Describe, Func<ModuleConfig, Module> Create);

    /// <summary>Deepest nesting of layer configurations accepted (a guard against hostile files).</summary>
    public const int MaxDepth = 64;

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
        var entry = new Entry(typeName, typeof(T), m => describe((T)m), c => create(c));
        lock (Gate)
        {
            if (ByName.TryGetValue(typeName, out var byName) && byName.ClrType != typeof(T))
                throw new ArgumentException($"ModuleConfigs: the type name '{typeName}' is already registered for {byName.ClrType.FullName}.", nameof(typeName));
            if (ByType.TryGetValue(typeof(T), out var byType) && byType.TypeName != typeName)
                throw new ArgumentException($"ModuleConfigs: {typeof(T).FullName} is already registered as '{byType.TypeName}'.", nameof(typeName));
            ByName[typeName] = entry;
            ByType[typeof(T)] = entry;
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
    /// Creates the module a configuration describes, using only registered factories.
    /// </summary>
    /// <param name="architecture">A configuration from <see cref="Describe"/> (or a manifest).</param>
    /// <param name="maxParameterElements">
    /// Upper bound on the parameter and buffer elements the built layers may declare (see
    /// <see cref="ModuleConfig.ReserveParameters"/>); loaders pass the number of elements the weight file holds.
    /// </param>
    /// <exception cref="InvalidDataException">Unknown type, missing or mistyped settings, invalid values, nesting
    /// deeper than <see cref="MaxDepth"/>, or more parameters than allowed; the message names the layer and problem.</exception>
    public static Module Create(JsonObject architecture, long maxParameterElements = long.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(architecture.ToJsonString(), new JsonDocumentOptions { MaxDepth = 4 * MaxDepth + 8, AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Invalid architecture: {e.Message}", e);
        }
        using (document) return Create(document.RootElement, new BuildState(maxParameterElements), 0);
    }

    internal static Module Create(JsonElement json, BuildState state, int depth)
    {
        if (depth > MaxDepth) throw new InvalidDataException($"Invalid architecture: layers are nested deeper than {MaxDepth} levels.");
        if (json.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"Invalid architecture: a layer configuration must be an object, found {json.ValueKind}.");
        if (!json.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String)
            throw new InvalidDataException("Invalid architecture: a layer configuration has no \"type\" string.");
        string typeName = typeElement.GetString()!;
        Entry? entry;
        lock (Gate) ByName.TryGetValue(typeName, out entry);
        if (entry is null)
            throw new InvalidDataException($"Invalid architecture: unknown layer type '{Shorten(typeName)}'; register it with ModuleConfigs.Register.");
        var config = new ModuleConfig(typeName, json, state, depth);
        try
        {
            return entry.Create(config) ?? throw config.Invalid("the registered factory returned null");
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or OverflowException)
        {
            throw config.Invalid(e.Message.TrimEnd('.'));
        }
    }

    static string Shorten(string text) => text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 77), "...");

    /// <summary>Tracks the elements the layers built so far declared, against the caller's bound.</summary>
    internal sealed class BuildState(long maxElements)
    {
        long used;

        public void Reserve(long elements, string typeName)
        {
            long total = used > long.MaxValue - elements ? long.MaxValue : used + elements;
            if (total > maxElements)
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"Invalid architecture: layer '{typeName}' brings the parameter elements to {total}, more than the {maxElements} the weights hold."));
            used = total;
        }
    }
}
