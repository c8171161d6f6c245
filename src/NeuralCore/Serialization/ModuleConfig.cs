using System.Globalization;
using System.Text.Json;
using NeuralCore.Nn;

namespace NeuralCore.Serialization;

/// <summary>
/// The stored configuration of one layer, handed to the factory registered with <see cref="ModuleConfigs.Register"/>.
/// Typed getters turn missing or mistyped values into an <see cref="InvalidDataException"/> that names the layer
/// and the setting, so factories need no validation code of their own.
/// </summary>
public sealed class ModuleConfig
{
    readonly ModuleConfigs.BuildState state;
    readonly int depth;
    readonly bool childrenChecked;

    internal ModuleConfig(string typeName, JsonElement json, ModuleConfigs.BuildState state, int depth, string path, bool childrenChecked)
    {
        TypeName = typeName;
        Json = json;
        this.state = state;
        this.depth = depth;
        Path = path;
        this.childrenChecked = childrenChecked;
    }

    /// <summary>
    /// Where the layer sits in the model, as its state-dict prefix ("3", "features.0"); empty for the root.
    /// </summary>
    public string Path { get; }

    /// <summary>The limits the architecture is loaded under; factories of custom layers may check their settings against them.</summary>
    public ModelLoadLimits Limits => state.Limits;

    /// <summary>The registered type name (the <c>"type"</c> property).</summary>
    public string TypeName { get; }

    /// <summary>The raw configuration object, including <c>"type"</c>.</summary>
    public JsonElement Json { get; }

    /// <summary>True when the setting exists and is not null.</summary>
    public bool Has(string name) => Json.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    /// <summary>A required 32-bit integer setting.</summary>
    public int GetInt32(string name) => GetOptionalInt32(name) ?? throw Missing(name);

    /// <summary>A 32-bit integer setting, or <paramref name="defaultValue"/> when absent.</summary>
    public int GetInt32(string name, int defaultValue) => GetOptionalInt32(name) ?? defaultValue;

    /// <summary>A 32-bit integer setting, or null when absent or null.</summary>
    public int? GetOptionalInt32(string name)
    {
        if (!TryGet(name, out var v)) return null;
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw Wrong(name, "a 32-bit integer", v);
    }

    /// <summary>A required floating-point setting.</summary>
    public double GetDouble(string name) => GetDouble(name, null) ?? throw Missing(name);

    /// <summary>A floating-point setting, or <paramref name="defaultValue"/> when absent.</summary>
    public double? GetDouble(string name, double? defaultValue)
    {
        if (!TryGet(name, out var v)) return defaultValue;
        return v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && double.IsFinite(d) ? d : throw Wrong(name, "a finite number", v);
    }

    /// <summary>A Boolean setting, or <paramref name="defaultValue"/> when absent.</summary>
    public bool GetBoolean(string name, bool defaultValue)
    {
        if (!TryGet(name, out var v)) return defaultValue;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Wrong(name, "true or false", v),
        };
    }

    /// <summary>A required string setting.</summary>
    public string GetString(string name)
    {
        if (!TryGet(name, out var v)) throw Missing(name);
        return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Wrong(name, "a string", v);
    }

    /// <summary>An enum setting stored by member name (e.g. <c>"Relu"</c>), or <paramref name="defaultValue"/> when absent.</summary>
    public TEnum GetEnum<TEnum>(string name, TEnum defaultValue) where TEnum : struct, Enum
    {
        if (!TryGet(name, out _)) return defaultValue;
        string text = GetString(name);
        foreach (var member in Enum.GetValues<TEnum>())
            if (string.Equals(member.ToString(), text, StringComparison.OrdinalIgnoreCase)) return member;
        throw Invalid($"'{name}' is \"{MessageText.Clip(text)}\"; expected one of {string.Join(", ", Enum.GetNames<TEnum>())}");
    }

    /// <summary>
    /// A (height, width) setting stored as <c>[h, w]</c> (or one integer for both), or <paramref name="defaultValue"/>
    /// when absent.
    /// </summary>
    public (int H, int W) GetPair(string name, (int H, int W)? defaultValue = null)
    {
        if (!TryGet(name, out var v)) return defaultValue ?? throw Missing(name);
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int both)) return (both, both);
        var values = GetInt32Array(name);
        return values.Length == 2 ? (values[0], values[1]) : throw Wrong(name, "[height, width]", v);
    }

    /// <summary>
    /// The kernel, bias and activity regularizers stored as <c>"kernelRegularizer": {"l1": a, "l2": b}</c> (and
    /// <c>"biasRegularizer"</c>, <c>"activityRegularizer"</c>); null for each one absent.
    /// </summary>
    internal (Regularizer? Kernel, Regularizer? Bias, Regularizer? Activity) Regularizers() =>
        (Regularizer("kernelRegularizer"), Regularizer("biasRegularizer"), Regularizer("activityRegularizer"));

    Regularizer? Regularizer(string name)
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Object) throw Wrong(name, "an object {\"l1\": number, \"l2\": number}", v);
        double Factor(string key)
        {
            if (!v.TryGetProperty(key, out var f) || f.ValueKind == JsonValueKind.Null) return 0;
            return f.ValueKind == JsonValueKind.Number && f.TryGetDouble(out double d) && double.IsFinite(d) && d >= 0
                ? d : throw Wrong($"{name}.{key}", "a finite non-negative number", f);
        }
        return Nn.Regularizers.L1L2(Factor("l1"), Factor("l2"));
    }

    /// <summary>A required array of 32-bit integers.</summary>
    public int[] GetInt32Array(string name)
    {
        if (!TryGet(name, out var v)) throw Missing(name);
        if (v.ValueKind != JsonValueKind.Array) throw Wrong(name, "an array of 32-bit integers", v);
        var values = new int[v.GetArrayLength()];
        int i = 0;
        foreach (var item in v.EnumerateArray())
            values[i++] = item.ValueKind == JsonValueKind.Number && item.TryGetInt32(out int x) ? x : throw Wrong(name, "an array of 32-bit integers", v);
        return values;
    }

    /// <summary>A required list of nested layer configurations, each built through the registry.</summary>
    public IReadOnlyList<Module> GetModules(string name)
    {
        var items = ModuleArray(name);
        var modules = new List<Module>(items.Count);
        for (int i = 0; i < items.Count; i++)
            modules.Add(ModuleConfigs.Build(items[i], state, depth + 1, ChildPath(i), childrenChecked));
        return modules;
    }

    /// <summary>A required nested layer configuration, built through the registry.</summary>
    public Module GetModule(string name) =>
        TryGet(name, out var v) ? ModuleConfigs.Build(v, state, depth + 1, ChildPath(name), childrenChecked) : throw Missing(name);

    /// <summary>Checks the nested layer configurations under <paramref name="name"/> against the limits, building nothing.</summary>
    internal void CheckModules(string name)
    {
        var items = ModuleArray(name);
        for (int i = 0; i < items.Count; i++) ModuleConfigs.Check(items[i], state, depth + 1, ChildPath(i));
    }

    List<JsonElement> ModuleArray(string name)
    {
        if (!TryGet(name, out var v)) throw Missing(name);
        if (v.ValueKind != JsonValueKind.Array) throw Wrong(name, "an array of layer configurations", v);
        return [.. v.EnumerateArray()];
    }

    string ChildPath(int index) => ChildPath(index.ToString(CultureInfo.InvariantCulture));

    string ChildPath(string name) => Path.Length == 0 ? name : Path + "." + name;

    /// <summary>
    /// Refuses a setting over a limit of <see cref="Limits"/>: the message names the layer, the setting, the value,
    /// the limit and how to raise it.
    /// </summary>
    internal void CheckLimit(string setting, long value, long limit, string limitName)
    {
        if (value > limit) throw Invalid(ModelLoadLimits.Exceeded($"'{setting}'", value, limitName, limit));
    }

    /// <summary>Checks both parts of a (height, width) setting against the limit.</summary>
    internal void CheckLimit(string setting, (int H, int W) value, long limit, string limitName)
    {
        CheckLimit(setting, Math.Max(value.H, value.W), limit, limitName);
    }

    /// <summary>
    /// Declares that the layer about to be built holds <paramref name="elements"/> parameter and buffer elements.
    /// When loading from a model file this is checked, before anything is allocated, against the elements the file
    /// holds, so a tampered configuration cannot make the loader allocate without bound. Call it before constructing
    /// layers with parameters.
    /// </summary>
    /// <exception cref="InvalidDataException">The architecture needs more elements than the file holds.</exception>
    public void ReserveParameters(long elements)
    {
        if (elements < 0) throw Invalid($"the layer would hold a negative number of parameters ({elements})");
        state.Reserve(elements, this);
    }

    bool TryGet(string name, out JsonElement value) =>
        Json.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

    InvalidDataException Missing(string name) => Invalid($"the setting '{name}' is missing");

    InvalidDataException Wrong(string name, string expected, JsonElement found) =>
        Invalid($"'{name}' must be {expected}, found {Describe(found)}");

    // A value from the file for a message: short values as written, long ones by kind and size.
    static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Array => value.GetArrayLength() <= 8 ? MessageText.Clip(value.GetRawText(), 80) : $"an array of {value.GetArrayLength()} items",
        JsonValueKind.Object => "an object",
        _ => MessageText.Clip(value.GetRawText(), 80),
    };

    /// <summary>How messages name this layer: its place in the model and its type.</summary>
    internal string Where => $"layer '{(Path.Length == 0 ? "<root>" : MessageText.Clip(Path))}' ({MessageText.Clip(TypeName)})";

    internal InvalidDataException Invalid(string problem) =>
        new(string.Create(CultureInfo.InvariantCulture, $"Invalid architecture: {Where}: {problem}."));
}
