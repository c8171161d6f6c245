using NeuralCore.Testing;

namespace NeuralCore.Tests.OpSpecs;

/// <summary>The registry's own invariants: unique names and case ids, and every op covering the awkward cases.</summary>
public sealed class OpRegistryTests
{
    [Fact]
    public void CaseIdsAreUniqueAndRoundTrip()
    {
        var ids = new HashSet<string>();
        foreach (var spec in OpRegistry.All)
            foreach (var dtype in spec.DTypes)
                foreach (var sample in spec.Samples(dtype))
                {
                    var id = OpCases.Id(spec, dtype, sample);
                    Assert.True(ids.Add(id), $"duplicate case id {id}");
                    Assert.DoesNotContain('|', sample.Description);
                    Assert.True(spec.Arity < 0 || sample.Inputs.Length == spec.Arity, $"{id}: {sample.Inputs.Length} inputs for arity {spec.Arity}");
                }
        Assert.True(ids.Count >= 1000, $"only {ids.Count} cases");
    }

    [Fact]
    public void SamplesAreDeterministic()
    {
        var spec = OpRegistry.Get("Add");
        var first = spec.Samples(DType.Float32).Select(s => s.Inputs[0].ToArray<double>()).ToList();
        var second = spec.Samples(DType.Float32).Select(s => s.Inputs[0].ToArray<double>()).ToList();

        Assert.Equal(first, second);
    }

    [Fact]
    public void EveryOpHasNonContiguousSamplesAndFloatingDTypes()
    {
        foreach (var spec in OpRegistry.All)
        {
            Assert.Contains(DType.Float32, spec.DTypes);
            Assert.Contains(DType.Float64, spec.DTypes);
            Assert.Contains(spec.Samples(DType.Float32), s => s.Inputs.Any(t => !t.IsContiguous));
        }
    }

    [Fact]
    public void LookupByNameFindsRegisteredOpsOnly()
    {
        Assert.Equal("Exp", OpRegistry.Get("Exp").Name);
        Assert.False(OpRegistry.TryGet("NoSuchOp", out _));
        Assert.Throws<KeyNotFoundException>(() => OpRegistry.Get("NoSuchOp"));
    }
}
