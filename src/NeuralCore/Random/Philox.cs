using System.Runtime.CompilerServices;

// Deliberately in the root namespace: a `NeuralCore.Random` namespace would shadow System.Random
// for every file under `namespace NeuralCore...`.
namespace NeuralCore;

/// <summary>
/// The Philox4x32-10 counter-based block function of Salmon, Moraes, Dror and Shaw,
/// "Parallel random numbers: as easy as 1, 2, 3" (SC'11), as distributed in Random123.
/// </summary>
/// <remarks>
/// A counter-based generator is a pure function of (key, counter): there is no hidden state, so any
/// element of a stream can be computed independently. That is what lets <see cref="Generator"/> fill
/// buffers in parallel while producing bit-identical output for any thread count.
/// The implementation is verified against the Random123 known-answer vectors (see the tests).
/// </remarks>
internal static class Philox
{
    /// <summary>Round multiplier applied to counter word 0.</summary>
    internal const uint M0 = 0xD2511F53;

    /// <summary>Round multiplier applied to counter word 2.</summary>
    internal const uint M1 = 0xCD9E8D57;

    /// <summary>Weyl increment for key word 0 (golden ratio).</summary>
    internal const uint W0 = 0x9E3779B9;

    /// <summary>Weyl increment for key word 1 (sqrt(3) - 1).</summary>
    internal const uint W1 = 0xBB67AE85;

    /// <summary>Number of rounds; 10 is the published, Crush-resistant-with-margin choice.</summary>
    internal const int Rounds = 10;

    /// <summary>
    /// Computes Philox4x32-10 of the 128-bit counter (<paramref name="c0"/>..<paramref name="c3"/>) under the
    /// 64-bit key (<paramref name="k0"/>, <paramref name="k1"/>), returning four 32-bit output words.
    /// </summary>
    /// <param name="k0">Key word 0.</param>
    /// <param name="k1">Key word 1.</param>
    /// <param name="c0">Counter word 0.</param>
    /// <param name="c1">Counter word 1.</param>
    /// <param name="c2">Counter word 2.</param>
    /// <param name="c3">Counter word 3.</param>
    /// <param name="r0">Output word 0.</param>
    /// <param name="r1">Output word 1.</param>
    /// <param name="r2">Output word 2.</param>
    /// <param name="r3">Output word 3.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Compute(
        uint k0, uint k1,
        uint c0, uint c1, uint c2, uint c3,
        out uint r0, out uint r1, out uint r2, out uint r3)
    {
        // Manually unrolled: the round body is tiny, and unrolling lets the JIT keep all six words in
        // registers. The first round uses the caller's key; the key is bumped *between* rounds (9 bumps).
        Round(ref c0, ref c1, ref c2, ref c3, k0, k1); k0 += W0; k1 += W1;
        Round(ref c0, ref c1, ref c2, ref c3, k0, k1); k0 += W0; k1 += W1;
        Round(ref c0, ref c1, ref c2, ref c3, k0, k1); k0 += W0; k1 += W1;
        Round(ref c0, ref c1, ref c2, ref c3, k0, k1); k0 += W0; k1 += W1;
        Round(ref c0, ref c1, ref c2, ref c3, k0, k1); k0 += W0; k1 += W1;
        Round(ref c0, ref c1, ref c2, ref c3, k0, k1); k0 += W0; k1 += W1;
        Round(ref c0, ref c1, ref c2, ref c3, k0, k1); k0 += W0; k1 += W1;
        Round(ref c0, ref c1, ref c2, ref c3, k0, k1); k0 += W0; k1 += W1;
        Round(ref c0, ref c1, ref c2, ref c3, k0, k1); k0 += W0; k1 += W1;
        Round(ref c0, ref c1, ref c2, ref c3, k0, k1);
        r0 = c0;
        r1 = c1;
        r2 = c2;
        r3 = c3;
    }

    /// <summary>
    /// Convenience form of <see cref="Compute(uint, uint, uint, uint, uint, uint, out uint, out uint, out uint, out uint)"/>
    /// over spans: <paramref name="key"/> has 2 words, <paramref name="counter"/> and <paramref name="output"/> have 4.
    /// </summary>
    /// <param name="key">The 2-word key.</param>
    /// <param name="counter">The 4-word counter.</param>
    /// <param name="output">Receives the 4 output words.</param>
    internal static void Compute(ReadOnlySpan<uint> key, ReadOnlySpan<uint> counter, Span<uint> output)
    {
        if (key.Length != 2) throw new ArgumentException("Philox4x32 needs a 2-word key.", nameof(key));
        if (counter.Length != 4) throw new ArgumentException("Philox4x32 needs a 4-word counter.", nameof(counter));
        if (output.Length < 4) throw new ArgumentException("Philox4x32 produces 4 words.", nameof(output));
        Compute(key[0], key[1], counter[0], counter[1], counter[2], counter[3],
            out output[0], out output[1], out output[2], out output[3]);
    }

    /// <summary>
    /// The block used by <see cref="Generator"/>: key = (low, high) 32 bits of the seed, counter =
    /// (low, high) 32 bits of the 64-bit block index, with counter words 2 and 3 zero.
    /// </summary>
    /// <param name="seed">The generator seed (the 64-bit key).</param>
    /// <param name="block">The block index (the generator's counter position).</param>
    /// <param name="r0">Output word 0.</param>
    /// <param name="r1">Output word 1.</param>
    /// <param name="r2">Output word 2.</param>
    /// <param name="r3">Output word 3.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Block(ulong seed, ulong block, out uint r0, out uint r1, out uint r2, out uint r3)
        => Compute((uint)seed, (uint)(seed >> 32), (uint)block, (uint)(block >> 32), 0u, 0u,
            out r0, out r1, out r2, out r3);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Round(ref uint c0, ref uint c1, ref uint c2, ref uint c3, uint k0, uint k1)
    {
        // One Philox S-box: two 32x32->64 multiplies, whose high halves are mixed with the other
        // two counter words and the key; the low halves become the permuted words.
        ulong p0 = (ulong)M0 * c0;
        ulong p1 = (ulong)M1 * c2;
        uint hi0 = (uint)(p0 >> 32), lo0 = (uint)p0;
        uint hi1 = (uint)(p1 >> 32), lo1 = (uint)p1;
        uint n0 = hi1 ^ c1 ^ k0;
        uint n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
    }
}
