using NeuralCore.Gpu.Kernels;
using Xunit.Abstractions;

namespace NeuralCore.Gpu.Tests;

/// <summary>
/// The kernels' math functions (<see cref="DeviceMath"/>) run on the host against .NET's Math and MathF: ordinary
/// arguments over each function's whole range and the extremes (huge, tiny, subnormal, NaN, ±∞, near the overflow
/// thresholds), with the ulp bounds the class documents.
/// </summary>
public sealed class DeviceMathTests(ITestOutputHelper output)
{
    // Distance in units in the last place; NaN only matches NaN, and ±0 match each other.
    static long Ulps(double a, double b)
    {
        if (double.IsNaN(a) || double.IsNaN(b)) return double.IsNaN(a) && double.IsNaN(b) ? 0 : long.MaxValue;
        if (a == b) return 0;
        long Ordered(double v)
        {
            long bits = BitConverter.DoubleToInt64Bits(v);
            return bits < 0 ? long.MinValue - bits : bits;
        }
        long d = Ordered(a) - Ordered(b);
        return d < 0 ? -d : d;
    }

    static long Ulps(float a, float b)
    {
        if (float.IsNaN(a) || float.IsNaN(b)) return float.IsNaN(a) && float.IsNaN(b) ? 0 : long.MaxValue;
        if (a == b) return 0;
        long Ordered(float v)
        {
            int bits = BitConverter.SingleToInt32Bits(v);
            return bits < 0 ? int.MinValue - (long)bits : bits;
        }
        return Math.Abs(Ordered(a) - Ordered(b));
    }

    void Check(string name, IEnumerable<double> inputs, Func<double, double> actual, Func<double, double> expected, long bound) =>
        Compare(name, inputs.Select(x => ($"{x:R}", Ulps(actual(x), expected(x)), $"{actual(x):R}", $"{expected(x):R}")), bound);

    void CheckF(string name, IEnumerable<float> inputs, Func<float, float> actual, Func<float, float> expected, long bound) =>
        Compare(name, inputs.Select(x => ($"{x:R}", Ulps(actual(x), expected(x)), $"{actual(x):R}", $"{expected(x):R}")), bound);

    // Each case: the arguments, the ulp distance, the value and the expected value (as text).
    void Compare(string name, IEnumerable<(string Args, long Ulps, string Actual, string Expected)> cases, long bound)
    {
        long worst = 0;
        string worstAt = "";
        var failures = new List<string>();
        int count = 0;
        foreach (var c in cases)
        {
            count++;
            if (c.Ulps > worst && c.Ulps != long.MaxValue) (worst, worstAt) = (c.Ulps, c.Args);
            if (c.Ulps > bound && failures.Count < 10)
                failures.Add($"{name}({c.Args}) = {c.Actual}, expected {c.Expected} ({(c.Ulps == long.MaxValue ? "NaN mismatch" : c.Ulps + " ulp")})");
        }
        output.WriteLine($"{name}: {count} inputs, worst {worst} ulp at {worstAt} (bound {bound})");
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    static readonly double[] Special =
    [
        double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.0, -0.0, double.Epsilon, -double.Epsilon,
        2.2250738585072014e-308, 2.225073858507201e-308, 1e-310, -1e-310, 1e-300, 1e-20, 1e-9, 0.5, 1.0, -1.0, 2.0, 3.0,
        10.0, 22.0, 44.0, 45.0, 100.0, 355.0, 400.0, 709.0, 709.78, 709.782712893384, 709.79, 745.0, -745.13, -745.14,
        -746.0, 1e9, -1e9, 1e17, 1e22, 1e300, -1e300, double.MaxValue, double.MinValue,
    ];

    static readonly float[] SpecialF =
    [
        float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, float.Epsilon, -float.Epsilon, 1.17549435e-38f,
        1e-40f, 1e-30f, 1e-9f, 2.4e-4f, 0.5f, 1f, -1f, 2f, 9f, 9.5f, 10f, 44f, 45f, 88f, 88.72f, 88.73f, 100f, -87f, -103.9f,
        -104f, 400f, 1e9f, 1e17f, 1e30f, -1e30f, float.MaxValue, float.MinValue,
    ];

    // Values whose binary exponents span [loExp, hiExp], both signs, from a fixed seed.
    static IEnumerable<double> Spread(int loExp, int hiExp, int count, int seed, bool negative = true)
    {
        var random = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            double v = (1 + random.NextDouble()) * Math.Pow(2, random.Next(loExp, hiExp + 1));
            yield return negative && random.Next(2) == 0 ? -v : v;
        }
    }

    static IEnumerable<double> Uniform(double lo, double hi, int count, int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < count; i++) yield return lo + (hi - lo) * random.NextDouble();
    }

    static IEnumerable<float> F(IEnumerable<double> values) => values.Select(v => (float)v);

    [Fact]
    public void ExpMatchesMathWithinTwoUlp()
    {
        Check("Exp", Special.Concat(Uniform(-745.2, 709.8, 20000, 1)).Concat(Spread(-1074, 9, 5000, 2)), DeviceMath.Exp, Math.Exp, 2);
        Assert.Equal(double.PositiveInfinity, DeviceMath.Exp(1e300));
        Assert.Equal(0.0, DeviceMath.Exp(-1e300));
        Assert.True(double.IsFinite(DeviceMath.Exp(709.782712893384)));
        Assert.Equal(double.Epsilon, DeviceMath.Exp(-745.13));
    }

    [Fact]
    public void ExpFloat32MatchesWithinTwoUlp()
    {
        CheckF("ExpF", SpecialF.Concat(F(Uniform(-104, 88.8, 20000, 3))).Concat(F(Spread(-149, 6, 5000, 4))), DeviceMath.Exp, x => (float)Math.Exp(x), 2);
        Assert.Equal(float.PositiveInfinity, DeviceMath.Exp(89f));
        Assert.Equal(0f, DeviceMath.Exp(-104f));
    }

    // .NET has no accurate expm1: below |x| = 0.5, 2t / (1 − t) with t = tanh(x / 2) keeps tiny x accurate; above, e^x − 1 loses at most a bit or two.
    static double Expm1Reference(double x)
    {
        if (Math.Abs(x) > 0.5) return Math.Exp(x) - 1;
        double t = Math.Tanh(x / 2);
        return 2 * t / (1 - t);
    }

    [Fact]
    public void Expm1IsAccurateForTinyAndLargeArguments()
    {
        Check("Expm1", Uniform(-40, 40, 20000, 5).Concat(Spread(-1074, 5, 5000, 6)), DeviceMath.Expm1, Expm1Reference, 3);
        CheckF("Expm1F", F(Uniform(-18, 88, 20000, 7)).Concat(F(Spread(-149, 4, 5000, 8))), DeviceMath.Expm1, x => (float)Expm1Reference(x), 2);
        Assert.Equal(-1.0, DeviceMath.Expm1(double.NegativeInfinity));
        Assert.Equal(double.PositiveInfinity, DeviceMath.Expm1(710));
        Assert.True(double.IsNaN(DeviceMath.Expm1(double.NaN)));
    }

    [Fact]
    public void TanhSaturatesAndMatchesMath()
    {
        Check("Tanh", Special.Concat(Uniform(-25, 25, 20000, 9)).Concat(Spread(-1074, 10, 5000, 10)), DeviceMath.Tanh, Math.Tanh, 2);
        CheckF("TanhF", SpecialF.Concat(F(Uniform(-12, 12, 20000, 11))).Concat(F(Spread(-149, 8, 5000, 12))), DeviceMath.Tanh, x => (float)Math.Tanh(x), 2);
        // The overflow thresholds of the (e − 1) / (e + 1) formula: finite, saturated.
        Assert.Equal(1.0, DeviceMath.Tanh(355.0));
        Assert.Equal(-1.0, DeviceMath.Tanh(-355.0));
        Assert.Equal(1f, DeviceMath.Tanh(45f));
        Assert.Equal(1f, DeviceMath.Tanh(100f));
        Assert.Equal(-1f, DeviceMath.Tanh(-400f));
        Assert.Equal(1.0, DeviceMath.Tanh(double.PositiveInfinity));
        Assert.True(double.IsNegative(DeviceMath.Tanh(-0.0)));
    }

    [Fact]
    public void LogMatchesMathWithinTwoUlp()
    {
        var positive = Spread(-1074, 1023, 20000, 13, negative: false).Concat(Uniform(0.5, 2, 10000, 14));
        Check("Log", Special.Concat(positive), DeviceMath.Log, Math.Log, 2);
        CheckF("LogF", SpecialF.Concat(F(Spread(-149, 127, 20000, 15, negative: false))).Concat(F(Uniform(0.5, 2, 10000, 16))),
            DeviceMath.Log, x => (float)Math.Log(x), 2);
        Assert.Equal(0.0, DeviceMath.Log(1.0));
        Assert.Equal(double.NegativeInfinity, DeviceMath.Log(0.0));
        Assert.True(double.IsNaN(DeviceMath.Log(-1e-300)));
    }

    [Fact]
    public void SinAndCosReduceHugeArgumentsExactly()
    {
        // Ordinary angles, the Cody–Waite range up to 2^20, and Payne–Hanek beyond it up to MaxValue.
        var inputs = Special.Concat(Uniform(-10, 10, 10000, 17)).Concat(Uniform(-1e6, 1e6, 10000, 18)).Concat(Spread(-1074, 1023, 20000, 19))
            .Concat(Enumerable.Range(1, 200).Select(k => k * Math.PI / 2)).Concat(Enumerable.Range(0, 64).Select(k => Math.ScaleB(1, k)));
        Check("Sin", inputs, DeviceMath.Sin, Math.Sin, 2);
        Check("Cos", inputs, DeviceMath.Cos, Math.Cos, 2);
        var floats = SpecialF.Concat(F(Uniform(-10, 10, 10000, 20))).Concat(F(Spread(-149, 127, 20000, 21)));
        CheckF("SinF", floats, DeviceMath.Sin, x => (float)Math.Sin(x), 1);
        CheckF("CosF", floats, DeviceMath.Cos, x => (float)Math.Cos(x), 1);
        Assert.InRange(Ulps(DeviceMath.Sin(1e9), Math.Sin(1e9)), 0, 2);
        Assert.InRange(Ulps(DeviceMath.Sin(1e17), Math.Sin(1e17)), 0, 2);
        Assert.InRange(Ulps(DeviceMath.Cos(1e300), Math.Cos(1e300)), 0, 2);
        Assert.True(double.IsNaN(DeviceMath.Cos(double.NegativeInfinity)));
    }

    static readonly double[] PowSpecial =
        [double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, 1e-310, 1e300, -1e300];

    [Fact]
    public void PowFollowsDotNetSpecialCasesAndStaysWithinItsUlpBounds()
    {
        var failures = new List<string>();
        foreach (double x in PowSpecial)
            foreach (double y in PowSpecial)
                if (Ulps(DeviceMath.Pow(x, y), Math.Pow(x, y)) > 2) failures.Add($"Pow({x}, {y}) = {DeviceMath.Pow(x, y):R}, expected {Math.Pow(x, y):R}");
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));

        var random = new Random(22);
        var pairs = new List<(double X, double Y)>();
        for (int i = 0; i < 20000; i++)
        {
            double x = Math.Pow(2, random.Next(-1074, 1024)) * (1 + random.NextDouble());
            double limit = 700 / Math.Max(Math.Abs(Math.Log(x)), 1e-3);
            double y = (random.NextDouble() * 2 - 1) * Math.Min(limit, 1e4);
            pairs.Add((x, y));
            pairs.Add((1 + (random.NextDouble() - 0.5) * 1e-3, (random.NextDouble() * 2 - 1) * 1e6));
            pairs.Add((-x, Math.Round(y)));
        }
        pairs.AddRange([(10, 300), (10, -300), (2, 1023.99), (2, -1074), (1.0000001, 1e9), (0.9999999, -1e9), (7, 0.5), (-8, 1.0 / 3)]);
        // y·ln x carries about 2^−61 absolute error, so the bound grows with |y·ln x| (the exponent of the result).
        static bool Moderate((double X, double Y) p) => Math.Abs(p.Y * Math.Log(Math.Abs(p.X))) <= 20;
        (string, long, string, string) Case((double X, double Y) p) =>
            ($"{p.X:R}, {p.Y:R}", Ulps(DeviceMath.Pow(p.X, p.Y), Math.Pow(p.X, p.Y)), $"{DeviceMath.Pow(p.X, p.Y):R}", $"{Math.Pow(p.X, p.Y):R}");
        Compare("Pow, |y ln x| <= 20", pairs.Where(Moderate).Select(Case), 2);
        Compare("Pow", pairs.Select(Case), 8);
        var pairsF = pairs.Select(p => (X: (float)p.X, Y: (float)p.Y)).Where(p => float.IsFinite(p.X) && float.IsFinite(p.Y));
        Compare("PowF", pairsF.Select(p => ($"{p.X:R}, {p.Y:R}", Ulps(DeviceMath.Pow(p.X, p.Y), (float)Math.Pow(p.X, p.Y)), $"{DeviceMath.Pow(p.X, p.Y):R}", $"{(float)Math.Pow(p.X, p.Y):R}")), 1);
    }

    [Fact]
    public void ErfWithDeviceExpMatchesTheHostErf()
    {
        Check("Erf", Special.Concat(Uniform(-7, 7, 20000, 23)).Concat(Spread(-1074, 10, 5000, 24)), DeviceMath.Erf, SpecialFunctions.Erf, 2);
        Assert.Equal(1.0, DeviceMath.Erf(1e300));
        Assert.Equal(-1.0, DeviceMath.Erf(double.NegativeInfinity));
    }
}
