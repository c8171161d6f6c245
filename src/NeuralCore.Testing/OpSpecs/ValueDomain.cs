namespace NeuralCore.Testing;

/// <summary>
/// Where sample values come from: a range, optionally with a random sign, points to stay away from (kinks of
/// relu/abs/clamp, jumps of floor/round), a lattice (so two inputs can never tie), or all-distinct values (so
/// a maximum is unique). Integer dtypes draw integers from the range; Bool draws 0 and 1.
/// </summary>
public sealed record ValueDomain(double Low, double High)
{
    /// <summary>Values in [-2, 2], the default for ops defined everywhere.</summary>
    public static ValueDomain Standard { get; } = new(-2, 2) { Integers = (-9, 9) };

    /// <summary>Values in [0.5, 3] (log, sqrt, pow bases, divisors).</summary>
    public static ValueDomain Positive { get; } = new(0.5, 3) { Integers = (1, 9) };

    /// <summary>Multiply each value by a random sign (for ranges like ±[0.5, 2] that exclude zero).</summary>
    public bool RandomSign { get; init; }

    /// <summary>Points no floating value may come within <see cref="Margin"/> of.</summary>
    public double[] Avoid { get; init; } = [];

    /// <summary>When positive, floating values also avoid every multiple of this period (by <see cref="Margin"/>).</summary>
    public double AvoidPeriod { get; init; }

    /// <summary>Distance kept from <see cref="Avoid"/> points; large against GradCheck's eps of 1e-6.</summary>
    public double Margin { get; init; } = 1e-3;

    /// <summary>When positive, floating values are LatticeOffset + k·Lattice (exactly representable when the step is a power of two).</summary>
    public double Lattice { get; init; }

    /// <summary>Offset of the lattice.</summary>
    public double LatticeOffset { get; init; }

    /// <summary>All floating values of one tensor are distinct (evenly spread and shuffled), so extremes are unique.</summary>
    public bool Distinct { get; init; }

    /// <summary>The integer range integer dtypes draw from; [Low, High] rounded inwards when null.</summary>
    public (int Low, int High)? Integers { get; init; }

    /// <summary>Draws one floating value.</summary>
    public double NextFloating(Generator rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        for (int attempt = 0; ; attempt++)
        {
            double v = Low + (High - Low) * rng.NextDouble();
            if (Lattice > 0) v = LatticeOffset + Lattice * Math.Floor((v - LatticeOffset) / Lattice);
            if (RandomSign && rng.NextDouble() < 0.5) v = -v;
            if (attempt > 1000 || IsAllowed(v)) return v;
        }
    }

    bool IsAllowed(double v)
    {
        foreach (var p in Avoid)
            if (Math.Abs(v - p) < Margin) return false;
        if (AvoidPeriod > 0)
        {
            double r = Math.Abs(v / AvoidPeriod - Math.Round(v / AvoidPeriod)) * AvoidPeriod;
            if (r < Margin) return false;
        }
        return true;
    }

    /// <summary>Draws one integer value for an integer dtype (non-negative for UInt8).</summary>
    public double NextInteger(Generator rng, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(rng);
        double low = Integers?.Low ?? Math.Ceiling(Low), high = Integers?.High ?? Math.Floor(High);
        if (dtype == DType.UInt8) low = Math.Max(low, 0);
        if (high < low) high = low;
        double v = low + rng.NextInt((int)(high - low) + 1);
        return RandomSign && dtype != DType.UInt8 && rng.NextDouble() < 0.5 ? -v : v;
    }
}
