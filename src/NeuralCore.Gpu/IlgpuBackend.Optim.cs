using ILGPU;
using ILGPU.Runtime;
using NeuralCore.Backends;
using NeuralCore.Gpu.Kernels;

namespace NeuralCore.Gpu;

// Fused optimizer updates: one launch per parameter, one thread per element (see OptimizerKernels). The scalars
// are converted to the parameter's type on the host, once per step, exactly as the CPU backend converts them.
public sealed partial class IlgpuBackend : IFusedOptimizerKernels
{
    /// <inheritdoc />
    public void AdamUpdate(BufferView parameter, BufferView gradient, BufferView expAvg, BufferView expAvgSq,
        BufferView? maxExpAvgSq, in FusedAdamParams p)
    {
        CheckFused(nameof(AdamUpdate), parameter, gradient, expAvg, expAvgSq);
        if (maxExpAvgSq is { } vm) CheckFused(nameof(AdamUpdate), parameter, vm);
        CountFused(nameof(AdamUpdate));
        switch (parameter.DType)
        {
            case DType.Float32: Adam<float, F32>(parameter, gradient, expAvg, expAvgSq, maxExpAvgSq, p); break;
            case DType.Float64: Adam<double, F64>(parameter, gradient, expAvg, expAvgSq, maxExpAvgSq, p); break;
            default: throw new ArgumentException($"{nameof(AdamUpdate)}: parameters must be Float32 or Float64, got {parameter.DType}.");
        }
    }

    /// <inheritdoc />
    public void SgdUpdate(BufferView parameter, BufferView gradient, BufferView? momentumBuffer, in FusedSgdParams p)
    {
        CheckFused(nameof(SgdUpdate), parameter, gradient);
        if (momentumBuffer is { } b) CheckFused(nameof(SgdUpdate), parameter, b);
        CountFused(nameof(SgdUpdate));
        switch (parameter.DType)
        {
            case DType.Float32: Sgd<float, F32>(parameter, gradient, momentumBuffer, p); break;
            case DType.Float64: Sgd<double, F64>(parameter, gradient, momentumBuffer, p); break;
            default: throw new ArgumentException($"{nameof(SgdUpdate)}: parameters must be Float32 or Float64, got {parameter.DType}.");
        }
    }

    // The shared checks, then that every operand lives on this device.
    void CheckFused(string op, BufferView parameter, params ReadOnlySpan<BufferView> others)
    {
        FusedOperandChecks.Optimizer(op, parameter, others);
        Own(parameter.Storage, op);
        foreach (var o in others) Own(o.Storage, op);
    }

    static GradientTerms<T> Terms<T, N>(in FusedGradientTerms t) where T : unmanaged where N : struct, INumeric<T>
    {
        var n = default(N);
        return new GradientTerms<T>
        {
            L1 = n.FromDouble(t.L1), L2 = n.FromDouble(t.L2Factor), Wd = n.FromDouble(t.CoupledDecay),
            Negate = t.GradSign < 0 ? 1 : 0, HasL1 = t.L1 != 0 ? 1 : 0, HasL2 = t.L2Factor != 0 ? 1 : 0, HasWd = t.CoupledDecay != 0 ? 1 : 0,
        };
    }

    void Adam<T, N>(BufferView w, BufferView g, BufferView m, BufferView v, BufferView? vmax, in FusedAdamParams p)
        where T : unmanaged where N : struct, IFloating<T>
    {
        var kernel = Implicit<Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, AdamScalars<T>>,
            Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, AdamScalars<T>>>(
            OptimizerKernels.Adam<T, N>, k => Accelerator.LoadAutoGroupedStreamKernel(k));
        if (w.Count == 0) return;
        var n = default(N);
        var s = new AdamScalars<T>
        {
            Terms = Terms<T, N>(p.Terms),
            B1 = n.FromDouble(p.Beta1), OneMinusB1 = n.FromDouble(1 - p.Beta1),
            B2 = n.FromDouble(p.Beta2), OneMinusB2 = n.FromDouble(1 - p.Beta2),
            Bias2Sqrt = n.FromDouble(p.Bias2Sqrt), Eps = n.FromDouble(p.Eps),
            StepScale = n.FromDouble(p.StepScale), Decay = n.FromDouble(p.DecoupledScale),
            Decoupled = p.DecoupledScale != 1 ? 1 : 0, Amsgrad = vmax is null ? 0 : 1,
        };
        var vv = Dense<T>(v);
        kernel(w.Count, Dense<T>(w), Dense<T>(g), Dense<T>(m), vv, vmax is { } x ? Dense<T>(x) : vv, s);
        AfterLaunch();
    }

    void Sgd<T, N>(BufferView w, BufferView g, BufferView? buffer, in FusedSgdParams p)
        where T : unmanaged where N : struct, IFloating<T>
    {
        var kernel = Implicit<Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, SgdScalars<T>>,
            Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, SgdScalars<T>>>(
            OptimizerKernels.Sgd<T, N>, k => Accelerator.LoadAutoGroupedStreamKernel(k));
        if (w.Count == 0) return;
        var n = default(N);
        var s = new SgdScalars<T>
        {
            Terms = Terms<T, N>(p.Terms),
            NegLr = n.FromDouble(-p.Lr), Momentum = n.FromDouble(p.Momentum), OneMinusDampening = n.FromDouble(1 - p.Dampening),
            HasBuffer = buffer is null ? 0 : 1, Nesterov = p.Nesterov ? 1 : 0, Initialize = p.InitializeBuffer ? 1 : 0,
        };
        var wv = Dense<T>(w);
        kernel(w.Count, wv, Dense<T>(g), buffer is { } b ? Dense<T>(b) : wv, s);
        AfterLaunch();
    }
}
