using System.Runtime.CompilerServices;

namespace NeuralCore;

/// <summary>
/// A seeded, thread-safe, counter-based pseudo-random generator built on Philox4x32-10.
/// </summary>
/// <remarks>
/// <para>
/// The generator's only state is its <see cref="Seed"/> (the Philox key) and its <see cref="Offset"/>: the
/// index of the next unused 128-bit Philox block. Every draw atomically reserves a contiguous range of
/// blocks and then computes its values from (seed, block index) alone. Consequently a fill's output is
/// bit-identical whether it runs on one thread or many, and concurrent callers never share blocks.
/// </para>
/// <para>
/// Block consumption per call: float uniform/normal and Bernoulli use 4 elements per block (one 32-bit
/// word each; normals as two Box–Muller pairs); double uniform/normal and RandInt use 2 elements per block
/// (one 64-bit value each); every scalar draw (<see cref="NextUInt64"/>, <see cref="NextDouble"/>,
/// <see cref="NextInt"/>) uses one whole block; <see cref="Shuffle{T}(Span{T})"/> of n items uses
/// ceil((n - 1) / 2) blocks. A fill always starts on a fresh block.
/// </para>
/// <para>
/// <see cref="ManualSeed"/> is not ordered with respect to draws running concurrently on other threads;
/// reseed only while no other thread is drawing (as with PyTorch's generators).
/// </para>
/// </remarks>
public sealed class Generator
{
    /// <summary>Element counts at or above this run in parallel chunks; smaller fills run inline.</summary>
    /// <remarks>Internal and mutable so tests can force the inline path and compare bit-for-bit.</remarks>
    internal static int ParallelThreshold { get; set; } = 1 << 16;

    /// <summary>
    /// Elements per parallel work item. Fixed (never derived from the processor count) and a multiple of
    /// every elements-per-block value, so chunk boundaries always fall on block boundaries.
    /// </summary>
    internal const int ChunkSize = 1 << 14;

    private const float Float24 = 1.0f / (1 << 24);            // 2^-24
    private const double Double53 = 1.0 / (1L << 53);           // 2^-53
    private const double TwoPi = 2.0 * Math.PI;

    private long _seed;
    private ulong _offset;

    /// <summary>Creates a generator with the given seed and offset 0.</summary>
    /// <param name="seed">The seed; all 64 bits are used as the Philox key.</param>
    public Generator(long seed)
    {
        _seed = seed;
        _offset = 0;
    }

    /// <summary>Creates a generator positioned at <paramref name="offset"/>: the state a generator reports through
    /// <see cref="Seed"/> and <see cref="Offset"/>, so a saved generator resumes exactly where it stopped.</summary>
    /// <param name="seed">The seed; all 64 bits are used as the Philox key.</param>
    /// <param name="offset">The index of the next unused 128-bit block.</param>
    public Generator(long seed, ulong offset)
    {
        _seed = seed;
        _offset = offset;
    }

    /// <summary>The seed this generator was created or last reseeded with.</summary>
    public long Seed => Volatile.Read(ref _seed);

    /// <summary>The index of the next unused 128-bit Philox block (the counter position).</summary>
    public ulong Offset => Interlocked.Read(ref _offset);

    /// <summary>Reseeds the generator and resets <see cref="Offset"/> to 0.</summary>
    /// <param name="seed">The new seed.</param>
    public void ManualSeed(long seed)
    {
        Volatile.Write(ref _seed, seed);
        Interlocked.Exchange(ref _offset, 0UL);
    }

    // ------------------------------------------------------------------ scalars

    /// <summary>Returns a uniformly distributed 64-bit value (consumes one block).</summary>
    /// <returns>A value uniform over all of <see cref="ulong"/>.</returns>
    public ulong NextUInt64()
    {
        ulong block = Reserve(1, out ulong seed);
        Philox.Block(seed, block, out uint r0, out uint r1, out _, out _);
        return Combine(r0, r1);
    }

    /// <summary>Returns a double uniform in [0, 1) with 53 random bits (consumes one block).</summary>
    /// <returns>A value in [0, 1).</returns>
    public double NextDouble() => ToUnitDouble(NextUInt64());

    /// <summary>Returns an integer uniform in [0, <paramref name="maxExclusive"/>) (consumes one block).</summary>
    /// <param name="maxExclusive">Exclusive upper bound; must be positive.</param>
    /// <returns>A value in [0, <paramref name="maxExclusive"/>).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxExclusive"/> is not positive.</exception>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        return (int)MulHigh(NextUInt64(), (ulong)maxExclusive);
    }

    /// <summary>Shuffles <paramref name="items"/> in place with a Fisher–Yates shuffle.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="items">The items to permute.</param>
    public void Shuffle<T>(Span<T> items)
    {
        int n = items.Length;
        if (n < 2) return;
        // One 64-bit draw per swap step (n - 1 steps), two per block, reserved up front so the whole
        // shuffle is one atomic reservation rather than n - 1 separate ones.
        int steps = n - 1;
        ulong start = Reserve((ulong)((steps + 1) / 2), out ulong seed);
        uint r0 = 0, r1 = 0, r2 = 0, r3 = 0;
        for (int s = 0; s < steps; s++)
        {
            if ((s & 1) == 0) Philox.Block(seed, start + (ulong)(s >> 1), out r0, out r1, out r2, out r3);
            ulong x = (s & 1) == 0 ? Combine(r0, r1) : Combine(r2, r3);
            int i = n - 1 - s;
            int j = (int)MulHigh(x, (ulong)(i + 1));
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>Returns a uniformly random permutation of 0 .. <paramref name="n"/> - 1.</summary>
    /// <param name="n">The permutation length; must be non-negative.</param>
    /// <returns>A new array holding each of 0 .. n - 1 exactly once.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is negative.</exception>
    public int[] Permutation(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var result = new int[n];
        for (int i = 0; i < n; i++) result[i] = i;
        Shuffle<int>(result);
        return result;
    }

    // ------------------------------------------------------------------ bulk fills

    /// <summary>Fills <paramref name="dst"/> with values uniform in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    /// <param name="dst">The destination.</param>
    /// <param name="low">Inclusive lower bound.</param>
    /// <param name="high">Exclusive upper bound (returned only when equal to <paramref name="low"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">The bounds are not finite or <paramref name="low"/> &gt; <paramref name="high"/>.</exception>
    public unsafe void FillUniform(Span<float> dst, float low = 0, float high = 1)
    {
        CheckRange(low, high);
        fixed (float* p = dst) Fill(p, dst.Length, new UniformF(low, high));
    }

    /// <summary>Fills <paramref name="dst"/> with values uniform in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    /// <param name="dst">The destination.</param>
    /// <param name="low">Inclusive lower bound.</param>
    /// <param name="high">Exclusive upper bound (returned only when equal to <paramref name="low"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">The bounds are not finite or <paramref name="low"/> &gt; <paramref name="high"/>.</exception>
    public unsafe void FillUniform(Span<double> dst, double low = 0, double high = 1)
    {
        CheckRange(low, high);
        fixed (double* p = dst) Fill(p, dst.Length, new UniformD(low, high));
    }

    /// <summary>Fills <paramref name="dst"/> with normal samples (Box–Muller).</summary>
    /// <param name="dst">The destination.</param>
    /// <param name="mean">The distribution mean.</param>
    /// <param name="std">The standard deviation; must be non-negative.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="std"/> is negative or NaN.</exception>
    public unsafe void FillNormal(Span<float> dst, float mean = 0, float std = 1)
    {
        if (!(std >= 0)) throw new ArgumentOutOfRangeException(nameof(std), std, "Standard deviation must be non-negative.");
        fixed (float* p = dst) Fill(p, dst.Length, new NormalF(mean, std));
    }

    /// <summary>Fills <paramref name="dst"/> with normal samples (Box–Muller).</summary>
    /// <param name="dst">The destination.</param>
    /// <param name="mean">The distribution mean.</param>
    /// <param name="std">The standard deviation; must be non-negative.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="std"/> is negative or NaN.</exception>
    public unsafe void FillNormal(Span<double> dst, double mean = 0, double std = 1)
    {
        if (!(std >= 0)) throw new ArgumentOutOfRangeException(nameof(std), std, "Standard deviation must be non-negative.");
        fixed (double* p = dst) Fill(p, dst.Length, new NormalD(mean, std));
    }

    /// <summary>Fills <paramref name="dst"/> with 1 with probability <paramref name="p"/> and 0 otherwise.</summary>
    /// <param name="dst">The destination.</param>
    /// <param name="p">The probability of 1, in [0, 1]; resolved to a multiple of 2^-32.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1] or NaN.</exception>
    public unsafe void FillBernoulli(Span<byte> dst, double p)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "Probability must be in [0, 1].");
        // Compare 32-bit words against floor(p * 2^32); p == 1 gives 2^32, which every word is below.
        ulong threshold = p >= 1 ? 1UL << 32 : (ulong)(p * 4294967296.0);
        fixed (byte* q = dst) Fill(q, dst.Length, new BernoulliK(threshold));
    }

    /// <summary>Fills <paramref name="dst"/> with integers uniform in [<paramref name="low"/>, <paramref name="highExclusive"/>).</summary>
    /// <param name="dst">The destination.</param>
    /// <param name="low">Inclusive lower bound.</param>
    /// <param name="highExclusive">Exclusive upper bound; must exceed <paramref name="low"/>.</param>
    /// <remarks>
    /// Uses Lemire's multiply-shift on a 64-bit draw without rejection (rejection would make the number of
    /// words per element data-dependent and break the fixed counter layout). The bias is at most
    /// range / 2^64 per value, below 2^-32 for any range under 2^32.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="highExclusive"/> is not greater than <paramref name="low"/>.</exception>
    public unsafe void FillRandInt(Span<long> dst, long low, long highExclusive)
    {
        if (highExclusive <= low)
            throw new ArgumentOutOfRangeException(nameof(highExclusive), highExclusive, "Upper bound must exceed the lower bound.");
        ulong range = unchecked((ulong)(highExclusive - low)); // exact even when the long subtraction overflows
        fixed (long* p = dst) Fill(p, dst.Length, new RandIntK(low, range));
    }

    // ------------------------------------------------------------------ machinery

    /// <summary>Atomically reserves <paramref name="blocks"/> consecutive blocks; returns the first.</summary>
    internal ulong Reserve(ulong blocks, out ulong seed)
    {
        seed = (ulong)Volatile.Read(ref _seed);
        return Interlocked.Add(ref _offset, blocks) - blocks;
    }

    /// <summary>
    /// Reserves the blocks for <paramref name="n"/> elements and generates them into <paramref name="dst"/>,
    /// inline or in fixed-size parallel chunks. Element i always comes from block start + i / PerBlock,
    /// lane i % PerBlock, so the partitioning cannot affect the values.
    /// </summary>
    internal unsafe void Fill<T, TKernel>(T* dst, int n, TKernel kernel)
        where T : unmanaged
        where TKernel : struct, IBlockKernel<T>
    {
        if (n <= 0) return;
        int per = TKernel.PerBlock;
        ulong start = Reserve((ulong)(((long)n + per - 1) / per), out ulong seed);
        if (n < ParallelThreshold)
        {
            Run(kernel, seed, start, dst, 0, n);
            return;
        }
        // Pointers cannot be captured by a lambda's closure as T*, so carry the address as nint; the
        // caller's `fixed` keeps the buffer pinned because Parallel.For returns only when all chunks finish.
        nint address = (nint)dst;
        int chunks = (int)(((long)n + ChunkSize - 1) / ChunkSize);
        Parallel.For(0, chunks, c =>
        {
            int begin = c * ChunkSize;
            int end = (int)Math.Min((long)begin + ChunkSize, n);
            Run(kernel, seed, start, (T*)address, begin, end);
        });
    }

    /// <summary>Generates elements [begin, end) of a fill whose first block is <paramref name="start"/>.</summary>
    private static unsafe void Run<T, TKernel>(TKernel kernel, ulong seed, ulong start, T* dst, int begin, int end)
        where T : unmanaged
        where TKernel : struct, IBlockKernel<T>
    {
        int per = TKernel.PerBlock;
        // begin is 0 or a multiple of ChunkSize, hence of per: the range starts on a block boundary.
        ulong block = start + (ulong)(begin / per);
        int i = begin;
        for (; i + per <= end; i += per, block++)
        {
            Philox.Block(seed, block, out uint r0, out uint r1, out uint r2, out uint r3);
            kernel.Map(r0, r1, r2, r3, dst + i);
        }
        if (i < end)
        {
            // Partial last block: generate the whole block into scratch and copy the needed lanes, so the
            // tail values are exactly what a longer fill would have put there.
            T* tmp = stackalloc T[4];
            Philox.Block(seed, block, out uint r0, out uint r1, out uint r2, out uint r3);
            kernel.Map(r0, r1, r2, r3, tmp);
            for (int j = 0; i + j < end; j++) dst[i + j] = tmp[j];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Combine(uint lo, uint hi) => ((ulong)hi << 32) | lo;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong MulHigh(ulong a, ulong b) => Math.BigMul(a, b, out _);

    /// <summary>Top 53 bits scaled by 2^-53: every value is an exact double in [0, 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static double ToUnitDouble(ulong x) => (x >> 11) * Double53;

    /// <summary>Top 24 bits scaled by 2^-24: every value is an exact float in [0, 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float ToUnitFloat(uint w) => (w >> 8) * Float24;

    private static void CheckRange(double low, double high)
    {
        if (!double.IsFinite(low)) throw new ArgumentOutOfRangeException(nameof(low), low, "Bound must be finite.");
        if (!double.IsFinite(high)) throw new ArgumentOutOfRangeException(nameof(high), high, "Bound must be finite.");
        if (low > high) throw new ArgumentOutOfRangeException(nameof(low), low, "Lower bound must not exceed the upper bound.");
    }

    /// <summary>Maps one Philox block (four 32-bit words) to <see cref="PerBlock"/> output elements.</summary>
    internal unsafe interface IBlockKernel<T> where T : unmanaged
    {
        /// <summary>Elements produced per block (1, 2 or 4).</summary>
        static abstract int PerBlock { get; }

        /// <summary>Writes <see cref="PerBlock"/> elements derived from the block to <paramref name="dst"/>.</summary>
        void Map(uint r0, uint r1, uint r2, uint r3, T* dst);
    }

    private readonly unsafe struct UniformF(float low, float high) : IBlockKernel<float>
    {
        private readonly float _scale = high - low;

        public static int PerBlock => 4;

        public void Map(uint r0, uint r1, uint r2, uint r3, float* dst)
        {
            dst[0] = Scale(ToUnitFloat(r0));
            dst[1] = Scale(ToUnitFloat(r1));
            dst[2] = Scale(ToUnitFloat(r2));
            dst[3] = Scale(ToUnitFloat(r3));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private float Scale(float u)
        {
            float v = low + u * _scale;
            // low + u*(high-low) can round up to high even though u < 1; keep the interval half-open.
            return v < high ? v : (low < high ? float.BitDecrement(high) : low);
        }
    }

    private readonly unsafe struct UniformD(double low, double high) : IBlockKernel<double>
    {
        private readonly double _scale = high - low;

        public static int PerBlock => 2;

        public void Map(uint r0, uint r1, uint r2, uint r3, double* dst)
        {
            dst[0] = Scale(ToUnitDouble(Combine(r0, r1)));
            dst[1] = Scale(ToUnitDouble(Combine(r2, r3)));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private double Scale(double u)
        {
            double v = low + u * _scale;
            return v < high ? v : (low < high ? double.BitDecrement(high) : low);
        }
    }

    private readonly unsafe struct NormalF(float mean, float std) : IBlockKernel<float>
    {
        public static int PerBlock => 4;

        public void Map(uint r0, uint r1, uint r2, uint r3, float* dst)
        {
            Pair(r0, r1, dst);
            Pair(r2, r3, dst + 2);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Pair(uint a, uint b, float* dst)
        {
            // u1 in (0, 1] so the log is finite (largest |z| is sqrt(48 ln 2) ~ 5.77); u2 in [0, 1).
            float u1 = ((a >> 8) + 1) * Float24;
            float u2 = ToUnitFloat(b);
            float r = MathF.Sqrt(-2f * MathF.Log(u1));
            (float s, float c) = MathF.SinCos((float)TwoPi * u2);
            dst[0] = mean + std * (r * c);
            dst[1] = mean + std * (r * s);
        }
    }

    private readonly unsafe struct NormalD(double mean, double std) : IBlockKernel<double>
    {
        public static int PerBlock => 2;

        public void Map(uint r0, uint r1, uint r2, uint r3, double* dst)
        {
            // u1 in (0, 1] from 53 bits (largest |z| ~ 8.57); u2 in [0, 1).
            double u1 = ((Combine(r0, r1) >> 11) + 1) * Double53;
            double u2 = ToUnitDouble(Combine(r2, r3));
            double r = Math.Sqrt(-2.0 * Math.Log(u1));
            (double s, double c) = Math.SinCos(TwoPi * u2);
            dst[0] = mean + std * (r * c);
            dst[1] = mean + std * (r * s);
        }
    }

    private readonly unsafe struct BernoulliK(ulong threshold) : IBlockKernel<byte>
    {
        public static int PerBlock => 4;

        public void Map(uint r0, uint r1, uint r2, uint r3, byte* dst)
        {
            dst[0] = r0 < threshold ? (byte)1 : (byte)0;
            dst[1] = r1 < threshold ? (byte)1 : (byte)0;
            dst[2] = r2 < threshold ? (byte)1 : (byte)0;
            dst[3] = r3 < threshold ? (byte)1 : (byte)0;
        }
    }

    private readonly unsafe struct RandIntK(long low, ulong range) : IBlockKernel<long>
    {
        public static int PerBlock => 2;

        public void Map(uint r0, uint r1, uint r2, uint r3, long* dst)
        {
            dst[0] = unchecked(low + (long)MulHigh(Combine(r0, r1), range));
            dst[1] = unchecked(low + (long)MulHigh(Combine(r2, r3), range));
        }
    }
}
