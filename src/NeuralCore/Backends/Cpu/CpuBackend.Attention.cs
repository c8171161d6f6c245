using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace NeuralCore.Backends.Cpu;

// Fused attention. The forward walks each query row over the keys in blocks of KeyBlock: the block's scores go to
// a KeyBlock-long scratch, the running maximum and Σ exp are updated (the online softmax) and the output
// accumulator is rescaled, so a row needs O(KeyBlock + Dv) memory whatever Lk is. The backward recomputes each
// score from the saved log Σ exp (p = exp(s − lse)) and accumulates dQ, dK and dV directly; per (batch, head) it
// touches only that head's rows, so heads run in parallel with no shared writes. Dot products and the
// accumulations use TensorPrimitives on the rows (unit stride), the scalars of the softmax are kept in double.
// Dropout multiplies each weight by its factor (0 or 1/(1 − p), AttentionDropout.Factor of the weight's index) where
// it meets a value row; the softmax statistics stay those of the undropped weights, as in the composed path.
public sealed unsafe partial class CpuBackend : IFusedAttentionKernels
{
    const int KeyBlock = 64;

    /// <inheritdoc />
    public void AttentionForward(BufferView query, BufferView key, BufferView value, BufferView? mask, bool causal, double scale,
        AttentionDropout dropout, BufferView output, BufferView logSumExp)
    {
        var dims = FusedOperandChecks.Attention("AttentionForward", query, key, value, mask, output, logSumExp);
        var job = new AttentionJob(query, key, value, mask, causal, scale, dropout, dims);
        long work = 2L * job.Lk * (job.D + job.Dv) + 1;
        int rows = job.B * job.H * job.Lq;
        if (query.DType == DType.Float32)
            CpuParallel.ForRange(rows, work, (job, Out: output, Lse: logSumExp), static (s, e, st) => ForwardRows<float>(st.job, st.Out, st.Lse, s, e));
        else
            CpuParallel.ForRange(rows, work, (job, Out: output, Lse: logSumExp), static (s, e, st) => ForwardRows<double>(st.job, st.Out, st.Lse, s, e));
    }

    /// <inheritdoc />
    public void AttentionBackward(BufferView query, BufferView key, BufferView value, BufferView? mask, bool causal, double scale,
        AttentionDropout dropout, BufferView output, BufferView logSumExp, BufferView gradOutput, BufferView gradQuery, BufferView gradKey, BufferView gradValue)
    {
        const string op = "AttentionBackward";
        var dims = FusedOperandChecks.Attention(op, query, key, value, mask, output, logSumExp);
        if (gradOutput.Rank != 4 || !gradOutput.Shape.AsSpan().SequenceEqual(output.Shape) || gradOutput.DType != query.DType
            || (dims.Dv > 1 && gradOutput.Strides[3] != 1))
            throw new ArgumentException($"{op}: gradOutput must be [{string.Join(", ", output.Shape)}] of {query.DType} with unit stride in its last dimension.");
        FusedOperandChecks.RequireDense(op, "gradQuery", gradQuery, query.DType, query.Count);
        FusedOperandChecks.RequireDense(op, "gradKey", gradKey, query.DType, key.Count);
        FusedOperandChecks.RequireDense(op, "gradValue", gradValue, query.DType, value.Count);
        var job = new AttentionJob(query, key, value, mask, causal, scale, dropout, dims);
        var grads = new AttentionGrads(output, logSumExp, gradOutput, gradQuery, gradKey, gradValue);
        long work = 4L * job.Lq * job.Lk * (job.D + job.Dv) + 1;
        if (query.DType == DType.Float32)
            CpuParallel.For(job.B * job.H, work, (job, grads), static (bh, st) => BackwardHead<float>(st.job, st.grads, bh));
        else
            CpuParallel.For(job.B * job.H, work, (job, grads), static (bh, st) => BackwardHead<double>(st.job, st.grads, bh));
    }

    readonly struct AttentionJob(BufferView q, BufferView k, BufferView v, BufferView? mask, bool causal, double scale,
        AttentionDropout dropout, (int B, int H, int Lq, int Lk, int D, int Dv) dims)
    {
        public readonly BufferView Q = q, K = k, V = v;
        public readonly BufferView? Mask = mask;
        public readonly bool Causal = causal;
        public readonly double Scale = scale;
        public readonly AttentionDropout Dropout = dropout;
        public readonly int B = dims.B, H = dims.H, Lq = dims.Lq, Lk = dims.Lk, D = dims.D, Dv = dims.Dv;

        // The dropout factor of weight (row r = (b·H + h)·Lq + i, key j).
        public double DropFactor(int r, int j) => Dropout.Factor((long)r * Lk + j);

        // Element offset of row (b, h, i) of a 4-d view.
        public static long Row(BufferView x, int b, int h, int i) =>
            x.Offset + (long)b * x.Strides[0] + (long)h * x.Strides[1] + (long)i * x.Strides[2];

        public int KeyEnd(int i) => Causal ? Math.Min(Lk, i + 1) : Lk;

        // Scores s_j = scale·q·k_j + mask[i, j] for keys j0 ≤ j < j0 + s.Length.
        public void Scores<T>(T* q, int b, int h, int i, int j0, Span<T> s) where T : unmanaged, IFloatingPointIeee754<T>
        {
            T* kb = Ptr0<T>(K);
            T sc = T.CreateChecked(Scale);
            var qr = new ReadOnlySpan<T>(q, D);
            for (int t = 0; t < s.Length; t++)
                s[t] = sc * TensorPrimitives.Dot(qr, new ReadOnlySpan<T>(kb + Row(K, b, h, j0 + t), D));
            if (Mask is BufferView m)
            {
                T* mb = Ptr0<T>(m);
                long row = Row(m, b, h, i);
                int ms = m.Strides[3];
                for (int t = 0; t < s.Length; t++) s[t] += mb[row + (long)(j0 + t) * ms];
            }
        }
    }

    readonly struct AttentionGrads(BufferView o, BufferView lse, BufferView dO, BufferView dQ, BufferView dK, BufferView dV)
    {
        public readonly BufferView O = o, Lse = lse, DO = dO, DQ = dQ, DK = dK, DV = dV;
    }

    static T* Ptr0<T>(BufferView v) where T : unmanaged => Cpu(v).Pointer<T>();

    static void ForwardRows<T>(in AttentionJob job, BufferView output, BufferView logSumExp, int start, int end)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] scratch = ArrayPool<T>.Shared.Rent(KeyBlock + job.Dv);
        try
        {
            var s = scratch.AsSpan(0, KeyBlock);
            bool dropping = job.Dropout.IsActive;
            T* qb = Ptr0<T>(job.Q), vb = Ptr0<T>(job.V), ob = Ptr0<T>(output) + output.Offset, lb = Ptr0<T>(logSumExp) + logSumExp.Offset;
            for (int r = start; r < end; r++)
            {
                int i = r % job.Lq, bh = r / job.Lq, h = bh % job.H, b = bh / job.H;
                var acc = new Span<T>(ob + (long)r * job.Dv, job.Dv);
                acc.Clear();
                double m = double.NegativeInfinity, l = 0;
                T* q = qb + AttentionJob.Row(job.Q, b, h, i);
                int kEnd = job.KeyEnd(i);
                for (int j0 = 0; j0 < kEnd; j0 += KeyBlock)
                {
                    var blk = s[..Math.Min(KeyBlock, kEnd - j0)];
                    job.Scores(q, b, h, i, j0, blk);
                    double blockMax = double.CreateChecked(TensorPrimitives.Max<T>(blk));
                    if (double.IsNegativeInfinity(blockMax)) continue;
                    double newM = Math.Max(m, blockMax);
                    if (newM > m && l > 0)
                    {
                        double corr = Math.Exp(m - newM);
                        l *= corr;
                        TensorPrimitives.Multiply(acc, T.CreateChecked(corr), acc);
                    }
                    m = newM;
                    for (int t = 0; t < blk.Length; t++)
                    {
                        double p = Math.Exp(double.CreateChecked(blk[t]) - m);
                        if (p == 0) continue;
                        l += p;
                        double weight = dropping ? p * job.DropFactor(r, j0 + t) : p;
                        if (weight == 0) continue;
                        TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(vb + AttentionJob.Row(job.V, b, h, j0 + t), job.Dv), T.CreateChecked(weight), acc, acc);
                    }
                }
                if (l > 0)
                {
                    TensorPrimitives.Multiply(acc, T.CreateChecked(1 / l), acc);
                    lb[r] = T.CreateChecked(m + Math.Log(l));
                }
                else
                {
                    acc.Clear();
                    lb[r] = T.NegativeInfinity;
                }
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(scratch);
        }
    }

    static void BackwardHead<T>(in AttentionJob job, in AttentionGrads g, int bh) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int h = bh % job.H, b = bh / job.H, d = job.D, dv = job.Dv;
        T* qb = Ptr0<T>(job.Q), kb = Ptr0<T>(job.K), vb = Ptr0<T>(job.V), dob = Ptr0<T>(g.DO);
        T* o = Ptr0<T>(g.O) + g.O.Offset + (long)bh * job.Lq * dv, lse = Ptr0<T>(g.Lse) + g.Lse.Offset + (long)bh * job.Lq;
        T* dq = Ptr0<T>(g.DQ) + g.DQ.Offset + (long)bh * job.Lq * d;
        T* dk = Ptr0<T>(g.DK) + g.DK.Offset + (long)bh * job.Lk * d;
        T* dvp = Ptr0<T>(g.DV) + g.DV.Offset + (long)bh * job.Lk * dv;
        new Span<T>(dq, job.Lq * d).Clear();
        new Span<T>(dk, job.Lk * d).Clear();
        new Span<T>(dvp, job.Lk * dv).Clear();
        T scale = T.CreateChecked(job.Scale);
        bool dropping = job.Dropout.IsActive;
        T[] scratch = ArrayPool<T>.Shared.Rent(KeyBlock);
        try
        {
            var s = scratch.AsSpan(0, KeyBlock);
            for (int i = 0; i < job.Lq; i++)
            {
                T rowLse = lse[i];
                if (T.IsNegativeInfinity(rowLse)) continue;
                T* q = qb + AttentionJob.Row(job.Q, b, h, i);
                var qRow = new ReadOnlySpan<T>(q, d);
                var doRow = new ReadOnlySpan<T>(dob + AttentionJob.Row(g.DO, b, h, i), dv);
                T delta = TensorPrimitives.Dot(doRow, new ReadOnlySpan<T>(o + (long)i * dv, dv));
                var dqRow = new Span<T>(dq + (long)i * d, d);
                int kEnd = job.KeyEnd(i);
                for (int j0 = 0; j0 < kEnd; j0 += KeyBlock)
                {
                    var blk = s[..Math.Min(KeyBlock, kEnd - j0)];
                    job.Scores(q, b, h, i, j0, blk);
                    for (int t = 0; t < blk.Length; t++)
                    {
                        T p = T.Exp(blk[t] - rowLse);
                        if (p == T.Zero) continue;
                        int j = j0 + t;
                        // z: the dropout factor (1 without dropout); a dropped weight still moves the softmax's other weights.
                        T z = dropping ? T.CreateChecked(job.DropFactor(bh * job.Lq + i, j)) : T.One;
                        T dp = -delta;
                        if (z != T.Zero)
                        {
                            var vRow = new ReadOnlySpan<T>(vb + AttentionJob.Row(job.V, b, h, j), dv);
                            var dvRow = new Span<T>(dvp + (long)j * dv, dv);
                            TensorPrimitives.MultiplyAdd(doRow, p * z, dvRow, dvRow);
                            dp += z * TensorPrimitives.Dot(doRow, vRow);
                        }
                        T ds = scale * p * dp;
                        TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(kb + AttentionJob.Row(job.K, b, h, j), d), ds, dqRow, dqRow);
                        var dkRow = new Span<T>(dk + (long)j * d, d);
                        TensorPrimitives.MultiplyAdd(qRow, ds, dkRow, dkRow);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(scratch);
        }
    }
}
