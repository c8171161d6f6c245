using ILGPU;

namespace NeuralCore.Gpu.Kernels;

/// <summary>
/// The transcendental functions the kernels use, written with plain arithmetic and bit operations so that they compile
/// to the same instructions on every device and run unchanged on the host (where the tests compare them with .NET's
/// Math and MathF). ILGPU's own device math is not used: on PTX it maps Float32 tanh to the hardware approximation
/// (tanh.approx.f32, about 5e-4 relative error), computes tanh as (e − 1) / (e + 1) with e = exp(2x) (NaN once e
/// overflows), and reduces Float64 arguments in loops whose trip count grows with the argument (sin/cos subtract 2π
/// one step at a time, exp steps floor(x / ln 2) times), which is slow, inaccurate and, beyond about 5.6e16, endless.
/// <para>
/// Every function here runs a fixed, input-independent number of steps (no loops at all; a switch picks table words):
/// exp and expm1 reduce x = k·ln 2 + r with k = round(x / ln 2) (Cody–Waite, ln 2 in two parts), evaluate a polynomial
/// on |r| ≤ ln 2 / 2 and scale by 2^k built from exponent bits (in two exact steps, so subnormal results round once);
/// log splits off the exponent and evaluates 2·atanh(f / (2 + f)); tanh is expm1(2|x|) / (expm1(2|x|) + 2), which never
/// overflows and saturates to ±1; sin and cos reduce by π/2 in three parts (Cody–Waite) below 2^20 and by the bits of 2/π
/// (Payne–Hanek, a 192-bit window of a 1,216-bit table) above; pow is exp(y·log x) with log x and the product carried
/// in double-double. Float32 exp, expm1, log and tanh are computed in Float32; Float32 sin, cos and pow round the Float64
/// result. Accuracy (tested against .NET on the host): within 2 ulp for exp, log, tanh, sin and cos, 3 for expm1, and for
/// Float64 pow 2 ulp while |y·ln x| ≤ 20 and 8 ulp over its whole finite range (y·ln x carries about 2^−61 absolute
/// error); within 1 ulp for the Float32 functions computed through Float64.
/// </para>
/// </summary>
internal static class DeviceMath
{
    const double Ln2Hi = 6.93147180369123816490e-01;   // the leading 32 bits of ln 2: k·Ln2Hi is exact for |k| < 2^21
    const double Ln2Lo = 1.9082149292723212e-10;       // ln 2 − Ln2Hi
    const double Log2E = 1.4426950408889634;
    const double ExpOverflow = 709.782712893384;       // ln(MaxValue), rounded down: exp of larger x is +∞
    const double ExpUnderflow = -745.1332191019412;    // ln(2^−1075): exp of smaller x rounds to 0
    const float Ln2HiF = 0.693145751953125f;           // 15 significant bits: k·Ln2HiF is exact for |k| < 2^9
    const float Ln2LoF = 1.4286068203094173e-06f;
    const float Log2EF = 1.44269504f;
    const float ExpOverflowF = 88.7228394f;
    const float ExpUnderflowF = -103.972084f;
    const double PiOver2Part1 = 1.5707963267341256;    // π/2 in three parts of 33, 33 and 53 bits: k·Part1 and
    const double PiOver2Part2 = 6.077100506303966e-11; // k·Part2 are exact for |k| < 2^20
    const double PiOver2Part3 = 2.0222662487959506e-21;
    const double PiOver2Hi = 1.5707963267948966;
    const double PiOver2Lo = 6.123233995736766e-17;
    const double TwoOverPi = 0.63661977236758134;
    const double CodyWaiteLimit = 1048576.0;           // 2^20: larger arguments take the Payne–Hanek reduction

    // ---- bits and scaling

    static ulong Bits(double x) => Interop.FloatAsInt(x);
    static double FromBits(ulong bits) => Interop.IntAsFloat(bits);
    static uint Bits(float x) => Interop.FloatAsInt(x);
    static float FromBits(uint bits) => Interop.IntAsFloat(bits);

    /// <summary>2^n for n in [−1022, 1023], from its exponent bits.</summary>
    static double Pow2(int n) => FromBits((ulong)(n + 1023) << 52);

    /// <summary>2^n for n in [−126, 127].</summary>
    static float Pow2F(int n) => FromBits((uint)(n + 127) << 23);

    /// <summary>x·2^n for n in [−2044, 2046]: two exact power-of-two factors, so only the last product rounds.</summary>
    static double Scale(double x, int n)
    {
        int half = n / 2;
        return x * Pow2(half) * Pow2(n - half);
    }

    static float ScaleF(float x, int n)
    {
        int half = n / 2;
        return x * Pow2F(half) * Pow2F(n - half);
    }

    static double RoundEven(double x) => Math.Round(x, MidpointRounding.ToEven);

    static float RoundEvenF(float x) => MathF.Round(x, MidpointRounding.ToEven);

    // ---- exp, expm1

    /// <summary>e^r − 1 for |r| ≤ ln 2 / 2 + ε: the Taylor series to r^14 (truncation below 1e-19 relative).</summary>
    static double Expm1Poly(double r) =>
        r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720 + r * (1.0 / 5040
        + r * (1.0 / 40320 + r * (1.0 / 362880 + r * (1.0 / 3628800 + r * (1.0 / 39916800 + r * (1.0 / 479001600
        + r * (1.0 / 6227020800 + r * (1.0 / 87178291200))))))))))))));

    /// <summary>e^r − 1 for |r| ≤ ln 2 / 2 + ε in Float32: the Taylor series to r^8.</summary>
    static float Expm1PolyF(float r) =>
        r * (1f + r * (1f / 2 + r * (1f / 6 + r * (1f / 24 + r * (1f / 120 + r * (1f / 720 + r * (1f / 5040 + r * (1f / 40320))))))));

    /// <summary>e^x.</summary>
    public static double Exp(double x)
    {
        if (double.IsNaN(x)) return x;
        if (x > ExpOverflow) return double.PositiveInfinity;
        if (x < ExpUnderflow) return 0.0;
        double k = RoundEven(x * Log2E);
        double r = (x - k * Ln2Hi) - k * Ln2Lo;
        return Scale(1.0 + Expm1Poly(r), (int)k);
    }

    /// <summary>e^x in Float32.</summary>
    public static float Exp(float x)
    {
        if (float.IsNaN(x)) return x;
        if (x > ExpOverflowF) return float.PositiveInfinity;
        if (x < ExpUnderflowF) return 0f;
        float k = RoundEvenF(x * Log2EF);
        float r = (x - k * Ln2HiF) - k * Ln2LoF;
        return ScaleF(1f + Expm1PolyF(r), (int)k);
    }

    /// <summary>e^x − 1, accurate also for tiny x.</summary>
    public static double Expm1(double x)
    {
        if (double.IsNaN(x)) return x;
        if (x > ExpOverflow) return double.PositiveInfinity;
        if (x < -38.0) return -1.0;              // e^x below half an ulp of 1
        if (Math.Abs(x) <= 0.34657359027997264) return Expm1Poly(x);
        double k = RoundEven(x * Log2E);
        double hi = x - k * Ln2Hi, lo = k * Ln2Lo;
        double r = hi - lo;
        double c = (hi - r) - lo;                // what rounding r dropped: expm1(r + c) ≈ p + c·(1 + p)
        double p = Expm1Poly(r);
        p += c + c * p;
        int n = (int)k;
        if (n > 56) return Scale(1.0 + p, n);    // the −1 is below half an ulp
        double t = Pow2(n);
        return t * p + (t - 1.0);                // t·p and t − 1 are exact: one rounding
    }

    /// <summary>e^x − 1 in Float32.</summary>
    public static float Expm1(float x)
    {
        if (float.IsNaN(x)) return x;
        if (x > ExpOverflowF) return float.PositiveInfinity;
        if (x < -17.5f) return -1f;
        if (MathF.Abs(x) <= 0.346573591f) return Expm1PolyF(x);
        float k = RoundEvenF(x * Log2EF);
        float r = (x - k * Ln2HiF) - k * Ln2LoF;
        float p = Expm1PolyF(r);
        int n = (int)k;
        if (n > 25) return ScaleF(1f + p, n);
        float t = Pow2F(n);
        return t * p + (t - 1f);
    }

    // ---- tanh

    /// <summary>tanh x = sign(x)·e / (e + 2) with e = expm1(2|x|): no overflow; ±1 once |x| &gt; 22.</summary>
    public static double Tanh(double x)
    {
        double a = Math.Abs(x);
        if (!(a >= 3.7252902984e-9)) return x;   // tiny (x − x³/3 rounds to x), ±0 and NaN
        if (a > 22.0) return x > 0 ? 1.0 : -1.0;
        double e = Expm1(2.0 * a);
        // e / (e + 2) with the sum's and the quotient's rounding errors corrected, leaving expm1's error and one rounding.
        double d = TwoSum(e, 2.0, out double dLo);
        double t = e / d;
        t += (Math.FusedMultiplyAdd(-t, d, e) - t * dLo) / d;
        return x > 0 ? t : -t;
    }

    /// <summary>tanh in Float32; ±1 once |x| &gt; 9.5.</summary>
    public static float Tanh(float x)
    {
        float a = MathF.Abs(x);
        if (!(a >= 2.44140625e-4f)) return x;
        if (a > 9.5f) return x > 0 ? 1f : -1f;
        float e = Expm1(2f * a);
        float t = e / (e + 2f);
        return x > 0 ? t : -t;
    }

    // ---- log

    /// <summary>
    /// ln(1 + f) for f = m − 1, m in [√½, √2]: with s = f / (2 + f), ln(1 + f) = 2·atanh(s) = f − h + s·(h + R),
    /// h = f²/2, R = Σ 2s^{2i}/(2i + 1) (i ≥ 1, through s^22: |s| ≤ 0.172).
    /// </summary>
    static double Log1pReduced(double f)
    {
        double s = f / (2.0 + f), z = s * s;
        double r = z * (2.0 / 3 + z * (2.0 / 5 + z * (2.0 / 7 + z * (2.0 / 9 + z * (2.0 / 11 + z * (2.0 / 13 + z * (2.0 / 15
            + z * (2.0 / 17 + z * (2.0 / 19 + z * (2.0 / 21 + z * (2.0 / 23)))))))))));
        double h = 0.5 * f * f;
        return f - (h - s * (h + r));
    }

    /// <summary>Splits finite x &gt; 0 into 2^e·m with m in [√½, √2) and returns m − 1 (exact).</summary>
    static double SplitLog(double x, out int e)
    {
        int shift = 0;
        if (x < 2.2250738585072014e-308)
        {
            x *= 18014398509481984.0;            // 2^54: subnormals become normal
            shift = 54;
        }
        ulong bits = Bits(x);
        e = (int)(bits >> 52) - 1023 - shift;
        double m = FromBits((bits & 0x000FFFFFFFFFFFFFUL) | 0x3FF0000000000000UL);
        if (m > 1.4142135623730951)
        {
            m *= 0.5;
            e++;
        }
        return m - 1.0;
    }

    /// <summary>ln x: NaN for x &lt; 0, −∞ at 0.</summary>
    public static double Log(double x)
    {
        if (!(x > 0.0)) return x == 0.0 ? double.NegativeInfinity : double.NaN;
        if (x == double.PositiveInfinity) return x;
        double f = SplitLog(x, out int e);
        return e * Ln2Hi + (e * Ln2Lo + Log1pReduced(f));
    }

    /// <summary>ln x in Float32.</summary>
    public static float Log(float x)
    {
        if (!(x > 0f)) return x == 0f ? float.NegativeInfinity : float.NaN;
        if (x == float.PositiveInfinity) return x;
        int shift = 0;
        if (x < 1.17549435e-38f)
        {
            x *= 16777216f;                      // 2^24
            shift = 24;
        }
        uint bits = Bits(x);
        int e = (int)(bits >> 23) - 127 - shift;
        float m = FromBits((bits & 0x007FFFFFu) | 0x3F800000u);
        if (m > 1.41421354f)
        {
            m *= 0.5f;
            e++;
        }
        float f = m - 1f;
        float s = f / (2f + f), z = s * s;
        float r = z * (2f / 3 + z * (2f / 5 + z * (2f / 7 + z * (2f / 9 + z * (2f / 11)))));
        float h = 0.5f * f * f;
        return e * Ln2HiF + (e * Ln2LoF + (f - (h - s * (h + r))));
    }

    // ---- sin, cos

    /// <summary>sin r for |r| ≤ π/4 + ε (Taylor series to r^19).</summary>
    static double SinPoly(double r)
    {
        double z = r * r;
        return r + r * z * (-1.0 / 6 + z * (1.0 / 120 + z * (-1.0 / 5040 + z * (1.0 / 362880 + z * (-1.0 / 39916800
            + z * (1.0 / 6227020800 + z * (-1.0 / 1307674368000 + z * (1.0 / 355687428096000 + z * (-1.0 / 121645100408832000)))))))));
    }

    /// <summary>cos r for |r| ≤ π/4 + ε (Taylor series to r^20).</summary>
    static double CosPoly(double r)
    {
        double z = r * r;
        return 1.0 - 0.5 * z + z * z * (1.0 / 24 + z * (-1.0 / 720 + z * (1.0 / 40320 + z * (-1.0 / 3628800 + z * (1.0 / 479001600
            + z * (-1.0 / 87178291200 + z * (1.0 / 20922789888000 + z * (-1.0 / 6402373705728000 + z * (1.0 / 2432902008176640000)))))))));
    }

    /// <summary>Reduces finite x to r in [−π/4, π/4] (up to rounding) with x = q·π/2 + r; returns r and q mod 4.</summary>
    static double ReduceHalfPi(double x, out int quadrant)
    {
        double a = Math.Abs(x);
        if (a <= 0.7853981633974483)
        {
            quadrant = 0;
            return x;
        }
        if (a < CodyWaiteLimit)
        {
            double k = RoundEven(x * TwoOverPi);
            quadrant = (int)k & 3;
            return ((x - k * PiOver2Part1) - k * PiOver2Part2) - k * PiOver2Part3;
        }
        double r = ReduceLarge(a, out int q);
        if (x < 0)
        {
            r = -r;
            q = -q;
        }
        quadrant = q & 3;
        return r;
    }

    /// <summary>
    /// Payne–Hanek reduction of a finite a ≥ 2^20: a = m·2^E with a 53-bit integer m, and a·2/π mod 4 is m times a
    /// 192-bit window of the bits of 2/π starting where their weight times 2^E drops below 4 (earlier bits give
    /// multiples of 4; later ones add less than 2^−137), computed modulo 2^192 in 64-bit words. The top two bits are
    /// the quadrant, the rest the fraction, taken to [−½, ½] and multiplied by π/2 in double-double.
    /// </summary>
    static double ReduceLarge(double a, out int quadrant)
    {
        ulong bits = Bits(a);
        int exponent = (int)(bits >> 52);
        ulong m = (bits & 0x000FFFFFFFFFFFFFUL) | 0x0010000000000000UL;
        int p = exponent - 1075 + 62;            // window start in the table (whose word 0 is zero padding)
        int w = p >> 6, sh = p & 63;
        ulong b2 = Window(w, sh), b1 = Window(w + 1, sh), b0 = Window(w + 2, sh);
        ulong h0 = MulHigh(m, b0, out ulong l0);
        ulong h1 = MulHigh(m, b1, out ulong l1);
        ulong l2 = m * b2;
        ulong p0 = l0, p1 = h0 + l1;
        ulong p2 = h1 + l2 + (p1 < h0 ? 1UL : 0UL);
        int q = (int)(p2 >> 62);
        ulong fhi = (p2 << 2) | (p1 >> 62), flo = (p1 << 2) | (p0 >> 62);
        bool negative = (fhi >> 63) != 0;
        if (negative)
        {
            q++;
            flo = ~flo + 1;
            fhi = ~fhi + (flo == 0 ? 1UL : 0UL);
        }
        double f = fhi * 5.421010862427522e-20 + flo * 2.938735877055719e-39;   // 2^−64, 2^−128
        double r = f * PiOver2Hi + f * PiOver2Lo;
        quadrant = q & 3;
        return negative ? -r : r;
    }

    /// <summary>64 bits of the table starting at bit sh of word w.</summary>
    static ulong Window(int w, int sh) => sh == 0 ? TwoOverPiWord(w) : (TwoOverPiWord(w) << sh) | (TwoOverPiWord(w + 1) >> (64 - sh));

    /// <summary>Word i of 64 zero bits followed by the first 1,216 bits of 2/π (0.A2F9836E…).</summary>
    static ulong TwoOverPiWord(int i) => i switch
    {
        1 => 0xA2F9836E4E441529UL,
        2 => 0xFC2757D1F534DDC0UL,
        3 => 0xDB6295993C439041UL,
        4 => 0xFE5163ABDEBBC561UL,
        5 => 0xB7246E3A424DD2E0UL,
        6 => 0x06492EEA09D1921CUL,
        7 => 0xFE1DEB1CB129A73EUL,
        8 => 0xE88235F52EBB4484UL,
        9 => 0xE99C7026B45F7E41UL,
        10 => 0x3991D639835339F4UL,
        11 => 0x9C845F8BBDF9283BUL,
        12 => 0x1FF897FFDE05980FUL,
        13 => 0xEF2F118B5A0A6D1FUL,
        14 => 0x6D367ECF27CB09B7UL,
        15 => 0x4F463F669E5FEA2DUL,
        16 => 0x7527BAC7EBE5F17BUL,
        17 => 0x3D0739F78A5292EAUL,
        18 => 0x6BFB5FB11F8D5D08UL,
        19 => 0x56033046FC7B6BABUL,
        _ => 0UL,
    };

    /// <summary>The high 64 bits of a·b, and the low 64 in <paramref name="low"/>.</summary>
    static ulong MulHigh(ulong a, ulong b, out ulong low)
    {
        ulong a0 = (uint)a, a1 = a >> 32, b0 = (uint)b, b1 = b >> 32;
        ulong p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
        ulong mid = (p00 >> 32) + (uint)p01 + (uint)p10;
        low = (mid << 32) | (uint)p00;
        return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    }

    /// <summary>sin x; NaN for ±∞.</summary>
    public static double Sin(double x)
    {
        if (double.IsNaN(x) || double.IsInfinity(x)) return double.NaN;
        double r = ReduceHalfPi(x, out int q);
        double v = (q & 1) == 0 ? SinPoly(r) : CosPoly(r);
        return (q & 2) == 0 ? v : -v;
    }

    /// <summary>cos x; NaN for ±∞.</summary>
    public static double Cos(double x)
    {
        if (double.IsNaN(x) || double.IsInfinity(x)) return double.NaN;
        double r = ReduceHalfPi(x, out int q);
        q = (q + 1) & 3;
        double v = (q & 1) == 0 ? SinPoly(r) : CosPoly(r);
        return (q & 2) == 0 ? v : -v;
    }

    /// <summary>sin x in Float32 (the Float64 result, rounded).</summary>
    public static float Sin(float x) => (float)Sin((double)x);

    /// <summary>cos x in Float32 (the Float64 result, rounded).</summary>
    public static float Cos(float x) => (float)Cos((double)x);

    // ---- pow

    /// <summary>a·b = hi + lo exactly (a fused multiply-add gives the rounding error of the product).</summary>
    static double TwoProduct(double a, double b, out double lo)
    {
        double hi = a * b;
        lo = Math.FusedMultiplyAdd(a, b, -hi);
        return hi;
    }

    /// <summary>a + b = hi + lo exactly (Knuth's two-sum).</summary>
    static double TwoSum(double a, double b, out double lo)
    {
        double s = a + b, bb = s - a;
        lo = (a - (s - bb)) + (b - bb);
        return s;
    }

    /// <summary>
    /// ln x as hi + lo for finite x &gt; 0, good to about 2^−60 relative: the exponent times ln 2 in two parts, plus
    /// ln(1 + f) = 2s + s·R with s = f / (2 + f) carried as s + ds (the division's remainder computed exactly).
    /// </summary>
    static double LogDouble(double x, out double lo)
    {
        double f = SplitLog(x, out int e);
        double u = 2.0 + f;                       // exact or off by an ulp; the remainder below absorbs it
        double uLo = (2.0 - u) + f;
        double s = f / u;
        double sh = TwoProduct(s, u, out double sl);
        double ds = ((f - sh) - sl - s * uLo) / u;
        double z = s * s;
        double r = z * (2.0 / 3 + z * (2.0 / 5 + z * (2.0 / 7 + z * (2.0 / 9 + z * (2.0 / 11 + z * (2.0 / 13 + z * (2.0 / 15
            + z * (2.0 / 17 + z * (2.0 / 19 + z * (2.0 / 21 + z * (2.0 / 23)))))))))));
        double hi = TwoSum(e * Ln2Hi, 2.0 * s, out double l1);
        lo = l1 + (e * Ln2Lo + (2.0 * ds + s * r));
        double sum = hi + lo;
        lo -= sum - hi;
        return sum;
    }

    /// <summary>x^y with .NET's (IEEE 754) special cases: pow(x, ±0) = 1, pow(1, y) = 1, negative x only with integer y.</summary>
    public static double Pow(double x, double y)
    {
        if (y == 0.0 || x == 1.0) return 1.0;
        if (double.IsNaN(x) || double.IsNaN(y)) return double.NaN;
        double ay = Math.Abs(y);
        bool yInteger = Math.Floor(y) == y;       // ±∞ counts as an (even) integer here
        bool yOdd = yInteger && ay < 9007199254740992.0 && Math.Floor(0.5 * y) != 0.5 * y;
        double ax = Math.Abs(x);
        if (double.IsInfinity(y))
        {
            if (ax == 1.0) return 1.0;
            return (ax > 1.0) == (y > 0) ? double.PositiveInfinity : 0.0;
        }
        double sign = x < 0 && yOdd ? -1.0 : 1.0;
        if (ax == 0.0 || double.IsInfinity(ax))
        {
            bool large = (ax == 0.0) != (y > 0);
            double magnitude = large ? double.PositiveInfinity : 0.0;
            return yOdd ? (x < 0 || (x == 0 && 1.0 / x < 0) ? -magnitude : magnitude) : magnitude;
        }
        if (x < 0 && !yInteger) return double.NaN;
        if (ax == 1.0) return sign;
        // |y| > 2^64 with |x| ≠ 1: |y·ln|x|| > 2^64·1.1e-16, far outside exp's range.
        if (ay > 1.8446744073709552e19) return (ax > 1.0) == (y > 0) ? double.PositiveInfinity : 0.0;
        double lh = LogDouble(ax, out double ll);
        double ph = TwoProduct(y, lh, out double pl);
        pl += y * ll;
        if (ph > ExpOverflow + 1.0) return sign * double.PositiveInfinity;
        if (ph < ExpUnderflow - 1.0) return sign * 0.0;
        double sum = ph + pl;
        if (sum > ExpOverflow) return sign * double.PositiveInfinity;
        if (sum < ExpUnderflow) return sign * 0.0;
        double k = RoundEven(sum * Log2E);
        double r = ((ph - k * Ln2Hi) + pl) - k * Ln2Lo;
        return sign * Scale(1.0 + Expm1Poly(r), (int)k);
    }

    /// <summary>x^y in Float32 (the Float64 result, rounded).</summary>
    public static float Pow(float x, float y) => (float)Pow((double)x, (double)y);

    // ---- erf

    /// <summary>The error function in Float64: <see cref="SpecialFunctions.Erf{TExp}"/> with this class's exp (its loops run at most 60 and 200 steps).</summary>
    public static double Erf(double x) => SpecialFunctions.Erf<DeviceExp>(x);

    /// <summary>This class's Float64 exp for <see cref="SpecialFunctions"/>.</summary>
    internal readonly struct DeviceExp : IExpFunction
    {
        public double Exp(double x) => DeviceMath.Exp(x);
    }
}
