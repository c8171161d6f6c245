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

    internal ModuleConfig(string typeName, JsonElement json, ModuleConfigs.BuildState state, int depth)
    {
        TypeName = typeName;
        Json = json;
        this.state = state;
        this.depth = depth;
    }

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
        throw Invalid($"'{name}' is \"{text}\"; expected one of {string.Join(", ", Enum.GetNames<TEnum>())}");
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
        if (!TryGet(name, out var v)) throw Missing(name);
        if (v.ValueKind != JsonValueKind.Array) throw Wrong(name, "an array of layer configurations", v);
        var modules = new List<Module>(v.GetArrayLength());
        foreach (var item in v.EnumerateArray()) modules.Add(ModuleConfigs.Create(item, state, depth + 1));
        return modules;
    }

    /// <summary>A required nested layer configuration, built through the registry.</summary>
    public Module GetModule(string name) =>
        TryGet(name, out var v) ? ModuleConfigs.Create(v, state, depth + 1) : throw Missing(name);

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
        state.Reserve(elements, TypeName);
    }

    bool TryGet(string name, out JsonElement value) =>
        Json.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

    InvalidDataException Missing(string name) => Invalid($"the setting '{name}' is missing");

    InvalidDataException Wrong(string name, string expected, JsonElement found) =>
        Invalid($"'{name}' must be {expected}, found {Shorten(found.GetRawText())}");

    static string Shorten(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 37), "...");

    internal InvalidDataException Invalid(string problem) =>
        new(string.Create(CultureInfo.InvariantCulture, $"Invalid architecture: layer '{TypeName}': {problem}."));
}
