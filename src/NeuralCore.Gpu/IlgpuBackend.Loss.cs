using System.Numerics;
using ILGPU;
using ILGPU.Runtime;
using NeuralCore.Backends;
using NeuralCore.Gpu.Kernels;

namespace NeuralCore.Gpu;

// Fused cross-entropy (see LossKernels): the forward is one launch for per-sample losses and two for a sum or
// mean; the backward is one. The targets are checked on the device, never read back.
public sealed partial class IlgpuBackend : IFusedLossKernels
{
    /// <inheritdoc />
    /// <exception cref="ArgumentException">
    /// Thrown by the next read of any tensor of this device (not by this call) when a target other than
    /// <paramref name="ignoreIndex"/> is outside [0, C): the same exception and message as the CPU backend.
    /// </exception>
    public void CrossEntropyForward(BufferView logits, BufferView target, long ignoreIndex, bool mean, BufferView saved, BufferView output)
    {
        CheckCrossEntropy(logits, target, saved);
        bool perSample = FusedOperandChecks.CrossEntropyOutput(logits, output);
        Own(output.Storage, nameof(CrossEntropyForward));
        CountFused(nameof(CrossEntropyForward));
        var s = CrossEntropyShapeOf(logits, ignoreIndex, perSample, mean);
        switch (logits.DType, target.DType)
        {
            case (DType.Float32, DType.Int64): CrossEntropyForward<float, F32, long, I64>(logits, target, saved, output, s); break;
            case (DType.Float32, _): CrossEntropyForward<float, F32, int, I32>(logits, target, saved, output, s); break;
            case (_, DType.Int64): CrossEntropyForward<double, F64, long, I64>(logits, target, saved, output, s); break;
            default: CrossEntropyForward<double, F64, int, I32>(logits, target, saved, output, s); break;
        }
    }

    /// <inheritdoc />
    public void CrossEntropyBackward(BufferView logits, BufferView target, long ignoreIndex, BufferView saved,
        BufferView gradOutput, BufferView gradInput)
    {
        CheckCrossEntropy(logits, target, saved);
        bool perSample = FusedOperandChecks.CrossEntropyGradients(logits, gradOutput, gradInput);
        Own(gradOutput.Storage, nameof(CrossEntropyBackward));
        Own(gradInput.Storage, nameof(CrossEntropyBackward));
        CountFused(nameof(CrossEntropyBackward));
        var s = CrossEntropyShapeOf(logits, ignoreIndex, perSample, mean: false);
        switch (logits.DType, target.DType)
        {
            case (DType.Float32, DType.Int64): CrossEntropyBackward<float, F32, long, I64>(logits, target, saved, gradOutput, gradInput, s); break;
            case (DType.Float32, _): CrossEntropyBackward<float, F32, int, I32>(logits, target, saved, gradOutput, gradInput, s); break;
            case (_, DType.Int64): CrossEntropyBackward<double, F64, long, I64>(logits, target, saved, gradOutput, gradInput, s); break;
            default: CrossEntropyBackward<double, F64, int, I32>(logits, target, saved, gradOutput, gradInput, s); break;
        }
    }

    void CheckCrossEntropy(BufferView logits, BufferView target, BufferView saved)
    {
        FusedOperandChecks.CrossEntropy(logits, target, saved);
        Own(logits.Storage, "CrossEntropy");
        Own(target.Storage, "CrossEntropy");
        Own(saved.Storage, "CrossEntropy");
    }

    static CrossEntropyShape CrossEntropyShapeOf(BufferView logits, long ignoreIndex, bool perSample, bool mean) => new()
    {
        Rows = logits.Shape[0], Classes = logits.Shape[1], PerSample = perSample ? 1 : 0, Mean = mean ? 1 : 0,
        IgnoreIndex = ignoreIndex, ErrorCode = ErrorCode("CrossEntropy"),
    };

    void CrossEntropyForward<T, N, TI, NI>(BufferView x, BufferView t, BufferView saved, BufferView output, CrossEntropyShape s)
        where T : unmanaged where N : struct, IFloating<T> where TI : unmanaged where NI : struct, INumeric<TI>
    {
        var rows = Explicit<Action<ArrayView<T>, ArrayView<TI>, ArrayView<T>, ArrayView<T>, ArrayView<long>, CrossEntropyShape>,
            Action<KernelConfig, ArrayView<T>, ArrayView<TI>, ArrayView<T>, ArrayView<T>, ArrayView<long>, CrossEntropyShape>>(
            LossKernels.RowForward<T, N, TI, NI>, k => Accelerator.LoadStreamKernel(k));
        var total = Explicit<Action<ArrayView<T>, ArrayView<TI>, ArrayView<T>, ArrayView<T>, CrossEntropyShape>,
            Action<KernelConfig, ArrayView<T>, ArrayView<TI>, ArrayView<T>, ArrayView<T>, CrossEntropyShape>>(
            LossKernels.Total<T, N, TI, NI>, k => Accelerator.LoadStreamKernel(k));
        if (s.Rows == 0 && s.PerSample != 0)
        {
            Fill(saved, 1);   // no rows: only the divisor, 1 for per-sample losses
            return;
        }
        // Per-sample losses go straight to the output; a sum or mean first collects them in a scratch buffer.
        Storage? scratch = s.PerSample != 0 || s.Rows == 0 ? null : Allocate(x.DType, s.Rows);
        try
        {
            var losses = scratch is null ? Dense<T>(output) : Own(scratch, nameof(CrossEntropyForward)).View<T>().SubView(0, s.Rows);
            var tv = Dense<TI>(t);
            var sv = Dense<T>(saved);
            if (s.Rows > 0)
            {
                int group = Math.Min(ReduceGroupSize, (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, s.Classes)));
                Interlocked.Increment(ref checkedKernelsSinceRead);
                rows(new KernelConfig(s.Rows, group), Dense<T>(x), tv, sv, losses, errors.View, s);
                AfterLaunch();
            }
            if (s.PerSample == 0)
            {
                total(new KernelConfig(1, ReduceGroupSize), losses, tv, sv, Dense<T>(output), s);
                AfterLaunch();
            }
        }
        finally
        {
            scratch?.Release();
        }
    }

    void CrossEntropyBackward<T, N, TI, NI>(BufferView x, BufferView t, BufferView saved, BufferView dy, BufferView dx, CrossEntropyShape s)
        where T : unmanaged where N : struct, IFloating<T> where TI : unmanaged where NI : struct, INumeric<TI>
    {
        var kernel = Implicit<Action<Index1D, ArrayView<T>, ArrayView<TI>, ArrayView<T>, ArrayView<T>, ArrayView<T>, CrossEntropyShape>,
            Action<Index1D, ArrayView<T>, ArrayView<TI>, ArrayView<T>, ArrayView<T>, ArrayView<T>, CrossEntropyShape>>(
            LossKernels.Backward<T, N, TI, NI>, k => Accelerator.LoadAutoGroupedStreamKernel(k));
        if (dx.Count == 0) return;
        kernel(dx.Count, Dense<T>(x), Dense<TI>(t), Dense<T>(saved), Dense<T>(dy), Dense<T>(dx), s);
        AfterLaunch();
    }
}
