using ILGPU;

namespace NeuralCore.Gpu.Kernels;

/// <summary>Where row (b, h, l) of a [B, H, L, D] operand starts: Offset + b·SB + h·SH + l·SL (unit stride along D).</summary>
internal struct RowLayout
{
    public int Offset, SB, SH, SL;

    public readonly long Row(int b, int h, int l) => Offset + (long)b * SB + (long)h * SH + (long)l * SL;
}

/// <summary>Sizes, flags and operand layouts of one fused attention (flags are 0 or 1).</summary>
internal struct AttentionShape
{
    public int B, H, Lq, Lk, D, Dv, Causal, HasMask;
    public double Scale;
    public RowLayout Q, K, V, DO;
    public RowLayout Mask;
    public int MaskSK;

    /// <summary>1 when the weights are dropped (then the Philox key, first block, threshold and keep scale of <see cref="NeuralCore.Backends.AttentionDropout"/>).</summary>
    public int Dropping;
    public ulong DropSeed, DropStart, DropThreshold;
    public double KeepScale;
}

/// <summary>
/// Fused scaled dot-product attention in the FlashAttention scheme, with one thread per query row (forward and dQ) or
/// per key row (dK and dV). The forward streams over the keys with an online softmax (running maximum and Σ exp, the
/// output row itself as the accumulator) and keeps only the output and log Σ exp; the backward recomputes each weight
/// as exp(s − lse). Nothing of size Lq × Lk is stored. Scores and softmax statistics are computed in double. Dropout
/// recomputes each weight's factor (0 or 1/(1 − p)) from its index with the CPU's counter-based function.
/// </summary>
internal static class AttentionKernels
{
    // The dropout factor of weight (row r = (b·H + h)·Lq + i, key j); 1 without dropout.
    static double Drop(in AttentionShape s, int r, int j) =>
        s.Dropping != 0 ? NeuralCore.Backends.AttentionDropout.FactorAt(s.DropSeed, s.DropStart, s.DropThreshold, s.KeepScale, (long)r * s.Lk + j) : 1;

    static double Score<T, N>(ArrayView<T> q, ArrayView<T> k, ArrayView<T> mask, in AttentionShape s, int b, int h, int i, int j)
        where T : unmanaged where N : struct, IFloating<T>
    {
        var n = default(N);
        long qr = s.Q.Row(b, h, i), kr = s.K.Row(b, h, j);
        double dot = 0;
        for (int d = 0; d < s.D; d++) dot += n.ToDouble(q[qr + d]) * n.ToDouble(k[kr + d]);
        dot *= s.Scale;
        if (s.HasMask != 0) dot += n.ToDouble(mask[s.Mask.Row(b, h, i) + (long)j * s.MaskSK]);
        return dot;
    }

    static double Dot<T, N>(ArrayView<T> a, long ar, ArrayView<T> c, long cr, int length)
        where T : unmanaged where N : struct, IFloating<T>
    {
        var n = default(N);
        double sum = 0;
        for (int d = 0; d < length; d++) sum += n.ToDouble(a[ar + d]) * n.ToDouble(c[cr + d]);
        return sum;
    }

    /// <summary>One query row: output[r] and lse[r] for r = ((b·H) + h)·Lq + i (both dense).</summary>
    public static void Forward<T, N>(Index1D r, ArrayView<T> q, ArrayView<T> k, ArrayView<T> v, ArrayView<T> mask,
        ArrayView<T> output, ArrayView<T> lse, AttentionShape s)
        where T : unmanaged where N : struct, IFloating<T>
    {
        var n = default(N);
        int i = r % s.Lq, bh = r / s.Lq, h = bh % s.H, b = bh / s.H;
        long o = (long)(int)r * s.Dv;
        for (int c = 0; c < s.Dv; c++) output[o + c] = n.Zero;
        double m = double.NegativeInfinity, l = 0;
        int kEnd = s.Causal != 0 ? XMin(s.Lk, i + 1) : s.Lk;
        for (int j = 0; j < kEnd; j++)
        {
            double sc = Score<T, N>(q, k, mask, s, b, h, i, j);
            if (double.IsNegativeInfinity(sc)) continue;
            if (sc > m)
            {
                double corr = double.IsNegativeInfinity(m) ? 0 : Math.Exp(m - sc);
                l *= corr;
                for (int c = 0; c < s.Dv; c++) output[o + c] = n.FromDouble(n.ToDouble(output[o + c]) * corr);
                m = sc;
            }
            double p = Math.Exp(sc - m);
            l += p;
            double w = p * Drop(s, r, j);
            if (w == 0) continue;
            long vr = s.V.Row(b, h, j);
            for (int c = 0; c < s.Dv; c++) output[o + c] = n.FromDouble(n.ToDouble(output[o + c]) + w * n.ToDouble(v[vr + c]));
        }
        if (l > 0)
        {
            for (int c = 0; c < s.Dv; c++) output[o + c] = n.FromDouble(n.ToDouble(output[o + c]) / l);
            lse[(int)r] = n.FromDouble(m + Math.Log(l));
        }
        else
        {
            for (int c = 0; c < s.Dv; c++) output[o + c] = n.Zero;
            lse[(int)r] = n.FromDouble(double.NegativeInfinity);
        }
    }

    /// <summary>One query row of dQ = scale·Σ_j p_ij·(dO_i·v_j − dO_i·O_i)·k_j (dense).</summary>
    public static void BackwardQuery<T, N>(Index1D r, ArrayView<T> q, ArrayView<T> k, ArrayView<T> v, ArrayView<T> mask,
        ArrayView<T> output, ArrayView<T> lse, ArrayView<T> dO, ArrayView<T> dq, AttentionShape s)
        where T : unmanaged where N : struct, IFloating<T>
    {
        var n = default(N);
        int i = r % s.Lq, bh = r / s.Lq, h = bh % s.H, b = bh / s.H;
        long qo = (long)(int)r * s.D;
        for (int d = 0; d < s.D; d++) dq[qo + d] = n.Zero;
        double rowLse = n.ToDouble(lse[(int)r]);
        if (double.IsNegativeInfinity(rowLse)) return;
        long dor = s.DO.Row(b, h, i);
        double delta = Dot<T, N>(dO, dor, output, (long)(int)r * s.Dv, s.Dv);
        int kEnd = s.Causal != 0 ? XMin(s.Lk, i + 1) : s.Lk;
        for (int j = 0; j < kEnd; j++)
        {
            double p = Math.Exp(Score<T, N>(q, k, mask, s, b, h, i, j) - rowLse);
            if (p == 0) continue;
            double z = Drop(s, r, j);
            double ds = s.Scale * p * ((z == 0 ? 0 : z * Dot<T, N>(dO, dor, v, s.V.Row(b, h, j), s.Dv)) - delta);
            long kr = s.K.Row(b, h, j);
            for (int d = 0; d < s.D; d++) dq[qo + d] = n.FromDouble(n.ToDouble(dq[qo + d]) + ds * n.ToDouble(k[kr + d]));
        }
    }

    /// <summary>One key row j of dV = Σ_i p_ij·dO_i and dK = scale·Σ_i p_ij·(dO_i·v_j − dO_i·O_i)·q_i (dense).</summary>
    public static void BackwardKey<T, N>(Index1D r, ArrayView<T> q, ArrayView<T> k, ArrayView<T> v, ArrayView<T> mask,
        ArrayView<T> output, ArrayView<T> lse, ArrayView<T> dO, ArrayView<T> dk, ArrayView<T> dv, AttentionShape s)
        where T : unmanaged where N : struct, IFloating<T>
    {
        var n = default(N);
        int j = r % s.Lk, bh = r / s.Lk, h = bh % s.H, b = bh / s.H;
        long ko = (long)(int)r * s.D, vo = (long)(int)r * s.Dv, vr = s.V.Row(b, h, j);
        for (int d = 0; d < s.D; d++) dk[ko + d] = n.Zero;
        for (int c = 0; c < s.Dv; c++) dv[vo + c] = n.Zero;
        for (int i = s.Causal != 0 ? j : 0; i < s.Lq; i++)
        {
            int row = bh * s.Lq + i;
            double rowLse = n.ToDouble(lse[row]);
            if (double.IsNegativeInfinity(rowLse)) continue;
            double p = Math.Exp(Score<T, N>(q, k, mask, s, b, h, i, j) - rowLse);
            if (p == 0) continue;
            long dor = s.DO.Row(b, h, i);
            double z = Drop(s, row, j);
            if (z != 0)
                for (int c = 0; c < s.Dv; c++) dv[vo + c] = n.FromDouble(n.ToDouble(dv[vo + c]) + p * z * n.ToDouble(dO[dor + c]));
            double delta = Dot<T, N>(dO, dor, output, (long)row * s.Dv, s.Dv);
            double ds = s.Scale * p * ((z == 0 ? 0 : z * Dot<T, N>(dO, dor, v, vr, s.Dv)) - delta);
            long qr = s.Q.Row(b, h, i);
            for (int d = 0; d < s.D; d++) dk[ko + d] = n.FromDouble(n.ToDouble(dk[ko + d]) + ds * n.ToDouble(q[qr + d]));
        }
    }

    static int XMin(int a, int b) => a < b ? a : b;
}
