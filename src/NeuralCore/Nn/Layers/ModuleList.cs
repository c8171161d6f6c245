using System.Collections;
using System.Globalization;

namespace NeuralCore.Nn;

/// <summary>
/// Holds child modules in a list, registered under "0", "1", ... so their parameters appear in
/// <see cref="Module.Parameters"/> and the state dict (keys <c>0.weight</c>, as PyTorch's <c>nn.ModuleList</c>).
/// It is a container, not a layer: its owner decides how the modules are called, so <see cref="Forward"/> throws.
/// </summary>
public sealed class ModuleList : Module, IReadOnlyList<Module>
{
    readonly List<Module> modules = [];

    /// <summary>Creates the list with the given modules.</summary>
    public ModuleList(params IEnumerable<Module> modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var m in modules) Add(m);
    }

    /// <summary>Appends a module (registered under the next index) and returns this list.</summary>
    public ModuleList Add(Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        RegisterModule(modules.Count.ToString(CultureInfo.InvariantCulture), module);
        modules.Add(module);
        return this;
    }

    /// <summary>Appends every module of <paramref name="more"/> and returns this list.</summary>
    public ModuleList AddRange(IEnumerable<Module> more)
    {
        ArgumentNullException.ThrowIfNull(more);
        foreach (var m in more) Add(m);
        return this;
    }

    /// <summary>Number of modules.</summary>
    public int Count => modules.Count;

    /// <summary>The module at <paramref name="index"/>; negative counts from the end, as in Python.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is out of range.</exception>
    public Module this[int index]
    {
        get
        {
            int i = index < 0 ? index + modules.Count : index;
            if (i < 0 || i >= modules.Count)
                throw new ArgumentOutOfRangeException(nameof(index), $"ModuleList: index {index} is out of range for {modules.Count} module(s).");
            return modules[i];
        }
    }

    /// <summary>Not supported: a ModuleList only holds modules; iterate it to call them.</summary>
    /// <exception cref="InvalidOperationException">Always.</exception>
    public override Tensor Forward(Tensor x) =>
        throw new InvalidOperationException("ModuleList: a ModuleList has no Forward; call its modules from the owning module's Forward (or use Sequential).");

    /// <inheritdoc />
    public IEnumerator<Module> GetEnumerator() => modules.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
