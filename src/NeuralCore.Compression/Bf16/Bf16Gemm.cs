using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NeuralCore.Compression.Bf16;

/// <summary>
/// y = x·wᵀ + b with x float32 [n, k], w bfloat16 [m, k] (row-major, as a Linear weight) and float32 accumulation.
/// .NET 10 has no AVX-512 BF16 intrinsics (no <c>vdpbf16ps</c>), so weights are widened in registers: 32 bfloat16
/// (one Vector512 of ushort) widen to two Vector512 of uint, shifted left by 16 into float32 bit patterns, and
/// multiplied into the accumulators with fused multiply-add; a Vector256 path does the same 16 at a time, then a
/// scalar loop takes the remainder. Each widened weight vector serves four rows of x, so the widening cost is shared.
/// The sum order differs from a scalar loop only by float32 reassociation (partial sums per lane, then a horizontal
/// add), which the tests bound against a float64 reference.
/// </summary>
internal static class Bf16Gemm
{
    const int RowBlock = 4;

    // Work below this many multiply-adds runs on the calling thread.
    const long ParallelThreshold = 1 << 20;

    /// <summary>Computes y [n, m] (overwritten); large products split the output columns across threads.</summary>
    public static void Multiply(float[] x, ushort[] w, float[]? bias, float[] y, int n, int k, int m)
    {
        if (x.Length != (long)n * k || w.Length != (long)m * k || y.Length != (long)n * m || (bias is not null && bias.Length != m))
            throw new ArgumentException($"Bf16Gemm: x has {x.Length} values for [{n}, {k}], w {w.Length} for [{m}, {k}], y {y.Length} for [{n}, {m}], bias {bias?.Length}.");
        int chunks = (long)n * k * m < ParallelThreshold ? 1 : Math.Min(Environment.ProcessorCount * 4, m);
        if (chunks <= 1)
        {
            Columns(x, w, bias, y, n, k, m, 0, m);
            return;
        }
        Parallel.For(0, chunks, c => Columns(x, w, bias, y, n, k, m, (int)((long)m * c / chunks), (int)((long)m * (c + 1) / chunks)));
    }

    static void Columns(float[] x, ushort[] w, float[]? bias, float[] y, int n, int k, int m, int from, int to)
    {
        Span<float> sums = stackalloc float[RowBlock];
        for (int r = 0; r < n; r += RowBlock)
        {
            int rows = Math.Min(RowBlock, n - r);
            var xr = x.AsSpan(r * k, rows * k);
            for (int j = from; j < to; j++)
            {
                Dot(xr, w.AsSpan(j * k, k), k, rows, sums);
                float b = bias is null ? 0 : bias[j];
                for (int i = 0; i < rows; i++) y[(r + i) * m + j] = sums[i] + b;
            }
        }
    }

    // sums[i] = Σ_t x[i·k + t]·w[t] for i < rows (1 to 4).
    static void Dot(ReadOnlySpan<float> x, ReadOnlySpan<ushort> w, int k, int rows, Span<float> sums)
    {
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref ushort w0 = ref MemoryMarshal.GetReference(w);
        int t = 0;
        if (Vector512.IsHardwareAccelerated && k >= 32)
        {
            var a0 = Vector512<float>.Zero; var a1 = Vector512<float>.Zero; var a2 = Vector512<float>.Zero; var a3 = Vector512<float>.Zero;
            for (; t <= k - 32; t += 32)
            {
                var bits = Vector512.LoadUnsafe(ref w0, (nuint)t);
                var lo = Vector512.ShiftLeft(Vector512.WidenLower(bits), 16).AsSingle();
                var hi = Vector512.ShiftLeft(Vector512.WidenUpper(bits), 16).AsSingle();
                a0 = Accumulate512(a0, ref x0, 0, t, lo, hi);
                if (rows > 1) a1 = Accumulate512(a1, ref x0, k, t, lo, hi);
                if (rows > 2) a2 = Accumulate512(a2, ref x0, 2 * k, t, lo, hi);
                if (rows > 3) a3 = Accumulate512(a3, ref x0, 3 * k, t, lo, hi);
            }
            sums[0] = Vector512.Sum(a0); if (rows > 1) sums[1] = Vector512.Sum(a1);
            if (rows > 2) sums[2] = Vector512.Sum(a2); if (rows > 3) sums[3] = Vector512.Sum(a3);
        }
        else if (Vector256.IsHardwareAccelerated && k >= 16)
        {
            var a0 = Vector256<float>.Zero; var a1 = Vector256<float>.Zero; var a2 = Vector256<float>.Zero; var a3 = Vector256<float>.Zero;
            for (; t <= k - 16; t += 16)
            {
                var bits = Vector256.LoadUnsafe(ref w0, (nuint)t);
                var lo = Vector256.ShiftLeft(Vector256.WidenLower(bits), 16).AsSingle();
                var hi = Vector256.ShiftLeft(Vector256.WidenUpper(bits), 16).AsSingle();
                a0 = Accumulate256(a0, ref x0, 0, t, lo, hi);
                if (rows > 1) a1 = Accumulate256(a1, ref x0, k, t, lo, hi);
                if (rows > 2) a2 = Accumulate256(a2, ref x0, 2 * k, t, lo, hi);
                if (rows > 3) a3 = Accumulate256(a3, ref x0, 3 * k, t, lo, hi);
            }
            sums[0] = Vector256.Sum(a0); if (rows > 1) sums[1] = Vector256.Sum(a1);
            if (rows > 2) sums[2] = Vector256.Sum(a2); if (rows > 3) sums[3] = Vector256.Sum(a3);
        }
        else
        {
            sums[..rows].Clear();
        }
        for (; t < k; t++)
        {
            float wt = BFloat16.ToSingle(w[t]);
            for (int i = 0; i < rows; i++) sums[i] += x[i * k + t] * wt;
        }
    }

    static Vector512<float> Accumulate512(Vector512<float> acc, ref float x0, int row, int t, Vector512<float> lo, Vector512<float> hi)
    {
        acc = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x0, (nuint)(row + t)), lo, acc);
        return Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref x0, (nuint)(row + t + 16)), hi, acc);
    }

    static Vector256<float> Accumulate256(Vector256<float> acc, ref float x0, int row, int t, Vector256<float> lo, Vector256<float> hi)
    {
        acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref x0, (nuint)(row + t)), lo, acc);
        return Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref x0, (nuint)(row + t + 8)), hi, acc);
    }
}
