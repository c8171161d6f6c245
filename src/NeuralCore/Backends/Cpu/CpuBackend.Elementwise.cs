using System.Numerics;
using NeuralCore.Backends.Cpu.Kernels;

namespace NeuralCore.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc />
    public void Unary(UnaryOp op, BufferView x, BufferView destination, double a = 0, double b = 0)
    {
        switch (x.DType)
        {
            case DType.Float32: FloatUnary<float>(op, x, destination, a, b); break;
            case DType.Float64: FloatUnary<double>(op, x, destination, a, b); break;
            case DType.Int32: NumericUnary<int>(op, x, destination, a, b); break;
            case DType.Int64: NumericUnary<long>(op, x, destination, a, b); break;
            case DType.UInt8: NumericUnary<byte>(op, x, destination, a, b); break;
            default: throw new ArgumentException($"{op}: not defined for Bool tensors.");
        }
    }

    static void FloatUnary<T>(UnaryOp op, BufferView x, BufferView d, double a, double b)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T ta = T.CreateTruncating(a);
        switch (op)
        {
            case UnaryOp.Exp: RunUnary<T, ExpKernel<T>>(new ExpKernel<T>(), x, d); break;
            case UnaryOp.Log: RunUnary<T, LogKernel<T>>(new LogKernel<T>(), x, d); break;
            case UnaryOp.Sqrt: RunUnary<T, SqrtKernel<T>>(new SqrtKernel<T>(), x, d); break;
            case UnaryOp.Rsqrt: RunUnary<T, RsqrtKernel<T>>(new RsqrtKernel<T>(), x, d); break;
            case UnaryOp.Reciprocal: RunUnary<T, ReciprocalKernel<T>>(new ReciprocalKernel<T>(), x, d); break;
            case UnaryOp.Tanh: RunUnary<T, TanhKernel<T>>(new TanhKernel<T>(), x, d); break;
            case UnaryOp.Sigmoid: RunUnary<T, SigmoidKernel<T>>(new SigmoidKernel<T>(), x, d); break;
            case UnaryOp.Sin: RunUnary<T, SinKernel<T>>(new SinKernel<T>(), x, d); break;
            case UnaryOp.Cos: RunUnary<T, CosKernel<T>>(new CosKernel<T>(), x, d); break;
            case UnaryOp.Erf: RunUnary<T, ErfKernel<T>>(new ErfKernel<T>(), x, d); break;
            case UnaryOp.Gelu: RunUnary<T, GeluKernel<T>>(new GeluKernel<T>(), x, d); break;
            case UnaryOp.Softplus: RunUnary<T, SoftplusKernel<T>>(new SoftplusKernel<T>(), x, d); break;
            case UnaryOp.LeakyRelu: RunUnary<T, LeakyReluKernel<T>>(new LeakyReluKernel<T>(ta), x, d); break;
            case UnaryOp.Elu: RunUnary<T, EluKernel<T>>(new EluKernel<T>(ta), x, d); break;
            case UnaryOp.PowScalar: RunUnary<T, PowScalarKernel<T>>(new PowScalarKernel<T>(ta), x, d); break;
            case UnaryOp.Floor: RunUnary<T, FloorKernel<T>>(new FloorKernel<T>(), x, d); break;
            case UnaryOp.Ceil: RunUnary<T, CeilKernel<T>>(new CeilKernel<T>(), x, d); break;
            case UnaryOp.Round: RunUnary<T, RoundKernel<T>>(new RoundKernel<T>(), x, d); break;
            default: NumericUnary<T>(op, x, d, a, b); break;
        }
    }

    static void NumericUnary<T>(UnaryOp op, BufferView x, BufferView d, double a, double b)
        where T : unmanaged, INumber<T>
    {
        switch (op)
        {
            case UnaryOp.Neg: RunUnary<T, NegKernel<T>>(new NegKernel<T>(), x, d); break;
            case UnaryOp.Abs: RunUnary<T, AbsKernel<T>>(new AbsKernel<T>(), x, d); break;
            case UnaryOp.Sign: RunUnary<T, SignKernel<T>>(new SignKernel<T>(), x, d); break;
            case UnaryOp.Relu: RunUnary<T, ReluKernel<T>>(new ReluKernel<T>(), x, d); break;
            case UnaryOp.Square: RunUnary<T, SquareKernel<T>>(new SquareKernel<T>(), x, d); break;
            case UnaryOp.Clamp:
                RunUnary<T, ClampKernel<T>>(new ClampKernel<T>(T.CreateSaturating(a), T.CreateSaturating(b), !double.IsNegativeInfinity(a), !double.IsPositiveInfinity(b)), x, d);
                break;
            default: throw new ArgumentException($"{op}: not defined for {x.DType} tensors; convert to a floating dtype first.");
        }
    }

    static void RunUnary<T, TKernel>(TKernel kernel, BufferView x, BufferView d)
        where T : unmanaged where TKernel : struct, IUnaryKernel<T>
    {
        Cpu(x);
        Cpu(d);
        UnaryDriver.Run<T, TKernel>(kernel, x, d);
    }

    /// <inheritdoc />
    public void Binary(BinaryOp op, BufferView x, BufferView y, BufferView destination)
    {
        switch (x.DType)
        {
            case DType.Float32: FloatBinary<float>(op, x, y, destination); break;
            case DType.Float64: FloatBinary<double>(op, x, y, destination); break;
            case DType.Int32: NumericBinary<int>(op, x, y, destination); break;
            case DType.Int64: NumericBinary<long>(op, x, y, destination); break;
            default: NumericBinary<byte>(op, x, y, destination); break;
        }
    }

    static void FloatBinary<T>(BinaryOp op, BufferView x, BufferView y, BufferView d)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (op == BinaryOp.Pow) RunBinary<T, T, PowKernel<T>>(default, x, y, d);
        else NumericBinary<T>(op, x, y, d);
    }

    static void NumericBinary<T>(BinaryOp op, BufferView x, BufferView y, BufferView d)
        where T : unmanaged, INumber<T>
    {
        switch (op)
        {
            case BinaryOp.Add: RunBinary<T, T, AddKernel<T>>(default, x, y, d); break;
            case BinaryOp.Sub: RunBinary<T, T, SubKernel<T>>(default, x, y, d); break;
            case BinaryOp.Mul: RunBinary<T, T, MulKernel<T>>(default, x, y, d); break;
            case BinaryOp.Div: RunBinary<T, T, DivKernel<T>>(default, x, y, d); break;
            case BinaryOp.Maximum: RunBinary<T, T, MaximumKernel<T>>(default, x, y, d); break;
            case BinaryOp.Minimum: RunBinary<T, T, MinimumKernel<T>>(default, x, y, d); break;
            case BinaryOp.ReluBackward: RunBinary<T, T, ReluBackwardKernel<T>>(default, x, y, d); break;
            case BinaryOp.Pow: throw new ArgumentException($"Pow: not defined for {x.DType} tensors; convert to a floating dtype first.");
            case BinaryOp.Eq: RunBinary<T, byte, CompareKernel<T, EqTest<T>>>(default, x, y, d); break;
            case BinaryOp.Ne: RunBinary<T, byte, CompareKernel<T, NeTest<T>>>(default, x, y, d); break;
            case BinaryOp.Lt: RunBinary<T, byte, CompareKernel<T, LtTest<T>>>(default, x, y, d); break;
            case BinaryOp.Le: RunBinary<T, byte, CompareKernel<T, LeTest<T>>>(default, x, y, d); break;
            case BinaryOp.Gt: RunBinary<T, byte, CompareKernel<T, GtTest<T>>>(default, x, y, d); break;
            case BinaryOp.Ge: RunBinary<T, byte, CompareKernel<T, GeTest<T>>>(default, x, y, d); break;
            default: throw new ArgumentException($"{op}: not a binary op the CPU backend knows.");
        }
    }

    static void RunBinary<T, TResult, TKernel>(TKernel kernel, BufferView x, BufferView y, BufferView d)
        where T : unmanaged where TResult : unmanaged where TKernel : struct, IBinaryKernel<T, TResult>
    {
        Cpu(x);
        Cpu(y);
        Cpu(d);
        BinaryDriver.Run<T, TResult, TKernel>(kernel, x, y, d);
    }

    /// <inheritdoc />
    bool IScalarBinary.TryBinaryScalar(BinaryOp op, BufferView x, double value, bool scalarFirst, BufferView destination)
    {
        // Dense operands only: a strided x goes through the general strided driver with a 0-d operand.
        if (!x.IsContiguous || !destination.IsContiguous) return false;
        // The scalar is converted exactly as Fill stores it in a 0-d tensor of x's dtype.
        return x.DType switch
        {
            DType.Float32 => FloatScalar(op, x, (float)value, scalarFirst, destination),
            DType.Float64 => FloatScalar(op, x, value, scalarFirst, destination),
            DType.Int32 => NumericScalar(op, x, (int)CheckedInteger(value, int.MinValue, int.MaxValue, DType.Int32), scalarFirst, destination),
            DType.Int64 => NumericScalar(op, x, (long)CheckedInteger(value, -9.2233720368547758e18, 9.2233720368547748e18, DType.Int64), scalarFirst, destination),
            DType.UInt8 => NumericScalar(op, x, (byte)CheckedInteger(value, 0, 255, DType.UInt8), scalarFirst, destination),
            _ => false,
        };
    }

    static bool FloatScalar<T>(BinaryOp op, BufferView x, T s, bool scalarFirst, BufferView d)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (op != BinaryOp.Pow) return NumericScalar(op, x, s, scalarFirst, d);
        RunScalar<T, T, PowKernel<T>>(default, x, s, scalarFirst, d);
        return true;
    }

    static bool NumericScalar<T>(BinaryOp op, BufferView x, T s, bool scalarFirst, BufferView d)
        where T : unmanaged, INumber<T>
    {
        switch (op)
        {
            case BinaryOp.Add: RunScalar<T, T, AddKernel<T>>(default, x, s, scalarFirst, d); return true;
            case BinaryOp.Sub: RunScalar<T, T, SubKernel<T>>(default, x, s, scalarFirst, d); return true;
            case BinaryOp.Mul: RunScalar<T, T, MulKernel<T>>(default, x, s, scalarFirst, d); return true;
            case BinaryOp.Div: RunScalar<T, T, DivKernel<T>>(default, x, s, scalarFirst, d); return true;
            case BinaryOp.Maximum: RunScalar<T, T, MaximumKernel<T>>(default, x, s, scalarFirst, d); return true;
            case BinaryOp.Minimum: RunScalar<T, T, MinimumKernel<T>>(default, x, s, scalarFirst, d); return true;
            case BinaryOp.Eq: RunScalar<T, byte, CompareKernel<T, EqTest<T>>>(default, x, s, scalarFirst, d); return true;
            case BinaryOp.Ne: RunScalar<T, byte, CompareKernel<T, NeTest<T>>>(default, x, s, scalarFirst, d); return true;
            case BinaryOp.Lt: RunScalar<T, byte, CompareKernel<T, LtTest<T>>>(default, x, s, scalarFirst, d); return true;
            case BinaryOp.Le: RunScalar<T, byte, CompareKernel<T, LeTest<T>>>(default, x, s, scalarFirst, d); return true;
            case BinaryOp.Gt: RunScalar<T, byte, CompareKernel<T, GtTest<T>>>(default, x, s, scalarFirst, d); return true;
            case BinaryOp.Ge: RunScalar<T, byte, CompareKernel<T, GeTest<T>>>(default, x, s, scalarFirst, d); return true;
            default: return false;
        }
    }

    static void RunScalar<T, TResult, TKernel>(TKernel kernel, BufferView x, T s, bool scalarFirst, BufferView d)
        where T : unmanaged where TResult : unmanaged where TKernel : struct, IBinaryKernel<T, TResult>
    {
        Cpu(x);
        Cpu(d);
        BinaryDriver.RunScalar<T, TResult, TKernel>(kernel, x, s, scalarFirst, d);
    }

    /// <inheritdoc />
    public void Where(BufferView condition, BufferView x, BufferView y, BufferView destination)
    {
        switch (x.DType.SizeOf())
        {
            case 1: WhereTyped<byte>(condition, x, y, destination); break;
            case 4: WhereTyped<int>(condition, x, y, destination); break;
            default: WhereTyped<long>(condition, x, y, destination); break;
        }
    }

    static void WhereTyped<T>(BufferView c, BufferView x, BufferView y, BufferView d) where T : unmanaged
    {
        Cpu(c);
        Cpu(x);
        Cpu(y);
        Cpu(d);
        WhereDriver.Run<T>(c, x, y, d);
    }
}
