using System.Collections;

namespace NeuralCore.Nn;

/// <summary>
/// A chain of modules applied in order; children are named "0", "1", … as in PyTorch. Indexable and
/// enumerable. Keras-style <c>Compile</c>/<c>Fit</c>/<c>Evaluate</c>/<c>Predict</c> live in NeuralCore.Training.
/// </summary>
public sealed partial class Sequential : Module, IEnumerable<Module>
{
    readonly List<Module> layers = [];

    /// <summary>Creates the chain.</summary>
    public Sequential(params Module[] layers)
    {
        foreach (var l in layers) Add(l);
    }

    /// <summary>Appends a module.</summary>
    public Sequential Add(Module module)
    {
        RegisterModule(layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
        layers.Add(module);
        return this;
    }

    /// <summary>Number of modules.</summary>
    public int Count => layers.Count;

    /// <summary>The module at <paramref name="index"/>.</summary>
    public Module this[int index] => layers[index];

    /// <inheritdoc />
    public override Tensor Forward(Tensor x)
    {
        foreach (var l in layers) x = l.Call(x);
        return x;
    }

    /// <inheritdoc />
    public IEnumerator<Module> GetEnumerator() => layers.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
