using System.Runtime.CompilerServices;

namespace NeuralCore.Backends;

/// <summary>
/// Dropout on the attention weights inside the fused kernels (<see cref="IFusedAttentionKernels"/>): weight
/// (b, h, i, j) is dropped with probability <see cref="P"/> and a kept one is scaled by 1/(1 − P). Whether an element
/// is dropped is a pure function of (<see cref="Seed"/>, <see cref="Start"/>, its index e = ((b·H + h)·Lq + i)·Lk + j):
/// word e mod 4 of the Philox4x32-10 block <c>Start + ⌊e/4⌋</c> under the key <see cref="Seed"/> is below
/// ⌊P·2³²⌋, the layout of <see cref="Generator.FillBernoulli"/>. So no mask is stored: the backward, and any device,
/// recompute exactly the forward's mask, and the composed attention path draws the same one.
/// </summary>
public readonly record struct AttentionDropout
{
    /// <summary>Describes the dropout of one attention call.</summary>
    /// <param name="p">Drop probability, in [0, 1).</param>
    /// <param name="seed">The Philox key (a generator's seed).</param>
    /// <param name="start">The first Philox block of the call (a generator's offset).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1) (dropping everything leaves nothing to rescale).</exception>
    public AttentionDropout(double p, ulong seed, ulong start)
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "AttentionDropout: p must be in [0, 1).");
        P = p;
        Seed = seed;
        Start = start;
    }

    /// <summary>No dropout.</summary>
    public static AttentionDropout None => default;

    /// <summary>Drop probability (0: no dropout).</summary>
    public double P { get; }

    /// <summary>The Philox key.</summary>
    public ulong Seed { get; }

    /// <summary>The first Philox block.</summary>
    public ulong Start { get; }

    /// <summary>Whether any weight can be dropped (P &gt; 0).</summary>
    public bool IsActive => P > 0;

    /// <summary>A word below this drops its element: ⌊P·2³²⌋.</summary>
    internal ulong Threshold => (ulong)(P * 4294967296.0);

    /// <summary>1/(1 − P), the scale of a kept weight.</summary>
    internal double KeepScale => 1 / (1 - P);

    /// <summary>
    /// Takes the blocks for <paramref name="elements"/> weights from <paramref name="generator"/>
    /// (<see cref="Rng.Default"/> when null), advancing it as a Bernoulli fill of that many bytes would.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1) or <paramref name="elements"/> is negative.</exception>
    public static AttentionDropout Draw(double p, long elements, Generator? generator = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elements);
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "AttentionDropout: p must be in [0, 1).");
        ulong start = (generator ?? Rng.Default).Reserve((ulong)((elements + 3) / 4), out ulong seed);
        return new AttentionDropout(p, seed, start);
    }

    /// <summary>The factor of weight <paramref name="element"/>: 0 when dropped, 1/(1 − P) when kept (1 without dropout).</summary>
    public double Factor(long element) => IsActive ? FactorAt(Seed, Start, Threshold, KeepScale, element) : 1;

    /// <summary>The factor of one element; a plain static function, so device kernels call it too.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static double FactorAt(ulong seed, ulong start, ulong threshold, double keepScale, long element)
    {
        Philox.Block(seed, start + (ulong)(element >> 2), out uint r0, out uint r1, out uint r2, out uint r3);
        long lane = element & 3;
        uint w = lane == 0 ? r0 : lane == 1 ? r1 : lane == 2 ? r2 : r3;
        return w < threshold ? 0 : keepScale;
    }

    /// <summary>
    /// The factors of every weight of a [B, H, Lq, Lk] attention as a tensor of that shape (0 or 1/(1 − P)), for the
    /// composed path and for checking a kernel.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative.</exception>
    public Tensor Factors(int b, int h, int lq, int lk, DType dtype = DType.Float32, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(b);
        ArgumentOutOfRangeException.ThrowIfNegative(h);
        ArgumentOutOfRangeException.ThrowIfNegative(lq);
        ArgumentOutOfRangeException.ThrowIfNegative(lk);
        long n = (long)b * h * lq * lk;
        var data = new double[n];
        if (!IsActive) Array.Fill(data, 1.0);
        else
        {
            var self = this;
            Parallel.For(0, (int)((n + 4095) / 4096), c =>
            {
                long end = Math.Min(n, (c + 1) * 4096L);
                for (long e = c * 4096L; e < end; e++) data[e] = self.Factor(e);
            });
        }
        var t = Tensor.FromArray(data, b, h, lq, lk);
        if (dtype != DType.Float64) t = t.To(dtype);
        return device is Device d && d != t.Device ? t.To(d) : t;
    }
}
