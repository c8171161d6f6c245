using NeuralCore.Federated;

namespace NeuralCore.Federated.Tests;

public class MaskingTests
{
    [Fact]
    public void PairMasksCancelExactly_AndTheSumDecodesWithinTheQuantizationStep()
    {
        const int Clients = 4, Length = 70_000, ScaleBits = 20;
        var rng = new Generator(9);
        var values = new float[Clients][];
        var keys = Enumerable.Range(0, Clients).Select(_ => Masking.NewKey()).ToArray();
        var masked = new uint[Clients][];
        for (int i = 0; i < Clients; i++)
        {
            values[i] = new float[Length];
            rng.FillNormal(values[i], 0, 0.5f);
            masked[i] = Masking.Encode(values[i], 0.25, ScaleBits, Clients);
            var plain = (uint[])masked[i].Clone();
            var pairs = Enumerable.Range(0, Clients).Where(j => j != i)
                .Select(j => (j, Masking.PairSeed(keys[i], keys[j].ExportSubjectPublicKeyInfo(), 7, i, j)));
            Masking.ApplyPairMasks(masked[i], i, pairs);
            // A masked vector looks nothing like its plain encoding.
            Assert.True(masked[i].Zip(plain).Count(p => p.First == p.Second) < Length / 1000);
        }
        var sum = new uint[Length + 1];
        foreach (var m in masked)
            for (int k = 0; k < sum.Length; k++) sum[k] = unchecked(sum[k] + m[k]);
        var decoded = Masking.Decode(sum, ScaleBits);
        double step = Math.Pow(2, -ScaleBits);
        for (int k = 0; k < Length; k++)
        {
            double exact = values.Sum(v => (double)v[k]);
            Assert.True(Math.Abs(decoded[k] - exact) <= Clients * step / 2 + 1e-12, $"index {k}: {decoded[k]} vs {exact}");
        }
        Assert.Equal(1.0, decoded[Length], 12);
    }

    [Fact]
    public void BothEndsAgreeOnThePairSeed_AndRoundsDiffer()
    {
        using var a = Masking.NewKey();
        using var b = Masking.NewKey();
        var ab = Masking.PairSeed(a, b.ExportSubjectPublicKeyInfo(), 3, 1, 2);
        Assert.Equal(ab, Masking.PairSeed(b, a.ExportSubjectPublicKeyInfo(), 3, 2, 1));
        Assert.NotEqual(ab, Masking.PairSeed(a, b.ExportSubjectPublicKeyInfo(), 4, 1, 2));
        Assert.Equal(32, ab.Length);
    }

    [Fact]
    public void RemovingADroppedPeersMaskRestoresTheSurvivorsSum()
    {
        var seed = new byte[32];
        seed[0] = 1;
        var survivor = Masking.Encode([1.5f, -2.25f], 1, 16, 2);
        var expected = (uint[])survivor.Clone();
        Masking.ApplyPairMasks(survivor, 5, [(8, seed)]);
        Masking.RemovePairMask(survivor, 5, 8, seed);
        Assert.Equal(expected, survivor);
        Assert.Equal([1.5, -2.25, 1], Masking.Decode(survivor, 16));
    }

    [Fact]
    public void OutOfRangeValuesAreRefused()
    {
        var e = Assert.Throws<OverflowException>(() => Masking.Encode([0f, 5000f], 1, 20, 2));
        Assert.Contains("index 1", e.Message);
        Assert.Throws<OverflowException>(() => Masking.Encode([float.NaN], 1, 20, 2));
    }
}
