using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace NeuralCore.Federated;

/// <summary>
/// The arithmetic of pairwise-masked secure aggregation (Bonawitz et al. 2017): fixed-point encoding of a vector into
/// integers mod 2^32, masks expanded from a 32-byte seed by AES-256 in counter mode, and pair seeds agreed by
/// elliptic-curve Diffie-Hellman (P-256) and hashed with the round and the pair's ids. Client i adds the mask of pair
/// (i, j) when i &lt; j and subtracts it when i &gt; j, so the masks of every pair that both submitted cancel exactly
/// in the sum mod 2^32.
/// </summary>
internal static class Masking
{
    /// <summary>Encodes <paramref name="values"/> (already weighted) followed by <paramref name="weight"/> as
    /// round(x · 2^scaleBits) mod 2^32. Each value must stay within ±(2^31 − 1) / <paramref name="summands"/> after
    /// scaling so that the sum of up to that many vectors decodes without wrapping.</summary>
    /// <exception cref="OverflowException">A value is out of that range or not finite.</exception>
    public static uint[] Encode(ReadOnlySpan<float> values, double weight, int scaleBits, int summands)
    {
        double scale = Math.Pow(2, scaleBits), limit = (double)int.MaxValue / Math.Max(1, summands);
        var result = new uint[values.Length + 1];
        for (int i = 0; i <= values.Length; i++)
        {
            double x = i < values.Length ? values[i] : weight;
            double scaled = Math.Round(x * scale);
            if (!(Math.Abs(scaled) <= limit))
                throw new OverflowException(
                    $"Secure aggregation: value {x} at index {i} is outside the fixed-point range ±{limit / scale:G4} " +
                    $"({scaleBits} fractional bits, {summands} summands); lower ScaleBits or clip the updates.");
            result[i] = unchecked((uint)(int)(long)scaled);
        }
        return result;
    }

    /// <summary>Decodes a sum of encoded vectors: each word as a signed 32-bit integer divided by 2^scaleBits.</summary>
    public static double[] Decode(ReadOnlySpan<uint> sum, int scaleBits)
    {
        double scale = Math.Pow(2, scaleBits);
        var result = new double[sum.Length];
        for (int i = 0; i < sum.Length; i++) result[i] = unchecked((int)sum[i]) / scale;
        return result;
    }

    /// <summary>Adds (or subtracts) the mask expanded from <paramref name="seed"/> to <paramref name="target"/> mod 2^32.</summary>
    public static void Apply(Span<uint> target, ReadOnlySpan<byte> seed, bool subtract)
    {
        using var aes = Aes.Create();
        aes.Key = seed.ToArray();
        const int BlocksPerChunk = 4096;
        var counters = new byte[BlocksPerChunk * 16];
        var stream = new byte[counters.Length];
        long block = 0;
        for (int start = 0; start < target.Length; start += BlocksPerChunk * 4)
        {
            int words = Math.Min(BlocksPerChunk * 4, target.Length - start), blocks = (words + 3) / 4;
            for (int b = 0; b < blocks; b++, block++)
                BinaryPrimitives.WriteInt64LittleEndian(counters.AsSpan(b * 16), block);
            aes.EncryptEcb(counters.AsSpan(0, blocks * 16), stream, PaddingMode.None);
            for (int w = 0; w < words; w++)
            {
                uint m = BinaryPrimitives.ReadUInt32LittleEndian(stream.AsSpan(w * 4));
                target[start + w] = subtract ? unchecked(target[start + w] - m) : unchecked(target[start + w] + m);
            }
        }
    }

    /// <summary>Adds the masks of every pair (<paramref name="self"/>, peer): + when self &lt; peer, − otherwise.</summary>
    public static void ApplyPairMasks(Span<uint> target, int self, IEnumerable<(int Peer, byte[] Seed)> pairs)
    {
        foreach (var (peer, seed) in pairs)
            Apply(target, seed, subtract: self > peer);
    }

    /// <summary>Removes from a sum the mask that survivor <paramref name="survivor"/> added for its pair with the dropped
    /// client <paramref name="dropped"/>.</summary>
    public static void RemovePairMask(Span<uint> sum, int survivor, int dropped, ReadOnlySpan<byte> seed) =>
        Apply(sum, seed, subtract: survivor < dropped);

    /// <summary>A fresh P-256 key pair for one round.</summary>
    public static ECDiffieHellman NewKey() => ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>The 32-byte seed of pair (a, b) in <paramref name="round"/>: SHA-256 over a label, the round, both ids
    /// (smaller first) and the ECDH shared secret. Both ends compute the same bytes.</summary>
    /// <exception cref="CryptographicException">The peer's key is not a valid P-256 public key.</exception>
    public static byte[] PairSeed(ECDiffieHellman mine, ReadOnlySpan<byte> peerPublicKey, int round, int a, int b)
    {
        using var peer = ECDiffieHellman.Create();
        peer.ImportSubjectPublicKeyInfo(peerPublicKey, out _);
        var prefix = new byte[32];
        Encoding.ASCII.GetBytes("neuralcore-secagg-v1").CopyTo(prefix, 0);
        BinaryPrimitives.WriteInt32LittleEndian(prefix.AsSpan(20), round);
        BinaryPrimitives.WriteInt32LittleEndian(prefix.AsSpan(24), Math.Min(a, b));
        BinaryPrimitives.WriteInt32LittleEndian(prefix.AsSpan(28), Math.Max(a, b));
        return mine.DeriveKeyFromHash(peer.PublicKey, HashAlgorithmName.SHA256, prefix, null);
    }
}
