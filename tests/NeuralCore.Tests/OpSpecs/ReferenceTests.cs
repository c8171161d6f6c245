using NeuralCore.Testing;

namespace NeuralCore.Tests.OpSpecs;

/// <summary>Every registered op, dtype and sample on the CPU backend against the op's plain-loop reference.</summary>
public sealed class ReferenceTests
{
    public static TheoryData<string> Cases => OpCases.Ids((_, _, _) => true);

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesReference(string id)
    {
        var (spec, _, sample) = OpCases.Find(id);
        var before = sample.RefInputs();
        var expected = spec.Expected(sample);

        var actual = spec.Forward(sample.Inputs, sample);

        var mismatch = ResultCheck.Mismatch(actual, expected, spec.Tolerances.For(expected.DType));
        Assert.True(mismatch is null, $"{id}: {mismatch}");
        for (int i = 0; i < before.Length; i++)
            Assert.True(ResultCheck.Mismatch(sample.Inputs[i], before[i], Tolerance.Exact) is null, $"{id}: the op modified input {i}.");
    }
}
