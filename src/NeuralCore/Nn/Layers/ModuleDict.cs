using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace NeuralCore.Nn;

/// <summary>
/// Holds child modules by name, in insertion order, registered under those names so their parameters appear in
/// <see cref="Module.Parameters"/> and the state dict (keys <c>name.weight</c>, as PyTorch's <c>nn.ModuleDict</c>).
/// Names follow the rules of <see cref="Module"/> child names (non-empty, no dot, unique). It is a container,
/// not a layer, so <see cref="Forward"/> throws.
/// </summary>
public sealed class ModuleDict : Module, IReadOnlyDictionary<string, Module>
{
    readonly List<KeyValuePair<string, Module>> items = [];
    readonly Dictionary<string, Module> map = new(StringComparer.Ordinal);

    /// <summary>Creates the dictionary with the given named modules, in order.</summary>
    /// <exception cref="ArgumentException">A name is empty, contains a dot, or repeats.</exception>
    public ModuleDict(params IEnumerable<(string Name, Module Module)> modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var (name, module) in modules) Add(name, module);
    }

    /// <summary>Adds a module under <paramref name="name"/> and returns this dictionary.</summary>
    /// <exception cref="ArgumentException">The name is empty, contains a dot, or is taken.</exception>
    public ModuleDict Add(string name, Module module)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(module);
        RegisterModule(name, module);
        items.Add(new(name, module));
        map.Add(name, module);
        return this;
    }

    /// <summary>The module named <paramref name="key"/>.</summary>
    /// <exception cref="KeyNotFoundException">No module has that name.</exception>
    public Module this[string key] => map.TryGetValue(key, out var m) ? m
        : throw new KeyNotFoundException($"ModuleDict: no module named '{key}' (names: {string.Join(", ", map.Keys)}).");

    /// <summary>The names, in insertion order.</summary>
    public IEnumerable<string> Keys => items.Select(i => i.Key);

    /// <summary>The modules, in insertion order.</summary>
    public IEnumerable<Module> Values => items.Select(i => i.Value);

    /// <summary>Number of modules.</summary>
    public int Count => items.Count;

    /// <summary>True when a module is named <paramref name="key"/>.</summary>
    public bool ContainsKey(string key) => map.ContainsKey(key);

    /// <summary>Looks a module up by name.</summary>
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out Module value) => map.TryGetValue(key, out value);

    /// <summary>Not supported: a ModuleDict only holds modules; look them up to call them.</summary>
    /// <exception cref="InvalidOperationException">Always.</exception>
    public override Tensor Forward(Tensor x) =>
        throw new InvalidOperationException("ModuleDict: a ModuleDict has no Forward; call its modules from the owning module's Forward.");

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, Module>> GetEnumerator() => items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
