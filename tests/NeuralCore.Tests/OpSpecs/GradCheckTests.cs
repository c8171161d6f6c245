using NeuralCore.Testing;

namespace NeuralCore.Tests.OpSpecs;

/// <summary>
/// Every differentiable op through <see cref="GradCheck"/> on its Float64 samples. Empty inputs have no
/// Jacobian, inputs over 30 elements make the O(in × out) check slow, and a sample whose reference result is
/// not finite (e.g. the unbiased variance of one element) or that sits on a kink has no derivative to check,
/// so those are left out.
/// </summary>
public sealed class GradCheckTests
{
    const int MaxElements = 30;

    public static TheoryData<string> Cases => OpCases.Ids((spec, dtype, sample) =>
        spec.Differentiable && dtype == DType.Float64 && sample.NotDifferentiableReason is null && IsSmall(sample) && spec.Expected(sample).Data.All(double.IsFinite));

    static bool IsSmall(SampleInput sample)
    {
        var floating = sample.Inputs.Where(t => t.DType.IsFloatingPoint()).ToList();
        return floating.Count > 0 && floating.All(t => t.NumElements is > 0 and <= MaxElements);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GradientsMatchFiniteDifferences(string id)
    {
        var (spec, _, sample) = OpCases.Find(id);

        GradCheck.Assert(spec.Bind(sample), sample.Inputs);
    }
}
