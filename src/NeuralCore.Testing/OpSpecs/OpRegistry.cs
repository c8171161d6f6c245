namespace NeuralCore.Testing;

/// <summary>
/// Every op's <see cref="OpSpec"/>. Tests enumerate <see cref="All"/>; adding a spec to one of the family
/// lists gives the op reference, dtype, conformance and GradCheck tests with no further code.
/// </summary>
public static class OpRegistry
{
    static readonly Lazy<IReadOnlyList<OpSpec>> all = new(Build);
    static readonly Lazy<Dictionary<string, OpSpec>> byName = new(() => all.Value.ToDictionary(s => s.Name));

    /// <summary>All registered specs, in family order (elementwise, reductions, movement, linear algebra).</summary>
    public static IReadOnlyList<OpSpec> All => all.Value;

    /// <summary>The spec named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No spec has that name.</exception>
    public static OpSpec Get(string name) => TryGet(name, out var spec) ? spec
        : throw new KeyNotFoundException($"OpRegistry: no op named '{name}' is registered.");

    /// <summary>Looks a spec up by name.</summary>
    public static bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out OpSpec? spec) =>
        byName.Value.TryGetValue(name, out spec);

    static IReadOnlyList<OpSpec> Build()
    {
        var specs = ElementwiseSpecs.All().Concat(ReductionSpecs.All()).Concat(MovementSpecs.All()).Concat(LinalgSpecs.All())
            .Concat(AttentionSpecs.All()).Concat(SelectionSpecs.All()).ToList();
        var duplicate = specs.GroupBy(s => s.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new InvalidOperationException($"OpRegistry: two specs are named '{duplicate.Key}'.");
        return specs;
    }
}
