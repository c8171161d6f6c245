using NeuralCore.Nn;

namespace NeuralCore.Compression.Pruning;

/// <summary>A layer whose weight pruning and shrinkage act on: a <see cref="Linear"/> or <see cref="Conv2d"/> by its dotted name.</summary>
/// <param name="Name">The layer's dotted module path (<c>1.linear</c> for the Linear inside a built <see cref="Dense"/>).</param>
/// <param name="Layer">The layer.</param>
/// <param name="Weight">Its weight parameter.</param>
public sealed record PrunableLayer(string Name, Module Layer, Tensor Weight)
{
    /// <summary>
    /// The Linear and Conv2d layers of <paramref name="model"/> in module order (a <see cref="Dense"/> contributes
    /// the Linear it wraps), optionally only those whose name <paramref name="include"/> accepts.
    /// </summary>
    /// <param name="model">The model to search.</param>
    /// <param name="include">Keeps a layer when it returns true for its dotted name; null keeps all.</param>
    /// <param name="operation">Names the caller in the error.</param>
    /// <exception cref="ArgumentException">
    /// No layer qualifies (a model of unbuilt <see cref="Dense"/> layers has none until its first forward pass).
    /// </exception>
    public static IReadOnlyList<PrunableLayer> Find(Module model, Func<string, bool>? include = null, string operation = "Pruning")
    {
        ArgumentNullException.ThrowIfNull(model);
        var found = model.NamedModules()
            .Where(m => m.Module is Linear or Conv2d && (include is null || include(m.Name)))
            .Select(m => new PrunableLayer(m.Name, m.Module, m.Module is Linear l ? l.Weight : ((Conv2d)m.Module).Weight))
            .ToList();
        if (found.Count == 0)
        {
            bool unbuilt = model.NamedModules().Any(m => m.Module is Dense { IsBuilt: false });
            throw new ArgumentException(
                $"{operation}: the {model.GetType().Name} has no Linear or Conv2d layer to prune" +
                (unbuilt ? " (its Dense layers are not built yet: run one forward pass first)." : include is null ? "." : " among the layers the filter accepts."),
                nameof(model));
        }
        return found;
    }
}
