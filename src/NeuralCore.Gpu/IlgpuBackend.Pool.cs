using ILGPU;
using ILGPU.Runtime;
using NeuralCore.Backends;
using NeuralCore.Gpu.Kernels;

namespace NeuralCore.Gpu;

public sealed partial class IlgpuBackend : IMaxPoolValues
{
    /// <inheritdoc />
    public void MaxPool2d(BufferView input, BufferView destination, BufferView indices, Pool2dParams p)
    {
        CheckPool(nameof(MaxPool2d), input, destination, p);
        if (indices.DType != DType.Int64 || !indices.IsContiguous || !indices.Shape.AsSpan().SequenceEqual(destination.Shape))
            throw new ArgumentException($"MaxPool2d: indices must be a contiguous Int64 view shaped like the output {ShapeMath.Format(destination.Shape)}.");
        switch (input.DType)
        {
            case DType.Float32: MaxPool<float, F32>(input, destination, indices, p, float.NegativeInfinity); break;
            default: MaxPool<double, F64>(input, destination, indices, p, double.NegativeInfinity); break;
        }
    }

    void IMaxPoolValues.MaxPool2dValues(BufferView input, BufferView destination, Pool2dParams p)
    {
        CheckPool(nameof(IMaxPoolValues.MaxPool2dValues), input, destination, p);
        CountFused(nameof(IMaxPoolValues.MaxPool2dValues));
        switch (input.DType)
        {
            case DType.Float32: MaxPoolValues<float, F32>(input, destination, p, float.NegativeInfinity); break;
            default: MaxPoolValues<double, F64>(input, destination, p, double.NegativeInfinity); break;
        }
    }

    /// <inheritdoc />
    public void MaxPool2dBackward(BufferView gradOutput, BufferView indices, BufferView gradInput, Pool2dParams p)
    {
        CheckPool(nameof(MaxPool2dBackward), gradInput, gradOutput, p);
        if (indices.DType != DType.Int64 || !indices.Shape.AsSpan().SequenceEqual(gradOutput.Shape))
            throw new ArgumentException($"MaxPool2dBackward: indices must be Int64 shaped like gradOutput {ShapeMath.Format(gradOutput.Shape)}.");
        switch (gradOutput.DType)
        {
            case DType.Float32: MaxPoolBackward<float, F32>(gradOutput, indices, gradInput, p); break;
            default: MaxPoolBackward<double, F64>(gradOutput, indices, gradInput, p); break;
        }
    }

    /// <inheritdoc />
    public void AvgPool2d(BufferView input, BufferView destination, Pool2dParams p)
    {
        CheckPool(nameof(AvgPool2d), input, destination, p);
        switch (input.DType)
        {
            case DType.Float32: AvgPool<float, F32>(input, destination, p); break;
            default: AvgPool<double, F64>(input, destination, p); break;
        }
    }

    /// <inheritdoc />
    public void AvgPool2dBackward(BufferView gradOutput, BufferView gradInput, Pool2dParams p)
    {
        CheckPool(nameof(AvgPool2dBackward), gradInput, gradOutput, p);
        switch (gradOutput.DType)
        {
            case DType.Float32: AvgPoolBackward<float, F32>(gradOutput, gradInput, p); break;
            default: AvgPoolBackward<double, F64>(gradOutput, gradInput, p); break;
        }
    }

    static void CheckPool(string op, BufferView input, BufferView output, Pool2dParams p)
    {
        p.Check(op, input, output);
        // The device kernels compute window bounds and the padded-window divisor in 32 bits.
        long reachH = (long)output.Shape[2] * p.StrideH + p.PadH + p.KernelH + input.Shape[2];
        long reachW = (long)output.Shape[3] * p.StrideW + p.PadW + p.KernelW + input.Shape[3];
        if (reachH > int.MaxValue || reachW > int.MaxValue || (long)p.KernelH * p.KernelW > int.MaxValue)
            throw new ArgumentException($"{op}: {p} on input {ShapeMath.Format(input.Shape)} needs window arithmetic beyond the {int.MaxValue} the GPU pooling kernels can index.");
        if (!input.DType.IsFloatingPoint()) throw new ArgumentException($"{op}: needs Float32 or Float64 tensors, got {input.DType}.");
    }

    static PoolShape Geometry(BufferView input, BufferView output, Pool2dParams p) => new()
    {
        C = input.Shape[1], H = input.Shape[2], W = input.Shape[3], OH = output.Shape[2], OW = output.Shape[3],
        KH = p.KernelH, KW = p.KernelW, SH = p.StrideH, SW = p.StrideW, PH = p.PadH, PW = p.PadW,
        CountIncludePad = p.CountIncludePad ? 1 : 0,
    };

    static Nchw Strides4(BufferView v) => new() { Offset = v.Offset, N = v.Strides[0], C = v.Strides[1], H = v.Strides[2], W = v.Strides[3] };

    static void CheckDense(BufferView v, string op)
    {
        if (!v.IsContiguous) throw new ArgumentException($"{op}: the destination must be contiguous.");
    }

    void MaxPool<T, N>(BufferView x, BufferView y, BufferView indices, Pool2dParams p, T negativeInfinity) where T : unmanaged where N : struct, INumeric<T>
    {
        var kernel = Implicit<Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<long>, PoolShape, Nchw, T>,
            Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<long>, PoolShape, Nchw, T>>(
            PoolKernels.MaxForward<T, N>, k => Accelerator.LoadAutoGroupedStreamKernel(k));
        CheckDense(y, nameof(MaxPool2d));
        if (y.Count == 0) return;
        kernel(y.Count, View<T>(x), View<T>(y).SubView(y.Offset), View<long>(indices).SubView(indices.Offset), Geometry(x, y, p), Strides4(x), negativeInfinity);
        AfterLaunch();
    }

    void MaxPoolValues<T, N>(BufferView x, BufferView y, Pool2dParams p, T negativeInfinity) where T : unmanaged where N : struct, INumeric<T>
    {
        var kernel = Implicit<Action<Index1D, ArrayView<T>, ArrayView<T>, PoolShape, Nchw, T>, Action<Index1D, ArrayView<T>, ArrayView<T>, PoolShape, Nchw, T>>(
            PoolKernels.MaxValues<T, N>, k => Accelerator.LoadAutoGroupedStreamKernel(k));
        CheckDense(y, nameof(IMaxPoolValues.MaxPool2dValues));
        if (y.Count == 0) return;
        kernel(y.Count, View<T>(x), View<T>(y).SubView(y.Offset), Geometry(x, y, p), Strides4(x), negativeInfinity);
        AfterLaunch();
    }

    void MaxPoolBackward<T, N>(BufferView dy, BufferView indices, BufferView dx, Pool2dParams p) where T : unmanaged where N : struct, INumeric<T>
    {
        var kernel = Implicit<Action<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, ArrayView<long>, PoolShape, Nchw, Nchw, int, int>,
            Action<Index1D, ArrayView<T>, ArrayView<long>, ArrayView<T>, ArrayView<long>, PoolShape, Nchw, Nchw, int, int>>(
            PoolKernels.MaxBackward<T, N>, k => Accelerator.LoadAutoGroupedStreamKernel(k));
        CheckDense(dx, nameof(MaxPool2dBackward));
        Fill(dx, 0);
        if (dy.Count == 0) return;
        Interlocked.Increment(ref checkedKernelsSinceRead);
        kernel(dy.Count, View<T>(dy), View<long>(indices), View<T>(dx), errors.View, Geometry(dx, dy, p), Strides4(dy), Strides4(indices), dx.Offset,
            ErrorCode(nameof(MaxPool2dBackward)));
        AfterLaunch();
    }

    void AvgPool<T, N>(BufferView x, BufferView y, Pool2dParams p) where T : unmanaged where N : struct, INumeric<T>
    {
        var kernel = Implicit<Action<Index1D, ArrayView<T>, ArrayView<T>, PoolShape, Nchw>, Action<Index1D, ArrayView<T>, ArrayView<T>, PoolShape, Nchw>>(
            PoolKernels.AvgForward<T, N>, k => Accelerator.LoadAutoGroupedStreamKernel(k));
        CheckDense(y, nameof(AvgPool2d));
        if (y.Count == 0) return;
        kernel(y.Count, View<T>(x), View<T>(y).SubView(y.Offset), Geometry(x, y, p), Strides4(x));
        AfterLaunch();
    }

    void AvgPoolBackward<T, N>(BufferView dy, BufferView dx, Pool2dParams p) where T : unmanaged where N : struct, INumeric<T>
    {
        var kernel = Implicit<Action<Index1D, ArrayView<T>, ArrayView<T>, PoolShape, Nchw, int>, Action<Index1D, ArrayView<T>, ArrayView<T>, PoolShape, Nchw, int>>(
            PoolKernels.AvgBackward<T, N>, k => Accelerator.LoadAutoGroupedStreamKernel(k));
        CheckDense(dx, nameof(AvgPool2dBackward));
        if (dx.Count == 0) return;
        kernel(dx.Count, View<T>(dy), View<T>(dx), Geometry(dx, dy, p), Strides4(dy), dx.Offset);
        AfterLaunch();
    }
}
