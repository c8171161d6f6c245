using NeuralCore.Autograd;
using NeuralCore.Backends;
using NeuralCore.Profiling;

namespace NeuralCore;

public sealed partial class Tensor
{
    void CheckInPlace(string op)
    {
        ThrowIfDisposed();
        if (GradMode.Enabled && RequiresGrad)
            throw new InvalidOperationException(
                $"{op}: in-place operation on a tensor that requires grad; wrap it in using (Tensor.NoGrad()) {{ ... }} or use the out-of-place form.");
    }

    // The operand as a view broadcast to this tensor's shape and converted to its dtype; copied first when it
    // shares memory with this tensor, so the kernel never reads what it has already overwritten.
    BufferView InPlaceOperand(Tensor other, string op)
    {
        CheckSameDevice(this, other, op);
        var target = ShapeMath.Broadcast(shape, other.shape, op);
        if (!target.AsSpan().SequenceEqual(shape))
            throw new ArgumentException($"{op}: the operand's shape {other.Shape} does not broadcast to {Shape}.");
        var o = other.DType == DType ? other : other.CastRaw(DType);
        if (ReferenceEquals(o.storage, storage) && !(o.offset == offset && o.strides.AsSpan().SequenceEqual(strides) && o.shape.AsSpan().SequenceEqual(shape)))
            o = o.CopyRaw();
        return BroadcastView(o, shape);
    }

    /// <summary>Copies <paramref name="source"/> (broadcast, converted) into this tensor. Returns this tensor.</summary>
    public Tensor Copy_(Tensor source)
    {
        CheckInPlace(nameof(Copy_));
        Backend.Copy(InPlaceOperand(source, nameof(Copy_)), Buf);
        return this;
    }

    /// <summary>Sets every element to 0.</summary>
    public Tensor Zero_() => Fill_(0);

    /// <summary>Sets every element to <paramref name="value"/>.</summary>
    public Tensor Fill_(double value)
    {
        CheckInPlace(nameof(Fill_));
        Backend.Fill(Buf, value);
        return this;
    }

    Tensor BinaryInPlace(BinaryOp op, Tensor other, string name)
    {
        CheckInPlace(name);
        if (!DType.IsFloatingPoint() && op == BinaryOp.Div)
            throw new InvalidOperationException($"{name}: true division cannot be stored in a {DType} tensor.");
        Backend.Binary(op, Buf, InPlaceOperand(other, name), Buf);
        FlopCosts.Binary(op, Buf);
        return this;
    }

    // The scalar is stored in this tensor's dtype (as Fill stores it) and the op runs in that dtype; the
    // backend's by-value scalar path where it has one, else a 0-d tensor operand, with the same values.
    Tensor ScalarInPlace(BinaryOp op, double value, string name)
    {
        bool scalarPath = DType != DType.Bool && (op != BinaryOp.Div || DType.IsFloatingPoint()) && Backend is IScalarBinary;
        if (scalarPath)
        {
            CheckInPlace(name);
            if (((IScalarBinary)Backend).TryBinaryScalar(op, Buf, value, false, Buf))
            {
                FlopCosts.Binary(op, Buf);
                return this;
            }
        }
        return BinaryInPlace(op, Scalar(value, DType, Device), name);
    }

    /// <summary>this += alpha·other.</summary>
    public Tensor Add_(Tensor other, double alpha = 1) =>
        BinaryInPlace(BinaryOp.Add, alpha == 1 ? other : other.Mul(alpha), nameof(Add_));

    /// <summary>this += value.</summary>
    public Tensor Add_(double value) => ScalarInPlace(BinaryOp.Add, value, nameof(Add_));

    /// <summary>this −= other.</summary>
    public Tensor Sub_(Tensor other) => BinaryInPlace(BinaryOp.Sub, other, nameof(Sub_));

    /// <summary>this −= value.</summary>
    public Tensor Sub_(double value) => ScalarInPlace(BinaryOp.Sub, value, nameof(Sub_));

    /// <summary>this ·= other.</summary>
    public Tensor Mul_(Tensor other) => BinaryInPlace(BinaryOp.Mul, other, nameof(Mul_));

    /// <summary>this ·= value.</summary>
    public Tensor Mul_(double value) => ScalarInPlace(BinaryOp.Mul, value, nameof(Mul_));

    /// <summary>this /= other.</summary>
    public Tensor Div_(Tensor other) => BinaryInPlace(BinaryOp.Div, other, nameof(Div_));

    /// <summary>this /= value.</summary>
    public Tensor Div_(double value) => ScalarInPlace(BinaryOp.Div, value, nameof(Div_));

    /// <summary>Limits every element to [min, max] in place.</summary>
    public Tensor Clamp_(double? min = null, double? max = null)
    {
        CheckInPlace(nameof(Clamp_));
        if (min is null && max is null) throw new ArgumentException("Clamp_: at least one of min and max must be given.");
        Backend.Unary(UnaryOp.Clamp, Buf, Buf, min ?? double.NegativeInfinity, max ?? double.PositiveInfinity);
        FlopCosts.Unary(UnaryOp.Clamp, Buf);
        return this;
    }

    /// <summary>Fills with samples from U[low, high).</summary>
    public Tensor Uniform_(double low = 0, double high = 1, Generator? generator = null) =>
        RandomFill(nameof(Uniform_), (b, v) => b.FillUniform(v, generator ?? Rng.Default, low, high));

    /// <summary>Fills with samples from N(mean, std²).</summary>
    public Tensor Normal_(double mean = 0, double std = 1, Generator? generator = null) =>
        RandomFill(nameof(Normal_), (b, v) => b.FillNormal(v, generator ?? Rng.Default, mean, std));

    Tensor RandomFill(string op, Action<IBackend, BufferView> fill)
    {
        CheckInPlace(op);
        if (!DType.IsFloatingPoint()) throw new InvalidOperationException($"{op}: needs a floating tensor, this one is {DType}.");
        if (IsContiguous)
        {
            fill(Backend, Buf);
            return this;
        }
        var tmp = Empty((int[])shape.Clone(), DType, Backend);
        fill(Backend, tmp.Buf);
        Backend.Copy(tmp.Buf, Buf);
        tmp.Dispose();
        return this;
    }
}
