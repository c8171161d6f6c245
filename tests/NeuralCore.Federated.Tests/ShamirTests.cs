using System.Numerics;
using System.Security.Cryptography;
using NeuralCore.Federated;

namespace NeuralCore.Federated.Tests;

public class ShamirTests
{
    static IEnumerable<int[]> Subsets(int n, int k, int start = 0)
    {
        if (k == 0)
        {
            yield return [];
            yield break;
        }
        for (int i = start; i <= n - k; i++)
            foreach (var rest in Subsets(n, k - 1, i + 1))
                yield return [i, .. rest];
    }

    [Theory]
    [InlineData(6, 4)]
    [InlineData(5, 5)]
    [InlineData(4, 1)]
    [InlineData(7, 3)]
    public void EveryThresholdSubsetReconstructsTheSecret(int n, int t)
    {
        var secret = RandomNumberGenerator.GetBytes(32);
        int[] points = [.. Enumerable.Range(0, n).Select(i => 3 * i + 2)];
        var shares = Shamir.Split(secret, t, points);
        Assert.Equal(points, shares.Select(s => s.X));
        Assert.All(shares, s => Assert.Equal(Shamir.ShareBytes, s.Y.Length));
        int count = 0;
        foreach (var subset in Subsets(n, t))
        {
            Assert.Equal(secret, Shamir.Reconstruct([.. subset.Select(i => shares[i])], t, 32));
            count++;
        }
        Assert.True(count >= 1);
        // More than t shares: the first t are used, and any order works.
        Assert.Equal(secret, Shamir.Reconstruct([.. shares.Reverse()], t, 32));
    }

    [Fact]
    public void FewerThanThresholdSharesDoNotReconstruct()
    {
        const int N = 6, T = 4;
        var secret = RandomNumberGenerator.GetBytes(32);
        var value = new BigInteger(secret, isUnsigned: true, isBigEndian: true);
        var shares = Shamir.Split(secret, T, [1, 2, 3, 4, 5, 6]);
        foreach (var subset in Subsets(N, T - 1))
        {
            var partial = subset.Select(i => shares[i]).ToArray();
            // Interpolating t − 1 points gives a polynomial of lower degree whose value at 0 is unrelated to the secret.
            Assert.NotEqual(value, Shamir.Interpolate(partial));
            var e = Assert.Throws<ArgumentException>(() => Shamir.Reconstruct(partial, T, 32));
            Assert.Contains("3 share(s) given; the threshold is 4", e.Message);
        }
        // Claiming a lower threshold than the split's does not reveal it either: the result is not a 32-byte value.
        var wrong = Assert.Throws<ArgumentException>(() => Shamir.Reconstruct(shares[..3], 3, 32));
        Assert.Contains("inconsistent", wrong.Message);
    }

    [Fact]
    public void SplitsOfOneSecretUseFreshRandomness()
    {
        var secret = new byte[32];
        var a = Shamir.Split(secret, 3, [1, 2, 3]);
        var b = Shamir.Split(secret, 3, [1, 2, 3]);
        Assert.All(a.Zip(b), p => Assert.NotEqual(p.First.Y, p.Second.Y));
        Assert.Equal(secret, Shamir.Reconstruct(a, 3, 32));
        // A 64-byte secret (the largest) round-trips too, leading zero bytes included.
        var large = RandomNumberGenerator.GetBytes(64);
        large[0] = 0;
        Assert.Equal(large, Shamir.Reconstruct(Shamir.Split(large, 2, [9, 4]), 2, 64));
    }

    [Fact]
    public void BadInputsAreRefusedWithClearMessages()
    {
        var secret = RandomNumberGenerator.GetBytes(32);
        Assert.Contains("1..64", Assert.Throws<ArgumentException>(() => Shamir.Split([], 2, [1, 2])).Message);
        Assert.Contains("1..64", Assert.Throws<ArgumentException>(() => Shamir.Split(new byte[65], 2, [1, 2])).Message);
        Assert.Contains("threshold must be 1..2", Assert.Throws<ArgumentOutOfRangeException>(() => Shamir.Split(secret, 3, [1, 2])).Message);
        Assert.Contains("threshold must be 1..2", Assert.Throws<ArgumentOutOfRangeException>(() => Shamir.Split(secret, 0, [1, 2])).Message);
        Assert.Contains("point 0 is not positive", Assert.Throws<ArgumentException>(() => Shamir.Split(secret, 2, [0, 2])).Message);
        Assert.Contains("point 2 appears twice", Assert.Throws<ArgumentException>(() => Shamir.Split(secret, 2, [2, 2])).Message);

        var shares = Shamir.Split(secret, 2, [1, 2, 3]);
        Assert.Contains("point 1 appears twice",
            Assert.Throws<ArgumentException>(() => Shamir.Reconstruct([shares[0], shares[0]], 2, 32)).Message);
        Assert.Contains("has 10 bytes; a share has 66",
            Assert.Throws<ArgumentException>(() => Shamir.Reconstruct([shares[0], shares[1] with { Y = new byte[10] }], 2, 32)).Message);
        var tooLarge = Shamir.Encode(Shamir.Prime);
        Assert.Contains("not below the field's prime",
            Assert.Throws<ArgumentException>(() => Shamir.Reconstruct([shares[0], shares[1] with { Y = tooLarge }], 2, 32)).Message);
        Assert.Contains("point -1 is not positive",
            Assert.Throws<ArgumentException>(() => Shamir.Reconstruct([shares[0], shares[1] with { X = -1 }], 2, 32)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Shamir.Reconstruct(shares, 2, 65));
        Assert.Throws<ArgumentException>(() => Shamir.Interpolate([]));
        // A tampered share yields a wrong value (detected here because it no longer fits in 32 bytes).
        // (Lagrange weight of the point 3 at 0 with the point 1 is −1/2 mod p, so a one-unit change moves the result by ~2^520.)
        var tampered = (byte[])shares[2].Y.Clone();
        tampered[^1] ^= 1;
        Assert.Equal(secret, Shamir.Reconstruct([shares[0], shares[2]], 2, 32));
        Assert.Throws<ArgumentException>(() => Shamir.Reconstruct([shares[0], shares[2] with { Y = tampered }], 2, 32));
    }
}
