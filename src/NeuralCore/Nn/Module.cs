using System.Text;

namespace NeuralCore.Nn;

/// <summary>
/// Base class of every layer and model: named parameters, buffers and child modules, registered explicitly
/// (no reflection, so it is trimming- and AOT-safe). State-dict keys are dotted paths as in PyTorch
/// (<c>conv1.weight</c>, <c>0.bias</c>), so weights can be exchanged through safetensors.
/// </summary>
public abstract partial class Module
{
    readonly List<string> parameterNames = [];
    readonly Dictionary<string, Tensor> parameters = [];
    readonly List<string> bufferNames = [];
    readonly Dictionary<string, (Tensor Tensor, bool Persistent)> buffers = [];
    readonly List<(string Name, Module Module)> children = [];
    // Every name taken on this module (parameters, buffers, children), so registering stays O(1) however many
    // children a container holds.
    readonly HashSet<string> names = new(StringComparer.Ordinal);

    /// <summary>Creates an empty module.</summary>
    protected Module() { }

    /// <summary>Computes the module's output.</summary>
    public abstract Tensor Forward(Tensor x);

    /// <summary>True in training mode (the default); see <see cref="Train"/> and <see cref="Eval"/>.</summary>
    public bool IsTraining { get; private set; } = true;

    /// <summary>Registers child modules under the given names, in order.</summary>
    protected void RegisterModules(params (string Name, Module Module)[] modules)
    {
        foreach (var (name, module) in modules) RegisterModule(name, module);
    }

    /// <summary>Registers one child module.</summary>
    /// <exception cref="ArgumentException">The name is empty, contains a dot, or is taken.</exception>
    protected void RegisterModule(string name, Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        CheckName(name);
        children.Add((name, module));
        names.Add(name);
    }

    /// <summary>Registers a trainable parameter (it is made a leaf that requires grad) and returns it.</summary>
    protected Tensor RegisterParameter(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        CheckName(name);
        if (!tensor.IsLeaf) tensor = tensor.Detach();
        tensor.RequiresGrad_();
        parameterNames.Add(name);
        parameters[name] = tensor;
        names.Add(name);
        return tensor;
    }

    /// <summary>Registers a non-trainable tensor (running statistics, ...); persistent buffers are part of the state dict.</summary>
    protected Tensor RegisterBuffer(string name, Tensor tensor, bool persistent = true)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        CheckName(name);
        tensor.DetachFromScope();
        bufferNames.Add(name);
        buffers[name] = (tensor, persistent);
        names.Add(name);
        return tensor;
    }

    void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"Module names must be non-empty and contain no '.', got \"{MessageText.Clip(name)}\".");
        if (names.Contains(name))
            throw new ArgumentException($"{GetType().Name}: the name \"{MessageText.Clip(name)}\" is already registered.");
    }

    /// <summary>The parameter registered as <paramref name="name"/> on this module (not children), or null.</summary>
    protected Tensor? GetParameter(string name) => parameters.GetValueOrDefault(name);

    /// <summary>The buffer registered as <paramref name="name"/> on this module, or null.</summary>
    protected Tensor? GetBuffer(string name) => buffers.TryGetValue(name, out var b) ? b.Tensor : null;

    /// <summary>Direct children, in registration order.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => children;

    /// <summary>This module and every descendant with dotted names ("" for this one).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (name, child) in children)
            foreach (var m in child.NamedModules(Join(prefix, name)))
                yield return m;
    }

    static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    /// <summary>
    /// The regularization penalties of this module alone (not its children) on its own weights, e.g. a
    /// <see cref="Dense"/> layer's kernel and bias regularizers. None by default.
    /// </summary>
    protected virtual IEnumerable<Tensor> OwnRegularizationLosses() => [];

    /// <summary>
    /// The sum of the weight regularization penalties of this module and its descendants (Keras' <c>model.losses</c>
    /// without activity terms, see <see cref="ActivityRegularization"/>): <c>Fit</c> adds it to the loss; a hand-written
    /// loop adds it itself. A zero scalar when no layer has a regularizer.
    /// </summary>
    public Tensor RegularizationLoss()
    {
        if (RegularizationLossOrNull() is { } total) return total;
        var first = Parameters().FirstOrDefault();
        return Tensor.Zeros([], first?.DType ?? DType.Float32, first?.Device ?? Device.Cpu);
    }

    /// <summary>The sum of the weight penalties, or null when no module has any.</summary>
    internal Tensor? RegularizationLossOrNull()
    {
        Tensor? total = null;
        foreach (var (_, m) in NamedModules())
            foreach (var p in m.OwnRegularizationLosses())
                total = total is null ? p : total + p;
        return total;
    }

    /// <summary>Every trainable parameter of this module and its descendants.</summary>
    public IEnumerable<Tensor> Parameters(bool recurse = true)
    {
        foreach (var (_, p) in NamedParameters(recurse: recurse)) yield return p;
    }

    /// <summary>Parameters with their dotted names (<c>fc1.weight</c>), in registration order.</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters(string prefix = "", bool recurse = true)
    {
        foreach (var n in parameterNames) yield return (Join(prefix, n), parameters[n]);
        if (!recurse) yield break;
        foreach (var (name, child) in children)
            foreach (var p in child.NamedParameters(Join(prefix, name)))
                yield return p;
    }

    /// <summary>Buffers with their dotted names.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(string prefix = "", bool persistentOnly = false)
    {
        foreach (var n in bufferNames)
            if (!persistentOnly || buffers[n].Persistent) yield return (Join(prefix, n), buffers[n].Tensor);
        foreach (var (name, child) in children)
            foreach (var b in child.NamedBuffers(Join(prefix, name), persistentOnly))
                yield return b;
    }

    /// <summary>Total number of trainable parameter elements.</summary>
    public long ParameterCount => Parameters().Sum(p => p.NumElements);

    /// <summary>
    /// Parameters and persistent buffers by dotted name, in registration order. The tensors are the module's
    /// own (not copies), as PyTorch returns them.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var d = new OrderedStateDict();
        foreach (var (n, p) in NamedParameters()) d.Add(n, p);
        foreach (var (n, b) in NamedBuffers(persistentOnly: true)) d.Add(n, b);
        return d;
    }

    /// <summary>
    /// Copies values from <paramref name="state"/> into this module's parameters and buffers. With
    /// <paramref name="strict"/> every key must match; otherwise missing and unexpected keys are ignored.
    /// Shapes must always match.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// Names the missing, unexpected and mis-shaped keys (the first ten of each kind, then how many more).
    /// </exception>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        var own = StateDict();
        var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var misShaped = own.Where(kv => state.TryGetValue(kv.Key, out var v) && v.Shape != kv.Value.Shape)
            .Select(kv => $"{kv.Key} (expected {kv.Value.Shape}, got {state[kv.Key].Shape})").ToList();
        if (misShaped.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
        {
            var sb = new StringBuilder($"Error(s) loading the state dict of {GetType().Name}:");
            if (strict && missing.Count > 0) sb.Append(" missing keys: ").Append(MessageText.List(missing)).Append('.');
            if (strict && unexpected.Count > 0) sb.Append(" unexpected keys: ").Append(MessageText.List(unexpected)).Append('.');
            if (misShaped.Count > 0) sb.Append(" size mismatch: ").Append(MessageText.List(misShaped)).Append('.');
            throw new ArgumentException(sb.ToString());
        }
        using (Tensor.NoGrad())
            foreach (var (key, target) in own)
                if (state.TryGetValue(key, out var value))
                    target.Copy_(value.Device.Equals(target.Device) ? value : value.To(target.Device));
    }

    /// <summary>
    /// Moves parameters and buffers to <paramref name="device"/>, keeping the tensors' identity (optimizers stay valid).
    /// Layers that create their parameters on their first call (<see cref="Dense"/>) create them there.
    /// </summary>
    public Module To(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        using (Tensor.NoGrad())
            foreach (var t in AllTensors())
                if (!t.Device.Equals(device)) t.ReplaceData(t.To(device));
        foreach (var (_, m) in NamedModules()) m.Placement = device;
        return this;
    }

    /// <summary>The device of the last <see cref="To(Device)"/> call reaching this module (null before any).</summary>
    internal Device? Placement { get; private set; }

    /// <summary>The dtype of the last <see cref="To(DType)"/> call reaching this module (null before any).</summary>
    internal DType? PlacementDType { get; private set; }

    /// <summary>Converts floating-point parameters and buffers to <paramref name="dtype"/>, keeping identity.</summary>
    public Module To(DType dtype)
    {
        using (Tensor.NoGrad())
            foreach (var t in AllTensors())
                if (t.DType.IsFloatingPoint() && t.DType != dtype) t.ReplaceData(t.To(dtype));
        foreach (var (_, m) in NamedModules()) m.PlacementDType = dtype;
        return this;
    }

    IEnumerable<Tensor> AllTensors()
    {
        foreach (var (_, m) in NamedModules())
        {
            foreach (var n in m.parameterNames) yield return m.parameters[n];
            foreach (var n in m.bufferNames) yield return m.buffers[n].Tensor;
        }
    }

    /// <summary>Sets training mode on this module and its descendants (dropout active, batch-norm batch statistics).</summary>
    public Module Train(bool mode = true)
    {
        foreach (var (_, m) in NamedModules()) m.IsTraining = mode;
        return this;
    }

    /// <summary>Sets evaluation mode (same as <c>Train(false)</c>).</summary>
    public Module Eval() => Train(false);

    /// <summary>Clears the gradients of every parameter (sets them to null, as PyTorch's default).</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.Grad = null;
    }

    /// <summary>Extra text shown inside the parentheses of <see cref="ToString"/>, like PyTorch's <c>extra_repr</c>.</summary>
    protected virtual string ExtraRepr() => "";

    /// <summary>A PyTorch-style description: the module tree with each layer's settings, then the parameter count.</summary>
    public override string ToString() => Describe(0) + (children.Count > 0 ? $"\nTrainable parameters: {ParameterCount:N0}" : "");

    string Describe(int indent)
    {
        var sb = new StringBuilder(GetType().Name).Append('(').Append(ExtraRepr());
        if (children.Count > 0)
        {
            sb.Append('\n');
            foreach (var (name, child) in children)
                sb.Append(' ', indent + 2).Append('(').Append(name).Append("): ").Append(child.Describe(indent + 2)).Append('\n');
            sb.Append(' ', indent);
        }
        return sb.Append(')').ToString();
    }

    sealed class OrderedStateDict : IReadOnlyDictionary<string, Tensor>
    {
        readonly List<KeyValuePair<string, Tensor>> items = [];
        readonly Dictionary<string, Tensor> map = [];

        public void Add(string key, Tensor value)
        {
            map.Add(key, value);
            items.Add(new(key, value));
        }

        public Tensor this[string key] => map[key];
        public IEnumerable<string> Keys => items.Select(i => i.Key);
        public IEnumerable<Tensor> Values => items.Select(i => i.Value);
        public int Count => items.Count;
        public bool ContainsKey(string key) => map.ContainsKey(key);
        public bool TryGetValue(string key, out Tensor value) => map.TryGetValue(key, out value!);
        public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() => items.GetEnumerator();
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
