using NeuralCore.Testing;

namespace NeuralCore.Tests.OpSpecs;

/// <summary>
/// Turns the registry into xunit cases identified by strings "Op|DType|sample" (serializable, so each shows as
/// its own test case) and finds a case again from its id by regenerating the op's deterministic samples.
/// </summary>
internal static class OpCases
{
    public static string Id(OpSpec spec, DType dtype, SampleInput sample) => $"{spec.Name}|{dtype}|{sample.Description}";

    public static TheoryData<string> Ids(Func<OpSpec, DType, SampleInput, bool> include)
    {
        var data = new TheoryData<string>();
        foreach (var spec in OpRegistry.All)
            foreach (var dtype in spec.DTypes)
                foreach (var sample in spec.Samples(dtype))
                    if (include(spec, dtype, sample)) data.Add(Id(spec, dtype, sample));
        return data;
    }

    public static (OpSpec Spec, DType DType, SampleInput Sample) Find(string id)
    {
        var parts = id.Split('|');
        var spec = OpRegistry.Get(parts[0]);
        var dtype = Enum.Parse<DType>(parts[1]);
        var sample = spec.Samples(dtype).Single(s => s.Description == parts[2]);
        return (spec, dtype, sample);
    }
}
