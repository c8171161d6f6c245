using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NeuralCore.Backends.Cpu;

/// <summary>
/// Packing of A and B panels into the contiguous, zero-padded layouts the micro-kernel streams through.
/// </summary>
/// <remarks>
/// <para>
/// A packed micro-panel of width W (W = MR for A, W = NR for B) and depth kc stores, for each p in [0, kc),
/// the W elements of "line" p contiguously: <c>dst[p*W + r]</c>. For A the lines are the MR rows of the
/// panel (element opA[i0 + r, pc + p]); for B they are the NR columns (element opB[pc + p, j0 + r]).
/// </para>
/// <para>
/// Depending on the transpose flag the source of a packed row of W elements is either contiguous in memory
/// (A transposed, B not transposed: <see cref="PackContiguous"/>) or strided (A not transposed, B transposed:
/// <see cref="PackStrided"/>), so transposition is absorbed by packing and no transposed copy of an operand
/// is ever made. Panels narrower than W (the bottom/right edge of the matrix) are padded with zeros: the
/// kernel then computes a full tile whose extra rows/columns are simply discarded, and the zeros contribute
/// exactly +0 to nothing that is kept.
/// </para>
/// </remarks>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// dst[p*width + r] = src[p*ld + r] for r &lt; valid, 0 for valid &lt;= r &lt; width, p &lt; kc.
    /// Each packed row is a straight copy of <paramref name="valid"/> contiguous source elements.
    /// </summary>
    public static void PackContiguous<T>(T* src, nint ld, int valid, int kc, int width, T* dst)
        where T : unmanaged
    {
        if (valid == width)
        {
            nuint bytes = (nuint)(width * sizeof(T));
            for (int p = 0; p < kc; p++)
            {
                Unsafe.CopyBlockUnaligned(dst, src, (uint)bytes);
                src += ld;
                dst += width;
            }

            return;
        }

        for (int p = 0; p < kc; p++)
        {
            int r = 0;
            for (; r < valid; r++)
            {
                dst[r] = src[r];
            }

            for (; r < width; r++)
            {
                dst[r] = default;
            }

            src += ld;
            dst += width;
        }
    }

    /// <summary>
    /// dst[p*width + r] = src[r*ld + p] for r &lt; valid, 0 for valid &lt;= r &lt; width, p &lt; kc.
    /// Each of the <paramref name="valid"/> source lines is contiguous in p; they are interleaved into the
    /// packed rows (a small transpose).
    /// </summary>
    public static void PackStrided<T>(T* src, nint ld, int valid, int kc, int width, T* dst)
        where T : unmanaged
    {
        // Line-by-line: each source line is read sequentially (prefetch friendly) and scattered with stride
        // `width` into the destination panel, which is at most kc*width elements and stays in L1/L2.
        int r = 0;
        for (; r + 4 <= valid; r += 4)
        {
            // Four lines at a time to amortise loop overhead and keep four read streams in flight.
            T* s0 = src + (r * ld);
            T* s1 = s0 + ld;
            T* s2 = s1 + ld;
            T* s3 = s2 + ld;
            T* d = dst + r;
            for (int p = 0; p < kc; p++)
            {
                d[0] = s0[p];
                d[1] = s1[p];
                d[2] = s2[p];
                d[3] = s3[p];
                d += width;
            }
        }

        for (; r < valid; r++)
        {
            T* s = src + (r * ld);
            T* d = dst + r;
            for (int p = 0; p < kc; p++)
            {
                *d = s[p];
                d += width;
            }
        }

        if (valid < width)
        {
            T* d = dst;
            for (int p = 0; p < kc; p++)
            {
                new Span<T>(d + valid, width - valid).Clear();
                d += width;
            }
        }
    }
}

/// <summary>
/// Per-thread packing buffers. Allocated on the pinned object heap (so raw pointers stay valid without
/// <c>fixed</c>), grown on demand and then reused for every subsequent call on that thread: in steady state a
/// GEMM allocates nothing. Buffers are 64-byte aligned so packed vectors never straddle cache lines.
/// </summary>
internal static unsafe class GemmScratch<T>
    where T : unmanaged
{
    private const int Alignment = 64;

    [ThreadStatic]
    private static T[]? t_packA;

    [ThreadStatic]
    private static T[]? t_packB;

    /// <summary>Buffer for the packed A block of the calling thread (at least <paramref name="length"/> elements).</summary>
    public static T* PackA(int length) => Get(ref t_packA, length);

    /// <summary>Buffer for the packed B block owned by the calling thread (at least <paramref name="length"/> elements).</summary>
    public static T* PackB(int length) => Get(ref t_packB, length);

    private static T* Get(ref T[]? buffer, int length)
    {
        int needed = length + (Alignment / sizeof(T));
        if (buffer is null || buffer.Length < needed)
        {
            // Round up a little so slowly growing sizes do not reallocate on every call.
            int size = (int)Math.Min(Array.MaxLength, BitOperations.RoundUpToPowerOf2((uint)needed));
            buffer = GC.AllocateUninitializedArray<T>(size, pinned: true);
        }

        nuint address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        return (T*)((address + (Alignment - 1)) & ~(nuint)(Alignment - 1));
    }
}
