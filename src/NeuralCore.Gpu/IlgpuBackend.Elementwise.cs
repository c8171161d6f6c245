using ILGPU;
using ILGPU.Runtime;
using NeuralCore.Backends;
using NeuralCore.Gpu.Kernels;

namespace NeuralCore.Gpu;

public sealed partial class IlgpuBackend
{
    /// <inheritdoc />
    public void Copy(BufferView source, BufferView destination)
    {
        if (source.DType == destination.DType)
        {
            switch (source.DType.SizeOf())
            {
                case 1: RunMap<byte, byte, IdentityFn<byte>>(default, source, destination); break;
                case 4: RunMap<int, int, IdentityFn<int>>(default, source, destination); break;
                default: RunMap<long, long, IdentityFn<long>>(default, source, destination); break;
            }
            return;
        }
        switch (source.DType)
        {
            case DType.Float32: CastFrom<float, F32>(source, destination); break;
            case DType.Float64: CastFrom<double, F64>(source, destination); break;
            case DType.Int32: CastFrom<int, I32>(source, destination); break;
            case DType.Int64: CastFrom<long, I64>(source, destination); break;
            default: CastFrom<byte, U8>(source, destination); break;
        }
    }

    void CastFrom<TFrom, NFrom>(BufferView s, BufferView d) where TFrom : unmanaged where NFrom : struct, INumeric<TFrom>
    {
        switch (d.DType)
        {
            case DType.Float32: RunMap<TFrom, float, ConvertFn<TFrom, NFrom, float, F32>>(default, s, d); break;
            case DType.Float64: RunMap<TFrom, double, ConvertFn<TFrom, NFrom, double, F64>>(default, s, d); break;
            case DType.Int32: RunMap<TFrom, int, ConvertFn<TFrom, NFrom, int, I32>>(default, s, d); break;
            case DType.Int64: RunMap<TFrom, long, ConvertFn<TFrom, NFrom, long, I64>>(default, s, d); break;
            case DType.UInt8: RunMap<TFrom, byte, ConvertFn<TFrom, NFrom, byte, U8>>(default, s, d); break;
            default: RunMap<TFrom, byte, ToBoolFn<TFrom, NFrom>>(default, s, d); break;
        }
    }

    /// <inheritdoc />
    public void Fill(BufferView destination, double value)
    {
        switch (destination.DType)
        {
            case DType.Float32: RunFill(destination, (float)value); break;
            case DType.Float64: RunFill(destination, value); break;
            case DType.Int32: RunFill(destination, (int)CheckedInteger(value, int.MinValue, int.MaxValue, DType.Int32)); break;
            case DType.Int64: RunFill(destination, (long)CheckedInteger(value, -9.2233720368547758e18, 9.2233720368547748e18, DType.Int64)); break;
            case DType.UInt8: RunFill(destination, (byte)CheckedInteger(value, 0, 255, DType.UInt8)); break;
            default: RunFill(destination, value != 0 ? (byte)1 : (byte)0); break;
        }
    }

    static double CheckedInteger(double value, double min, double max, DType dtype)
    {
        if (double.IsNaN(value) || value < min || value > max)
            throw new ArgumentOutOfRangeException(nameof(value), value, $"Fill: {value} cannot be stored in a {dtype} tensor.");
        return Math.Truncate(value);
    }

    /// <inheritdoc />
    public void Unary(UnaryOp op, BufferView x, BufferView destination, double a = 0, double b = 0)
    {
        switch (x.DType)
        {
            case DType.Float32: FloatUnary<float, F32>(op, x, destination, a, b); break;
            case DType.Float64: FloatUnary<double, F64>(op, x, destination, a, b); break;
            case DType.Int32: NumericUnary<int, I32>(op, x, destination, a, b); break;
            case DType.Int64: NumericUnary<long, I64>(op, x, destination, a, b); break;
            case DType.UInt8: NumericUnary<byte, U8>(op, x, destination, a, b); break;
            default: throw new ArgumentException($"{op}: not defined for Bool tensors.");
        }
    }

    void FloatUnary<T, N>(UnaryOp op, BufferView x, BufferView d, double a, double b) where T : unmanaged where N : struct, IFloating<T>
    {
        T ta = default(N).FromDouble(a);
        switch (op)
        {
            case UnaryOp.Exp: RunMap<T, T, ExpFn<T, N>>(default, x, d); break;
            case UnaryOp.Log: RunMap<T, T, LogFn<T, N>>(default, x, d); break;
            case UnaryOp.Sqrt: RunMap<T, T, SqrtFn<T, N>>(default, x, d); break;
            case UnaryOp.Rsqrt: RunMap<T, T, RsqrtFn<T, N>>(default, x, d); break;
            case UnaryOp.Reciprocal: RunMap<T, T, ReciprocalFn<T, N>>(default, x, d); break;
            case UnaryOp.Tanh: RunMap<T, T, TanhFn<T, N>>(default, x, d); break;
            case UnaryOp.Sigmoid: RunMap<T, T, SigmoidFn<T, N>>(default, x, d); break;
            case UnaryOp.Sin: RunMap<T, T, SinFn<T, N>>(default, x, d); break;
            case UnaryOp.Cos: RunMap<T, T, CosFn<T, N>>(default, x, d); break;
            case UnaryOp.Erf: RunMap<T, T, ErfFn<T, N>>(default, x, d); break;
            case UnaryOp.Gelu: RunMap<T, T, GeluFn<T, N>>(default, x, d); break;
            case UnaryOp.Softplus: RunMap<T, T, SoftplusFn<T, N>>(default, x, d); break;
            case UnaryOp.LeakyRelu: RunMap<T, T, LeakyReluFn<T, N>>(new(ta), x, d); break;
            case UnaryOp.Elu: RunMap<T, T, EluFn<T, N>>(new(ta), x, d); break;
            case UnaryOp.PowScalar: RunMap<T, T, PowScalarFn<T, N>>(new(ta), x, d); break;
            case UnaryOp.Floor: RunMap<T, T, FloorFn<T, N>>(default, x, d); break;
            case UnaryOp.Ceil: RunMap<T, T, CeilFn<T, N>>(default, x, d); break;
            case UnaryOp.Round: RunMap<T, T, RoundFn<T, N>>(default, x, d); break;
            default: NumericUnary<T, N>(op, x, d, a, b); break;
        }
    }

    void NumericUnary<T, N>(UnaryOp op, BufferView x, BufferView d, double a, double b) where T : unmanaged where N : struct, INumeric<T>
    {
        switch (op)
        {
            case UnaryOp.Neg: RunMap<T, T, NegFn<T, N>>(default, x, d); break;
            case UnaryOp.Abs: RunMap<T, T, AbsFn<T, N>>(default, x, d); break;
            case UnaryOp.Sign: RunMap<T, T, SignFn<T, N>>(default, x, d); break;
            case UnaryOp.Relu: RunMap<T, T, ReluFn<T, N>>(default, x, d); break;
            case UnaryOp.Square: RunMap<T, T, SquareFn<T, N>>(default, x, d); break;
            case UnaryOp.Clamp:
                var n = default(N);
                RunMap<T, T, ClampFn<T, N>>(new(n.FromDouble(a), n.FromDouble(b), double.IsNegativeInfinity(a) ? 0 : 1, double.IsPositiveInfinity(b) ? 0 : 1), x, d);
                break;
            default: throw new ArgumentException($"{op}: not defined for {x.DType} tensors; convert to a floating dtype first.");
        }
    }

    /// <inheritdoc />
    public void Binary(BinaryOp op, BufferView x, BufferView y, BufferView destination)
    {
        switch (x.DType)
        {
            case DType.Float32: FloatBinary<float, F32>(op, x, y, destination); break;
            case DType.Float64: FloatBinary<double, F64>(op, x, y, destination); break;
            case DType.Int32: NumericBinary<int, I32>(op, x, y, destination); break;
            case DType.Int64: NumericBinary<long, I64>(op, x, y, destination); break;
            default: NumericBinary<byte, U8>(op, x, y, destination); break;
        }
    }

    void FloatBinary<T, N>(BinaryOp op, BufferView x, BufferView y, BufferView d) where T : unmanaged where N : struct, IFloating<T>
    {
        if (op == BinaryOp.Pow) RunBinary<T, T, PowFn<T, N>>(default, x, y, d);
        else NumericBinary<T, N>(op, x, y, d);
    }

    void NumericBinary<T, N>(BinaryOp op, BufferView x, BufferView y, BufferView d) where T : unmanaged where N : struct, INumeric<T>
    {
        switch (op)
        {
            case BinaryOp.Add: RunBinary<T, T, AddFn<T, N>>(default, x, y, d); break;
            case BinaryOp.Sub: RunBinary<T, T, SubFn<T, N>>(default, x, y, d); break;
            case BinaryOp.Mul: RunBinary<T, T, MulFn<T, N>>(default, x, y, d); break;
            case BinaryOp.Div: RunBinary<T, T, DivFn<T, N>>(default, x, y, d); break;
            case BinaryOp.Maximum: RunBinary<T, T, MaximumFn<T, N>>(default, x, y, d); break;
            case BinaryOp.Minimum: RunBinary<T, T, MinimumFn<T, N>>(default, x, y, d); break;
            case BinaryOp.ReluBackward: RunBinary<T, T, ReluBackwardFn<T, N>>(default, x, y, d); break;
            case BinaryOp.Pow: throw new ArgumentException($"Pow: not defined for {x.DType} tensors; convert to a floating dtype first.");
            default:
                if (!op.IsComparison()) throw new ArgumentException($"{op}: not defined for {x.DType} tensors.");
                RunBinary<T, byte, CompareFn<T, N>>(new(op), x, y, d);
                break;
        }
    }

    /// <inheritdoc />
    public void Where(BufferView condition, BufferView x, BufferView y, BufferView destination)
    {
        switch (x.DType.SizeOf())
        {
            case 1: RunWhere<byte>(condition, x, y, destination); break;
            case 4: RunWhere<int>(condition, x, y, destination); break;
            default: RunWhere<long>(condition, x, y, destination); break;
        }
    }

    void RunMap<TIn, TOut, TFn>(TFn fn, BufferView x, BufferView d)
        where TIn : unmanaged where TOut : unmanaged where TFn : struct, IMapFn<TIn, TOut>
    {
        var kernel = Implicit<Action<Index1D, ArrayView<TIn>, ArrayView<TOut>, Shape8, Strides8, Strides8, TFn>,
            Action<Index1D, ArrayView<TIn>, ArrayView<TOut>, Shape8, Strides8, Strides8, TFn>>(
            ElementwiseKernels.Map, k => Accelerator.LoadAutoGroupedStreamKernel(k));
        if (d.Count == 0) return;
        var xv = View<TIn>(x);
        var dv = View<TOut>(d);
        LayoutBuilder.Launch(d.Shape, [d, x], (shape, s, n) => kernel(n, xv, dv, shape, s[1], s[0], fn));
        AfterLaunch();
        KeepAlive(x, d);
    }

    void RunBinary<T, TOut, TFn>(TFn fn, BufferView x, BufferView y, BufferView d)
        where T : unmanaged where TOut : unmanaged where TFn : struct, IBinaryFn<T, TOut>
    {
        var kernel = Implicit<Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<TOut>, Shape8, Strides8, Strides8, Strides8, TFn>,
            Action<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<TOut>, Shape8, Strides8, Strides8, Strides8, TFn>>(
            ElementwiseKernels.Binary, k => Accelerator.LoadAutoGroupedStreamKernel(k));
        if (d.Count == 0) return;
        var xv = View<T>(x);
        var yv = View<T>(y);
        var dv = View<TOut>(d);
        LayoutBuilder.Launch(d.Shape, [d, x, y], (shape, s, n) => kernel(n, xv, yv, dv, shape, s[1], s[2], s[0], fn));
        AfterLaunch();
        KeepAlive(x, y, d);
    }

    void RunWhere<T>(BufferView c, BufferView x, BufferView y, BufferView d) where T : unmanaged
    {
        var kernel = Implicit<Action<Index1D, ArrayView<byte>, ArrayView<T>, ArrayView<T>, ArrayView<T>, Shape8, Strides8, Strides8, Strides8, Strides8>,
            Action<Index1D, ArrayView<byte>, ArrayView<T>, ArrayView<T>, ArrayView<T>, Shape8, Strides8, Strides8, Strides8, Strides8>>(
            ElementwiseKernels.Where, k => Accelerator.LoadAutoGroupedStreamKernel(k));
        if (d.Count == 0) return;
        var cv = View<byte>(c);
        var xv = View<T>(x);
        var yv = View<T>(y);
        var dv = View<T>(d);
        LayoutBuilder.Launch(d.Shape, [d, c, x, y], (shape, s, n) => kernel(n, cv, xv, yv, dv, shape, s[1], s[2], s[3], s[0]));
        AfterLaunch();
        KeepAlive(c, x, y, d);
    }

    void RunFill<T>(BufferView d, T value) where T : unmanaged
    {
        var kernel = Implicit<Action<Index1D, ArrayView<T>, Shape8, Strides8, T>, Action<Index1D, ArrayView<T>, Shape8, Strides8, T>>(
            ElementwiseKernels.Fill, k => Accelerator.LoadAutoGroupedStreamKernel(k));
        if (d.Count == 0) return;
        var dv = View<T>(d);
        LayoutBuilder.Launch(d.Shape, [d], (shape, s, n) => kernel(n, dv, shape, s[0], value));
        AfterLaunch();
    }

    // A storage whose tensor the caller no longer uses may be finalized (and its buffer pooled and reused) while a
    // launch that reads it is still being issued: keep the operands' storages reachable until the launch is done.
    static void KeepAlive(params ReadOnlySpan<BufferView> operands)
    {
        foreach (var v in operands) GC.KeepAlive(v.Storage);
    }
}
