using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
            // Full panel: each packed row is a fixed-size block copy (width * sizeof(T) bytes: 32-128 B for
            // the widths used). Inline vector moves avoid the per-row call overhead of a general memcpy,
            // which dominated packing time for these short rows.
            int bytes = width * sizeof(T);
            for (int p = 0; p < kc; p++)
            {
                CopySmall((byte*)src, (byte*)dst, bytes);
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

    /// <summary>Copies a short block with unaligned vector moves (largest vectors first, then a byte tail).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopySmall(byte* src, byte* dst, int bytes)
    {
        int i = 0;
        for (; i + 64 <= bytes; i += 64)
        {
            Vector512.Store(Vector512.Load(src + i), dst + i);
        }

        if (i + 32 <= bytes)
        {
            Vector256.Store(Vector256.Load(src + i), dst + i);
            i += 32;
        }

        if (i + 16 <= bytes)
        {
            Vector128.Store(Vector128.Load(src + i), dst + i);
            i += 16;
        }

        for (; i < bytes; i++)
        {
            dst[i] = src[i];
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
        int r = 0;
        if (Avx.IsSupported && typeof(T) == typeof(float))
        {
            // 8 lines x 8 p at a time through an in-register 8x8 transpose: 8 loads + 24 shuffles + 8 stores
            // instead of 64 scalar moves (about 4x faster; this packing is on the critical path of small GEMMs).
            for (; r + 8 <= valid; r += 8)
            {
                int p = 0;
                for (; p + 8 <= kc; p += 8)
                {
                    Transpose8x8((float*)(src + (r * ld) + p), ld, (float*)(dst + (p * width) + r), width);
                }

                CopyLines(src + (r * ld), ld, 8, p, kc, width, dst + r);
            }
        }
        else if (Avx.IsSupported && typeof(T) == typeof(double))
        {
            // Same idea with 4 x 4 blocks of doubles.
            for (; r + 4 <= valid; r += 4)
            {
                int p = 0;
                for (; p + 4 <= kc; p += 4)
                {
                    Transpose4x4((double*)(src + (r * ld) + p), ld, (double*)(dst + (p * width) + r), width);
                }

                CopyLines(src + (r * ld), ld, 4, p, kc, width, dst + r);
            }
        }

        // Remaining lines (and non-AVX hardware): line by line, each source line read sequentially and
        // scattered with stride `width` into the panel, which is small enough to stay in L1/L2.
        CopyLines(src + (r * ld), ld, valid - r, 0, kc, width, dst + r);

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

    /// <summary>dst[p*width + l] = src[l*ld + p] for l &lt; lines, pFrom &lt;= p &lt; pTo (scalar).</summary>
    private static void CopyLines<T>(T* src, nint ld, int lines, int pFrom, int pTo, int width, T* dst)
        where T : unmanaged
    {
        for (int l = 0; l < lines; l++)
        {
            T* s = src + (l * ld);
            T* d = dst + l + ((nint)pFrom * width);
            for (int p = pFrom; p < pTo; p++)
            {
                *d = s[p];
                d += width;
            }
        }
    }

    /// <summary>Writes the transpose of the 8 x 8 block at src (row stride ld) to dst (row stride dstStride).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, nint ld, float* dst, nint dstStride)
    {
        Vector256<float> r0 = Avx.LoadVector256(src);
        Vector256<float> r1 = Avx.LoadVector256(src + ld);
        Vector256<float> r2 = Avx.LoadVector256(src + (2 * ld));
        Vector256<float> r3 = Avx.LoadVector256(src + (3 * ld));
        Vector256<float> r4 = Avx.LoadVector256(src + (4 * ld));
        Vector256<float> r5 = Avx.LoadVector256(src + (5 * ld));
        Vector256<float> r6 = Avx.LoadVector256(src + (6 * ld));
        Vector256<float> r7 = Avx.LoadVector256(src + (7 * ld));
        Transpose8x8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
        Avx.Store(dst, r0);
        Avx.Store(dst + dstStride, r1);
        Avx.Store(dst + (2 * dstStride), r2);
        Avx.Store(dst + (3 * dstStride), r3);
        Avx.Store(dst + (4 * dstStride), r4);
        Avx.Store(dst + (5 * dstStride), r5);
        Avx.Store(dst + (6 * dstStride), r6);
        Avx.Store(dst + (7 * dstStride), r7);
    }

    /// <summary>
    /// Transposes the 8 x 8 block held in r0..r7 (one row each) in registers: afterwards r<i>q</i> holds column q
    /// (lane l of it is the old row l's element q). 24 shuffles; needs AVX.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose8x8(ref Vector256<float> r0, ref Vector256<float> r1, ref Vector256<float> r2, ref Vector256<float> r3,
        ref Vector256<float> r4, ref Vector256<float> r5, ref Vector256<float> r6, ref Vector256<float> r7)
    {
        // Interleave pairs of rows (per 128-bit lane), then pairs of pairs, then swap 128-bit halves.
        Vector256<float> t0 = Avx.UnpackLow(r0, r1);
        Vector256<float> t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3);
        Vector256<float> t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5);
        Vector256<float> t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7);
        Vector256<float> t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44);
        Vector256<float> u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44);
        Vector256<float> u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44);
        Vector256<float> u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44);
        Vector256<float> u7 = Avx.Shuffle(t5, t7, 0xEE);
        r0 = Avx.Permute2x128(u0, u4, 0x20);
        r1 = Avx.Permute2x128(u1, u5, 0x20);
        r2 = Avx.Permute2x128(u2, u6, 0x20);
        r3 = Avx.Permute2x128(u3, u7, 0x20);
        r4 = Avx.Permute2x128(u0, u4, 0x31);
        r5 = Avx.Permute2x128(u1, u5, 0x31);
        r6 = Avx.Permute2x128(u2, u6, 0x31);
        r7 = Avx.Permute2x128(u3, u7, 0x31);
    }

    /// <summary>Writes the transpose of the 4 x 4 block at src (row stride ld) to dst (row stride dstStride).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4x4(double* src, nint ld, double* dst, nint dstStride)
    {
        Vector256<double> r0 = Avx.LoadVector256(src);
        Vector256<double> r1 = Avx.LoadVector256(src + ld);
        Vector256<double> r2 = Avx.LoadVector256(src + (2 * ld));
        Vector256<double> r3 = Avx.LoadVector256(src + (3 * ld));

        Vector256<double> t0 = Avx.UnpackLow(r0, r1);
        Vector256<double> t1 = Avx.UnpackHigh(r0, r1);
        Vector256<double> t2 = Avx.UnpackLow(r2, r3);
        Vector256<double> t3 = Avx.UnpackHigh(r2, r3);

        Avx.Store(dst, Avx.Permute2x128(t0, t2, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(t1, t3, 0x20));
        Avx.Store(dst + (2 * dstStride), Avx.Permute2x128(t0, t2, 0x31));
        Avx.Store(dst + (3 * dstStride), Avx.Permute2x128(t1, t3, 0x31));
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
        // Packed blocks are bounded by the driver's cache blocking (well under a megabyte); anything else is a bug.
        if ((uint)length > (uint)(TensorLimits.CpuMaxBytes / sizeof(T)))
            throw new ArgumentOutOfRangeException(nameof(length), length, $"GEMM: a packing buffer of {length} elements is out of range.");
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
