namespace NeuralCore.Tests.Randomness;

// Statistical tests use fixed seeds, so they are deterministic; the bounds are still principled
// (5 standard errors, or a chi-square quantile far in the tail) so that a correct generator would pass
// for essentially any seed, and a biased one fails.
public class GeneratorTests
{
    private const int N = 1_000_000;

    // ------------------------------------------------------------------ Philox known answers

    // Known-answer vectors for philox4x32-10 from Random123's kat_vectors file.
    [Theory]
    [InlineData(0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u,
        0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [InlineData(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
        0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [InlineData(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u,
        0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void Philox_MatchesRandom123KnownAnswers(
        uint c0, uint c1, uint c2, uint c3, uint k0, uint k1,
        uint e0, uint e1, uint e2, uint e3)
    {
        Philox.Compute(k0, k1, c0, c1, c2, c3, out uint r0, out uint r1, out uint r2, out uint r3);
        Assert.Equal(new[] { e0, e1, e2, e3 }, new[] { r0, r1, r2, r3 });

        Span<uint> output = stackalloc uint[4];
        Philox.Compute([k0, k1], [c0, c1, c2, c3], output);
        Assert.Equal(new[] { e0, e1, e2, e3 }, output.ToArray());
    }

    // ------------------------------------------------------------------ reproducibility

    [Fact]
    public void SameSeed_GivesIdenticalSequences()
    {
        var a = new Generator(42);
        var b = new Generator(42);
        for (int i = 0; i < 100; i++) Assert.Equal(a.NextUInt64(), b.NextUInt64());

        var fa = new float[1000];
        var fb = new float[1000];
        a.FillNormal(fa);
        b.FillNormal(fb);
        Assert.Equal(fa, fb);
        Assert.Equal(a.Offset, b.Offset);
    }

    [Fact]
    public void DifferentSeeds_Differ()
    {
        var a = new Generator(1);
        var b = new Generator(2);
        var fa = new double[1000];
        var fb = new double[1000];
        a.FillUniform(fa);
        b.FillUniform(fb);
        int equal = 0;
        for (int i = 0; i < fa.Length; i++) if (fa[i] == fb[i]) equal++;
        Assert.Equal(0, equal);

        // The high seed word is part of the key too.
        Assert.NotEqual(new Generator(1L).NextUInt64(), new Generator(1L | (1L << 40)).NextUInt64());
    }

    [Fact]
    public void ManualSeed_ResetsSeedAndOffset()
    {
        var g = new Generator(7);
        ulong first = g.NextUInt64();
        var buf = new float[10];
        g.FillUniform(buf);
        Assert.NotEqual(0UL, g.Offset);

        g.ManualSeed(7);
        Assert.Equal(0UL, g.Offset);
        Assert.Equal(7L, g.Seed);
        Assert.Equal(first, g.NextUInt64());

        g.ManualSeed(8);
        Assert.Equal(8L, g.Seed);
        Assert.Equal(new Generator(8).NextUInt64(), g.NextUInt64());
    }

    [Fact]
    public void Offset_AdvancesByDocumentedBlockCounts()
    {
        var g = new Generator(3);
        g.NextUInt64();
        Assert.Equal(1UL, g.Offset);
        g.FillUniform(new float[9]);           // 4 per block -> 3
        Assert.Equal(4UL, g.Offset);
        g.FillUniform(new double[5]);          // 2 per block -> 3
        Assert.Equal(7UL, g.Offset);
        g.FillNormal(new float[4]);            // 1
        Assert.Equal(8UL, g.Offset);
        g.FillRandInt(new long[3], 0, 10);     // 2
        Assert.Equal(10UL, g.Offset);
        g.FillBernoulli(new byte[1], 0.5);     // 1
        Assert.Equal(11UL, g.Offset);
        g.Shuffle<int>(new int[6]);            // 5 steps -> 3
        Assert.Equal(14UL, g.Offset);
        g.FillUniform(Span<float>.Empty);      // nothing
        Assert.Equal(14UL, g.Offset);
    }

    [Fact]
    public void FillValues_DependOnlyOnSeedOffsetAndIndex()
    {
        const long seed = 0x1234_5678_9ABCL;
        var g = new Generator(seed);
        g.NextUInt64(); // start the fill at block 1
        var f = new float[11];
        g.FillUniform(f);
        for (int i = 0; i < f.Length; i++)
        {
            Philox.Block((ulong)seed, 1UL + (ulong)(i / 4), out uint r0, out uint r1, out uint r2, out uint r3);
            uint w = (i % 4) switch { 0 => r0, 1 => r1, 2 => r2, _ => r3 };
            Assert.Equal((w >> 8) / 16777216f, f[i]);
        }

        var d = new double[5];
        g.FillUniform(d); // starts at block 1 + 3 = 4
        for (int i = 0; i < d.Length; i++)
        {
            Philox.Block((ulong)seed, 4UL + (ulong)(i / 2), out uint r0, out uint r1, out uint r2, out uint r3);
            ulong x = i % 2 == 0 ? ((ulong)r1 << 32) | r0 : ((ulong)r3 << 32) | r2;
            Assert.Equal((x >> 11) / 9007199254740992.0, d[i]);
        }
    }

    [Fact]
    public void PrefixOfLongerFill_MatchesShorterFill()
    {
        // Partial tail blocks must hold exactly what a longer fill would put there.
        foreach (int n in new[] { 1, 2, 3, 5, 7 })
        {
            var shortF = new float[n];
            var longF = new float[n + 9];
            new Generator(5).FillNormal(shortF);
            new Generator(5).FillNormal(longF);
            Assert.Equal(shortF, longF.AsSpan(0, n).ToArray());

            var shortL = new long[n];
            var longL = new long[n + 9];
            new Generator(5).FillRandInt(shortL, -3, 1000);
            new Generator(5).FillRandInt(longL, -3, 1000);
            Assert.Equal(shortL, longL.AsSpan(0, n).ToArray());
        }
    }

    // ------------------------------------------------------------------ parallel determinism

    private static T[] ViaInline<T>(Func<T[]> produce)
    {
        int saved = Generator.ParallelThreshold;
        Generator.ParallelThreshold = int.MaxValue;
        try { return produce(); }
        finally { Generator.ParallelThreshold = saved; }
    }

    private static T[] ViaParallel<T>(Func<T[]> produce)
    {
        int saved = Generator.ParallelThreshold;
        Generator.ParallelThreshold = 1; // every non-empty fill takes the chunked Parallel.For path
        try { return produce(); }
        finally { Generator.ParallelThreshold = saved; }
    }

    // Not a multiple of the chunk size or of the elements-per-block, so the last chunk and block are partial.
    private const int BigN = 5 * Generator.ChunkSize + 3;

    [Fact]
    public void Fills_AreBitIdentical_ParallelVersusInline()
    {
        // ParallelThreshold is static, so another test may change it concurrently; that is harmless because
        // the whole point is that the path never affects the values.
        AssertSame(() => { var a = new float[BigN]; new Generator(11).FillUniform(a, -2, 3); return a; });
        AssertSame(() => { var a = new double[BigN]; new Generator(11).FillUniform(a, -2, 3); return a; });
        AssertSame(() => { var a = new float[BigN]; new Generator(11).FillNormal(a, 1, 2); return a; });
        AssertSame(() => { var a = new double[BigN]; new Generator(11).FillNormal(a, 1, 2); return a; });
        AssertSame(() => { var a = new byte[BigN]; new Generator(11).FillBernoulli(a, 0.25); return a; });
        AssertSame(() => { var a = new long[BigN]; new Generator(11).FillRandInt(a, -50, 77); return a; });

        static void AssertSame<T>(Func<T[]> produce)
        {
            T[] inline = ViaInline(produce);
            T[] parallel = ViaParallel(produce);
            Assert.Equal(inline.Length, parallel.Length);
            Assert.True(inline.AsSpan().SequenceEqual(parallel), $"{typeof(T).Name} fill differs between paths");
        }
    }

    [Fact]
    public void ConcurrentScalarDraws_ReserveDisjointBlocks()
    {
        const int threads = 8, perThread = 2000;
        var g = new Generator(99);
        var results = new ulong[threads][];
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int id = t;
            workers[t] = new Thread(() =>
            {
                var mine = new ulong[perThread];
                for (int i = 0; i < perThread; i++) mine[i] = g.NextUInt64();
                results[id] = mine;
            });
            workers[t].Start();
        }
        foreach (var w in workers) w.Join();

        Assert.Equal((ulong)(threads * perThread), g.Offset);
        // Together the threads consumed exactly blocks 0 .. threads*perThread - 1, each once.
        var expected = new ulong[threads * perThread];
        var reference = new Generator(99);
        for (int i = 0; i < expected.Length; i++) expected[i] = reference.NextUInt64();
        var actual = results.SelectMany(r => r).ToArray();
        Array.Sort(expected);
        Array.Sort(actual);
        Assert.Equal(expected, actual);
    }

    // ------------------------------------------------------------------ distributions

    [Fact]
    public void UniformFloat_MeanVarianceAndRange()
    {
        var a = new float[N];
        new Generator(2024).FillUniform(a);
        double mean = 0, m2 = 0;
        foreach (float v in a)
        {
            Assert.InRange(v, 0f, 1f);
            Assert.True(v < 1f);
            mean += v;
        }
        mean /= N;
        foreach (float v in a) m2 += (v - mean) * (v - mean);
        double variance = m2 / (N - 1);

        // Var(U) = 1/12; Var of the sample variance ~ (mu4 - sigma^4)/n = (1/80 - 1/144)/n = (1/180)/n.
        Assert.InRange(mean, 0.5 - 5 * Math.Sqrt(1.0 / 12 / N), 0.5 + 5 * Math.Sqrt(1.0 / 12 / N));
        Assert.InRange(variance, 1.0 / 12 - 5 * Math.Sqrt(1.0 / 180 / N), 1.0 / 12 + 5 * Math.Sqrt(1.0 / 180 / N));
    }

    [Fact]
    public void UniformDouble_MeanAndScaledRange()
    {
        var a = new double[N];
        new Generator(2025).FillUniform(a, -3, 5);
        double mean = 0;
        foreach (double v in a)
        {
            Assert.True(v >= -3 && v < 5, $"{v} outside [-3, 5)");
            mean += v;
        }
        mean /= N;
        // Uniform(-3, 5): mean 1, sd 8/sqrt(12).
        double se = 8 / Math.Sqrt(12.0 * N);
        Assert.InRange(mean, 1 - 5 * se, 1 + 5 * se);
    }

    [Fact]
    public void Uniform_UpperBoundIsExclusive_EvenWhenRoundingWouldHitIt()
    {
        // With a tiny interval just below a large value, low + u*(high-low) rounds to high for many u.
        var f = new float[4096];
        new Generator(1).FillUniform(f, 1f, float.BitIncrement(1f));
        Assert.All(f, v => Assert.Equal(1f, v));

        var d = new double[4096];
        new Generator(1).FillUniform(d, 1e15, 1e15 + 0.25);
        Assert.All(d, v => Assert.True(v >= 1e15 && v < 1e15 + 0.25));

        var same = new float[8];
        new Generator(1).FillUniform(same, 2f, 2f);
        Assert.All(same, v => Assert.Equal(2f, v));
    }

    [Fact]
    public void NormalFloat_MeanAndStd()
    {
        var a = new float[N];
        new Generator(31337).FillNormal(a, 2f, 3f);
        AssertNormal(a.Select(v => (double)v).ToArray(), 2, 3);
        Assert.All(a, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void NormalDouble_MeanAndStd()
    {
        var a = new double[N];
        new Generator(4242).FillNormal(a);
        AssertNormal(a, 0, 1);
        Assert.All(a, v => Assert.True(double.IsFinite(v)));
    }

    private static void AssertNormal(double[] a, double mu, double sigma)
    {
        double mean = a.Average();
        double m2 = 0, m4 = 0;
        foreach (double v in a)
        {
            double d = (v - mean) * (v - mean);
            m2 += d;
            m4 += d * d;
        }
        double variance = m2 / (a.Length - 1);
        // Standard errors: mean sigma/sqrt(n); sample variance sigma^2*sqrt(2/n) for a normal.
        Assert.InRange(mean, mu - 5 * sigma / Math.Sqrt(a.Length), mu + 5 * sigma / Math.Sqrt(a.Length));
        double s2 = sigma * sigma, varSe = s2 * Math.Sqrt(2.0 / a.Length);
        Assert.InRange(variance, s2 - 5 * varSe, s2 + 5 * varSe);
        // Kurtosis 3 (catches e.g. a uniform with the right variance); SE of sample kurtosis ~ sqrt(24/n).
        double kurtosis = m4 / a.Length / (variance * variance);
        Assert.InRange(kurtosis, 3 - 5 * Math.Sqrt(24.0 / a.Length), 3 + 5 * Math.Sqrt(24.0 / a.Length));
    }

    [Theory]
    [InlineData(0.3)]
    [InlineData(0.01)]
    public void Bernoulli_Frequency(double p)
    {
        var a = new byte[N];
        new Generator(77).FillBernoulli(a, p);
        int ones = 0;
        foreach (byte b in a)
        {
            Assert.True(b <= 1);
            ones += b;
        }
        double freq = (double)ones / N;
        double se = Math.Sqrt(p * (1 - p) / N);
        Assert.InRange(freq, p - 5 * se, p + 5 * se);
    }

    [Fact]
    public void Bernoulli_ExtremeProbabilities()
    {
        var a = new byte[10_000];
        new Generator(5).FillBernoulli(a, 0);
        Assert.All(a, b => Assert.Equal(0, b));
        new Generator(5).FillBernoulli(a, 1);
        Assert.All(a, b => Assert.Equal(1, b));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Generator(5).FillBernoulli(a, 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Generator(5).FillBernoulli(a, double.NaN));
    }

    [Fact]
    public void RandInt_RangeAndChiSquareUniformity()
    {
        const long low = -40, high = 60; // k = 100 bins
        const int k = (int)(high - low);
        var a = new long[N];
        new Generator(555).FillRandInt(a, low, high);
        var counts = new long[k];
        foreach (long v in a)
        {
            Assert.InRange(v, low, high - 1);
            counts[v - low]++;
        }
        double expected = (double)N / k, chi2 = 0;
        foreach (long c in counts) chi2 += (c - expected) * (c - expected) / expected;
        // chi-square with df = 99: mean 99, sd sqrt(198) ~ 14.1. The bound mean + 6 sd (~183.4) is beyond the
        // 0.9999 quantile (~148); a healthy generator essentially never reaches it, a visibly biased one does.
        int df = k - 1;
        Assert.InRange(chi2, 0, df + 6 * Math.Sqrt(2.0 * df));
        // And not suspiciously uniform (a counter-like output would give chi2 ~ 0): 0.0001 quantile is ~ 55.
        Assert.True(chi2 > df - 6 * Math.Sqrt(2.0 * df), $"chi2 = {chi2} is implausibly small");
    }

    [Fact]
    public void RandInt_FullAndExtremeRanges()
    {
        var a = new long[1000];
        new Generator(9).FillRandInt(a, long.MinValue, long.MaxValue);
        Assert.Contains(a, v => v < 0);
        Assert.Contains(a, v => v > 0);

        new Generator(9).FillRandInt(a, 5, 6);
        Assert.All(a, v => Assert.Equal(5L, v));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Generator(9).FillRandInt(a, 3, 3));
    }

    // ------------------------------------------------------------------ scalars

    [Fact]
    public void Scalars_RespectRanges()
    {
        var g = new Generator(8);
        for (int i = 0; i < 10_000; i++)
        {
            double d = g.NextDouble();
            Assert.True(d >= 0 && d < 1);
            Assert.InRange(g.NextInt(7), 0, 6);
        }
        Assert.Equal(0, g.NextInt(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => g.NextInt(0));
    }

    [Fact]
    public void Shuffle_IsAPermutation_AndDeterministic()
    {
        var items = Enumerable.Range(0, 1000).ToArray();
        new Generator(12).Shuffle<int>(items);
        Assert.Equal(Enumerable.Range(0, 1000), items.Order());
        Assert.NotEqual(Enumerable.Range(0, 1000), items);

        var again = Enumerable.Range(0, 1000).ToArray();
        new Generator(12).Shuffle<int>(again);
        Assert.Equal(items, again);

        Assert.Equal(items, new Generator(12).Permutation(1000));
        Assert.Empty(new Generator(12).Permutation(0));
        Assert.Equal(new[] { 0 }, new Generator(12).Permutation(1));
    }

    [Fact]
    public void Shuffle_IsRoughlyUniformOverPermutationsOfThree()
    {
        // 6 permutations of 3 items: chi-square with df = 5, bound mean + 6 sd = 5 + 6*sqrt(10) ~ 24.
        var g = new Generator(321);
        var counts = new Dictionary<int, int>();
        const int trials = 60_000;
        Span<int> p = stackalloc int[3];
        for (int t = 0; t < trials; t++)
        {
            p[0] = 0; p[1] = 1; p[2] = 2;
            g.Shuffle(p);
            int code = p[0] * 9 + p[1] * 3 + p[2];
            counts[code] = counts.GetValueOrDefault(code) + 1;
        }
        Assert.Equal(6, counts.Count);
        double expected = trials / 6.0;
        double chi2 = counts.Values.Sum(c => (c - expected) * (c - expected) / expected);
        Assert.InRange(chi2, 0, 5 + 6 * Math.Sqrt(10.0));
    }
}

/// <summary>
/// The shared default generator. Many tests draw from it (layer initialisation, Randn without a generator), so this
/// test runs in the collection that runs alone: no other test can advance the generator between its two draws.
/// </summary>
[Collection(NeuralCore.Tests.Training.ProcessStateCollection.Name)]
public class DefaultGeneratorTests
{
    [Fact]
    public void Rng_DefaultIsReseedable()
    {
        Generator g = Rng.Default;
        Rng.ManualSeed(1234);
        Assert.Same(g, Rng.Default);
        Assert.Equal(1234L, Rng.InitialSeed);
        Assert.Equal(0UL, Rng.Default.Offset);
        ulong first = Rng.Default.NextUInt64();
        Rng.ManualSeed(1234);
        Assert.Equal(first, Rng.Default.NextUInt64());
        Assert.Equal(new Generator(1234).NextUInt64(), first);

        Rng.ManualSeed(Rng.DefaultSeed);
        Assert.Equal(Rng.DefaultSeed, Rng.InitialSeed);
    }
}
