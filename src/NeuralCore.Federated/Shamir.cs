using System.Numerics;
using System.Security.Cryptography;

namespace NeuralCore.Federated;

/// <summary>One Shamir share: the polynomial's value <see cref="Y"/> at the nonzero point <see cref="X"/>, as
/// <see cref="Shamir.ShareBytes"/> big-endian bytes.</summary>
/// <param name="X">The evaluation point (secure aggregation uses the receiving client's id).</param>
/// <param name="Y">The value, <see cref="Shamir.ShareBytes"/> bytes, big-endian, below the field's prime.</param>
internal readonly record struct ShamirShare(int X, byte[] Y);

/// <summary>
/// Shamir t-of-n secret sharing (Shamir 1979) over the prime field of the Mersenne prime p = 2^521 − 1. A secret of
/// up to 64 bytes is read as an unsigned big-endian integer s &lt; 2^512 &lt; p; <see cref="Split"/> draws a polynomial
/// f of degree t − 1 with f(0) = s and the other t − 1 coefficients uniform in [0, p) from
/// <see cref="RandomNumberGenerator"/>, and gives f(x) for each point x. Any t shares determine f and so s
/// (<see cref="Reconstruct"/>, Lagrange interpolation at 0); any t − 1 shares are uniformly distributed whatever s
/// is, so they carry no information about it.
/// </summary>
internal static class Shamir
{
    /// <summary>p = 2^521 − 1.</summary>
    public static readonly BigInteger Prime = (BigInteger.One << 521) - 1;

    /// <summary>Bytes of an encoded share value (521 bits).</summary>
    public const int ShareBytes = 66;

    /// <summary>Largest secret, in bytes.</summary>
    public const int MaxSecretBytes = 64;

    /// <summary>Splits <paramref name="secret"/> into one share per point of <paramref name="points"/>, any
    /// <paramref name="threshold"/> of which reconstruct it.</summary>
    /// <exception cref="ArgumentException">The secret is empty or longer than 64 bytes, a point is not positive, or
    /// points repeat.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The threshold is below 1 or above the number of points.</exception>
    public static ShamirShare[] Split(ReadOnlySpan<byte> secret, int threshold, IReadOnlyList<int> points)
    {
        if (secret.Length is 0 or > MaxSecretBytes)
            throw new ArgumentException($"Shamir.Split: the secret has {secret.Length} bytes; it must have 1..{MaxSecretBytes}.", nameof(secret));
        ArgumentNullException.ThrowIfNull(points);
        if (threshold < 1 || threshold > points.Count)
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold,
                $"Shamir.Split: the threshold must be 1..{points.Count} (the number of points).");
        CheckPoints(points.Select(x => x), "Shamir.Split");
        var coefficients = new BigInteger[threshold];
        coefficients[0] = new BigInteger(secret, isUnsigned: true, isBigEndian: true);
        for (int k = 1; k < threshold; k++) coefficients[k] = RandomElement();
        var shares = new ShamirShare[points.Count];
        for (int i = 0; i < shares.Length; i++)
        {
            // Horner's rule: f(x) = c0 + x (c1 + x (c2 + ...)).
            BigInteger x = points[i], y = BigInteger.Zero;
            for (int k = threshold - 1; k >= 0; k--) y = (y * x + coefficients[k]) % Prime;
            shares[i] = new ShamirShare(points[i], Encode(y));
        }
        return shares;
    }

    /// <summary>Reconstructs a secret of <paramref name="secretBytes"/> bytes from at least <paramref name="threshold"/>
    /// shares (the first <paramref name="threshold"/> are used).</summary>
    /// <exception cref="ArgumentException">Fewer shares than the threshold, repeated or non-positive points, a share
    /// value of the wrong length or not below p, or an interpolated value that does not fit in
    /// <paramref name="secretBytes"/> bytes (the shares are inconsistent or belong to another secret).</exception>
    public static byte[] Reconstruct(IReadOnlyList<ShamirShare> shares, int threshold, int secretBytes)
    {
        ArgumentNullException.ThrowIfNull(shares);
        if (secretBytes is < 1 or > MaxSecretBytes)
            throw new ArgumentOutOfRangeException(nameof(secretBytes), secretBytes, $"Shamir.Reconstruct: a secret has 1..{MaxSecretBytes} bytes.");
        if (threshold < 1)
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "Shamir.Reconstruct: the threshold must be at least 1.");
        if (shares.Count < threshold)
            throw new ArgumentException($"Shamir.Reconstruct: {shares.Count} share(s) given; the threshold is {threshold}.", nameof(shares));
        var s = Interpolate(shares.Take(threshold).ToArray());
        if (s.GetByteCount(isUnsigned: true) > secretBytes)
            throw new ArgumentException(
                $"Shamir.Reconstruct: the shares interpolate to a value of {s.GetBitLength()} bits, not a {secretBytes}-byte secret; " +
                "they are inconsistent or belong to different secrets.", nameof(shares));
        var result = new byte[secretBytes];
        s.TryWriteBytes(result.AsSpan(secretBytes - s.GetByteCount(isUnsigned: true)), out _, isUnsigned: true, isBigEndian: true);
        return result;
    }

    /// <summary>The value at 0 of the polynomial of degree shares.Count − 1 through the given shares (Lagrange
    /// interpolation mod p). With exactly t shares of a t-of-n split this is the secret.</summary>
    /// <exception cref="ArgumentException">No shares, repeated or non-positive points, or a malformed share value.</exception>
    public static BigInteger Interpolate(IReadOnlyList<ShamirShare> shares)
    {
        ArgumentNullException.ThrowIfNull(shares);
        if (shares.Count == 0) throw new ArgumentException("Shamir.Interpolate: no shares given.", nameof(shares));
        CheckPoints(shares.Select(s => s.X), "Shamir.Interpolate");
        var ys = shares.Select(s => Decode(s)).ToArray();
        BigInteger result = BigInteger.Zero;
        for (int i = 0; i < shares.Count; i++)
        {
            // L_i(0) = Π_{j≠i} x_j / (x_j − x_i).
            BigInteger numerator = BigInteger.One, denominator = BigInteger.One;
            for (int j = 0; j < shares.Count; j++)
            {
                if (j == i) continue;
                numerator = numerator * shares[j].X % Prime;
                denominator = denominator * Mod((BigInteger)shares[j].X - shares[i].X) % Prime;
            }
            result = (result + ys[i] * numerator % Prime * BigInteger.ModPow(denominator, Prime - 2, Prime)) % Prime;
        }
        return result;
    }

    /// <summary>A share value as <see cref="ShareBytes"/> big-endian bytes.</summary>
    public static byte[] Encode(BigInteger value)
    {
        var bytes = new byte[ShareBytes];
        value.TryWriteBytes(bytes.AsSpan(ShareBytes - value.GetByteCount(isUnsigned: true)), out _, isUnsigned: true, isBigEndian: true);
        return bytes;
    }

    static BigInteger Decode(ShamirShare share)
    {
        if (share.Y is null || share.Y.Length != ShareBytes)
            throw new ArgumentException($"Shamir: the share at point {share.X} has {share.Y?.Length ?? 0} bytes; a share has {ShareBytes}.");
        var y = new BigInteger(share.Y, isUnsigned: true, isBigEndian: true);
        if (y >= Prime) throw new ArgumentException($"Shamir: the share at point {share.X} is not below the field's prime 2^521 − 1.");
        return y;
    }

    static void CheckPoints(IEnumerable<int> points, string op)
    {
        var seen = new HashSet<int>();
        foreach (int x in points)
        {
            if (x < 1) throw new ArgumentException($"{op}: the point {x} is not positive (0 would reveal the secret).");
            if (!seen.Add(x)) throw new ArgumentException($"{op}: the point {x} appears twice.");
        }
    }

    static BigInteger Mod(BigInteger a) => (a % Prime + Prime) % Prime;

    /// <summary>A uniform element of [0, p): 521 random bits, redrawn in the (2^-521) case that they equal p.</summary>
    static BigInteger RandomElement()
    {
        Span<byte> bytes = stackalloc byte[ShareBytes];
        while (true)
        {
            RandomNumberGenerator.Fill(bytes);
            bytes[0] &= 0x01; // keep 521 bits: 1 bit of the first byte + 65 bytes
            var value = new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
            if (value < Prime) return value;
        }
    }
}
