using ILGPU;
using ILGPU.Runtime;
using NeuralCore.Backends;
using NeuralCore.Gpu.Kernels;

namespace NeuralCore.Gpu;

// Fused attention (see AttentionKernels): one launch forward, two backward (query rows, then key rows). The operands
// are read in place through their row strides; a broadcast mask is read through its stride-0 views.
public sealed partial class IlgpuBackend : IFusedAttentionKernels
{
    /// <inheritdoc />
    public void AttentionForward(BufferView query, BufferView key, BufferView value, BufferView? mask, bool causal, double scale,
        AttentionDropout dropout, BufferView output, BufferView logSumExp)
    {
        const string op = nameof(AttentionForward);
        var dims = FusedOperandChecks.Attention(op, query, key, value, mask, output, logSumExp);
        OwnAll(op, query, key, value, output, logSumExp);
        if (mask is BufferView m) Own(m.Storage, op);
        CountFused(op);
        var s = ShapeOf(dims, query, key, value, mask, query, causal, scale, dropout);
        if (query.DType == DType.Float32) Forward<float, F32>(query, key, value, mask, output, logSumExp, s);
        else Forward<double, F64>(query, key, value, mask, output, logSumExp, s);
    }

    /// <inheritdoc />
    public void AttentionBackward(BufferView query, BufferView key, BufferView value, BufferView? mask, bool causal, double scale,
        AttentionDropout dropout, BufferView output, BufferView logSumExp, BufferView gradOutput, BufferView gradQuery, BufferView gradKey, BufferView gradValue)
    {
        const string op = nameof(AttentionBackward);
        var dims = FusedOperandChecks.Attention(op, query, key, value, mask, output, logSumExp);
        if (gradOutput.Rank != 4 || !gradOutput.Shape.AsSpan().SequenceEqual(output.Shape) || gradOutput.DType != query.DType
            || (dims.Dv > 1 && gradOutput.Strides[3] != 1))
            throw new ArgumentException($"{op}: gradOutput must be [{string.Join(", ", output.Shape)}] of {query.DType} with unit stride in its last dimension.");
        FusedOperandChecks.RequireDense(op, "gradQuery", gradQuery, query.DType, query.Count);
        FusedOperandChecks.RequireDense(op, "gradKey", gradKey, query.DType, key.Count);
        FusedOperandChecks.RequireDense(op, "gradValue", gradValue, query.DType, value.Count);
        OwnAll(op, query, key, value, output, logSumExp, gradOutput, gradQuery, gradKey, gradValue);
        if (mask is BufferView m) Own(m.Storage, op);
        CountFused(op);
        var s = ShapeOf(dims, query, key, value, mask, gradOutput, causal, scale, dropout);
        if (query.DType == DType.Float32) Backward<float, F32>(query, key, value, mask, output, logSumExp, gradOutput, gradQuery, gradKey, gradValue, s);
        else Backward<double, F64>(query, key, value, mask, output, logSumExp, gradOutput, gradQuery, gradKey, gradValue, s);
    }

    void OwnAll(string op, params ReadOnlySpan<BufferView> views)
    {
        foreach (var v in views) Own(v.Storage, op);
    }

    static RowLayout Rows(BufferView v) => new() { Offset = v.Offset, SB = v.Strides[0], SH = v.Strides[1], SL = v.Strides[2] };

    static AttentionShape ShapeOf((int B, int H, int Lq, int Lk, int D, int Dv) d, BufferView q, BufferView k, BufferView v,
        BufferView? mask, BufferView gradOutput, bool causal, double scale, AttentionDropout dropout) => new()
    {
        B = d.B, H = d.H, Lq = d.Lq, Lk = d.Lk, D = d.D, Dv = d.Dv, Causal = causal ? 1 : 0, HasMask = mask is null ? 0 : 1,
        Scale = scale, Q = Rows(q), K = Rows(k), V = Rows(v), DO = Rows(gradOutput),
        Mask = mask is BufferView m ? Rows(m) : default, MaskSK = mask is BufferView m2 ? m2.Strides[3] : 0,
        Dropping = dropout.IsActive ? 1 : 0, DropSeed = dropout.Seed, DropStart = dropout.Start, DropThreshold = dropout.Threshold,
        KeepScale = dropout.IsActive ? dropout.KeepScale : 1,
    };

    void Forward<T, N>(BufferView q, BufferView k, BufferView v, BufferView? mask, BufferView output, BufferView lse, AttentionShape s)
        where T : unmanaged where N : struct, IFloating<T>
    {
        var kernel = Implicit<Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, AttentionShape>,
            Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, AttentionShape>>(
            AttentionKernels.Forward<T, N>, c => Accelerator.LoadAutoGroupedStreamKernel(c));
        int rows = s.B * s.H * s.Lq;
        if (rows == 0) return;
        var qv = View<T>(q);
        kernel(rows, qv, View<T>(k), View<T>(v), mask is BufferView m ? View<T>(m) : qv, Dense<T>(output), Dense<T>(lse), s);
        AfterLaunch();
        KeepAlive(q, k, v, output, lse);
        if (mask is BufferView keep) KeepAlive(keep);
    }

    void Backward<T, N>(BufferView q, BufferView k, BufferView v, BufferView? mask, BufferView output, BufferView lse, BufferView dO,
        BufferView dq, BufferView dk, BufferView dv, AttentionShape s)
        where T : unmanaged where N : struct, IFloating<T>
    {
        var queryKernel = Implicit<Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, AttentionShape>,
            Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, AttentionShape>>(
            AttentionKernels.BackwardQuery<T, N>, c => Accelerator.LoadAutoGroupedStreamKernel(c));
        var keyKernel = Implicit<Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, AttentionShape>,
            Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, AttentionShape>>(
            AttentionKernels.BackwardKey<T, N>, c => Accelerator.LoadAutoGroupedStreamKernel(c));
        var qv = View<T>(q);
        var mv = mask is BufferView m ? View<T>(m) : qv;
        int queryRows = s.B * s.H * s.Lq, keyRows = s.B * s.H * s.Lk;
        if (queryRows > 0)
        {
            queryKernel(queryRows, qv, View<T>(k), View<T>(v), mv, Dense<T>(output), Dense<T>(lse), View<T>(dO), Dense<T>(dq), s);
            AfterLaunch();
        }
        if (keyRows > 0)
        {
            keyKernel(keyRows, qv, View<T>(k), View<T>(v), mv, Dense<T>(output), Dense<T>(lse), View<T>(dO), Dense<T>(dk), Dense<T>(dv), s);
            AfterLaunch();
        }
        KeepAlive(q, k, v, output, lse, dO, dq, dk, dv);
        if (mask is BufferView keep) KeepAlive(keep);
    }
}
