namespace NeuralCore.Testing;

/// <summary>
/// How far a result may be from its reference: |actual − expected| ≤ <see cref="Atol"/> + <see cref="Rtol"/>·|expected|
/// (the rule of <c>torch.testing.assert_close</c>). Integer and Bool results are always compared exactly.
/// </summary>
/// <param name="Atol">Absolute tolerance.</param>
/// <param name="Rtol">Relative tolerance.</param>
public readonly record struct Tolerance(double Atol, double Rtol)
{
    /// <summary>Bit-for-bit equality (copies, views, casts, comparisons, integer arithmetic).</summary>
    public static Tolerance Exact => new(0, 0);

    /// <summary>True when <paramref name="actual"/> is within tolerance of <paramref name="expected"/>; NaN matches NaN and infinities must match exactly.</summary>
    public bool Accepts(double actual, double expected)
    {
        if (double.IsNaN(expected)) return double.IsNaN(actual);
        if (double.IsInfinity(expected)) return actual == expected;
        return Math.Abs(actual - expected) <= Atol + Rtol * Math.Abs(expected);
    }
}
