using NeuralCore.Autograd;
using NeuralCore.Autograd.Rules;
using NeuralCore.Backends;
using NeuralCore.Profiling;

namespace NeuralCore;

public sealed partial class Tensor
{
    internal static void CheckSameDevice(Tensor a, Tensor b, string op)
    {
        if (!a.Device.Equals(b.Device))
            throw new ArgumentException($"{op}: tensors are on different devices ({a.Device} and {b.Device}); move one with To(device).");
    }

    internal static BufferView BroadcastView(Tensor t, int[] target)
    {
        var v = t.Buf;
        if (ReferenceEquals(t.shape, target) || t.shape.AsSpan().SequenceEqual(target)) return v;
        if (t.Dim == 0) return v.With(target, ShapeMath.ZeroStrides(target.Length));
        int lead = target.Length - t.Dim;
        var st = new int[target.Length];
        for (int i = 0; i < target.Length; i++)
            st[i] = i < lead || t.shape[i - lead] != target[i] ? 0 : t.strides[i - lead];
        return v.With(target, st);
    }

    static bool IsArithmetic(BinaryOp op) => op is BinaryOp.Add or BinaryOp.Sub or BinaryOp.Mul or BinaryOp.Div or BinaryOp.Pow or BinaryOp.ReluBackward;

    /// <summary>
    /// A fresh contiguous output of <paramref name="shape"/>. Shape and stride arrays are never mutated, so when
    /// the shape is an operand's own array and that operand is laid out row-major, its arrays are shared
    /// instead of allocating new ones (the common same-shape op allocates only the tensor and its storage).
    /// </summary>
    internal static Tensor EmptyFor(int[] shape, DType dtype, IBackend backend, Tensor a, Tensor? b = null)
    {
        int[]? strides = null;
        if (ReferenceEquals(shape, a.shape) && ShapeMath.IsRowMajor(a.shape, a.strides)) strides = a.strides;
        else if (b is not null && ReferenceEquals(shape, b.shape) && ShapeMath.IsRowMajor(b.shape, b.strides)) strides = b.strides;
        long count = ShapeMath.RequireAllocation("Tensor", shape, dtype, backend);
        var storage = backend.Allocate(dtype, (int)count);
        return new Tensor(storage, shape, strides ?? ShapeMath.ContiguousStrides(shape), 0);
    }

    /// <summary>Runs a broadcasting binary kernel in the promoted dtype, without recording autograd.</summary>
    internal static Tensor BinaryRaw(BinaryOp op, Tensor a, Tensor b, string name)
    {
        var backend = a.Backend;
        if (!ReferenceEquals(backend, b.Backend)) CheckSameDevice(a, b, name);
        var outShape = ShapeMath.Broadcast(a.shape, b.shape, name);
        DType da = a.DType, db = b.DType;
        bool comparison = op.IsComparison();
        // Comparisons return Bool whatever they compute in, so they keep the wider type of the two and stay exact
        // for scalars the other operand's type cannot hold (uint8 vs −1).
        var compute = da == db ? da : comparison ? DTypes.Promote(da, db) : DTypes.Promote(da, a.Dim == 0, db, b.Dim == 0);
        if (op is BinaryOp.Div or BinaryOp.Pow) compute = compute.ToFloating();
        if (compute == DType.Bool)
        {
            if (IsArithmetic(op))
                throw new ArgumentException($"{name}: arithmetic on two Bool tensors is not supported; convert with To(DType.Int64) or To(DType.Float32) first.");
            compute = DType.UInt8;
        }
        var ac = da == compute ? a : a.CastRaw(compute);
        var bc = db == compute ? b : b.CastRaw(compute);
        var r = EmptyFor(outShape, comparison ? DType.Bool : compute, backend, a, b);
        backend.Binary(op, BroadcastView(ac, outShape), BroadcastView(bc, outShape), r.Buf);
        FlopCosts.Binary(op, r.Buf);
        return r;
    }

    static Tensor Binary(BinaryOp op, Tensor a, Tensor b, BackwardRule rule, string name, bool saveOutput = false) =>
        Engine.RecordBinary(BinaryRaw(op, a, b, name), rule, a, b, saveOutput);

    internal Tensor ScalarLike(double value, BinaryOp op)
    {
        var dtype = DTypes.PromoteWithScalar(DType, value);
        if (op is BinaryOp.Div or BinaryOp.Pow) dtype = dtype.ToFloating();
        var backend = Backend;
        var t = new Tensor(backend.Allocate(dtype, 1), [], [], 0);
        backend.Fill(t.Buf, value);
        return t;
    }

    /// <summary>
    /// <c>op(this, value)</c> (or <c>op(value, this)</c> when <paramref name="scalarFirst"/>) through the
    /// backend's <see cref="IScalarBinary"/> path, or null when that path does not apply: the backend lacks it,
    /// the scalar would change the dtype (an integer tensor with a fractional or out-of-range scalar, Div on
    /// integers), or the backend declines the operands. The caller then takes the 0-d tensor path
    /// (<see cref="ScalarLike"/>), which gives the same values. A recorded op gets a unary graph node holding
    /// the scalar (<see cref="ElementwiseRules.AddScalar"/> and its siblings), whose gradients equal those of
    /// the tensor-tensor rule with a 0-d operand.
    /// </summary>
    internal Tensor? TryScalarBinary(BinaryOp op, double value, bool scalarFirst)
    {
        if (Backend is not IScalarBinary scalarBackend) return null;
        var dtype = DType;
        if (dtype == DType.Bool) return null;
        var scalarType = DTypes.PromoteWithScalar(dtype, value);
        if (op is BinaryOp.Div or BinaryOp.Pow) scalarType = scalarType.ToFloating();
        // Same dtype on both sides: BinaryRaw would compute in that dtype without casting either operand.
        if (scalarType != dtype) return null;
        bool comparison = op.IsComparison();
        BackwardRule? rule = comparison ? null : (op, scalarFirst) switch
        {
            (BinaryOp.Add, _) => ElementwiseRules.AddScalar,
            (BinaryOp.Sub, false) => ElementwiseRules.SubScalar,
            (BinaryOp.Sub, true) => ElementwiseRules.ScalarSub,
            (BinaryOp.Mul, _) => ElementwiseRules.MulScalar,
            (BinaryOp.Div, false) => ElementwiseRules.DivScalar,
            (BinaryOp.Div, true) => ElementwiseRules.ScalarDiv,
            _ => null,
        };
        // An op whose gradient has no scalar rule here keeps the tensor-tensor path when a graph is recorded.
        if (!comparison && rule is null && RequiresGrad && GradMode.Enabled) return null;
        var backend = Backend;
        var r = EmptyFor(shape, comparison ? DType.Bool : dtype, backend, this);
        if (!scalarBackend.TryBinaryScalar(op, Buf, value, scalarFirst, r.Buf))
        {
            r.Dispose();
            return null;
        }
        FlopCosts.Binary(op, r.Buf);
        return rule is null ? r : Engine.RecordUnary(r, rule, this, value, 0, saveOutput: false);
    }

    /// <summary>The 0-d tensor form of a scalar operand, used where <see cref="TryScalarBinary"/> does not apply.</summary>
    internal Tensor ScalarOperand(double value, BinaryOp op) => ScalarLike(value, op);

    /// <summary>
    /// The gradient of ReLU in one pass: <paramref name="grad"/> where <paramref name="reference"/> (the ReLU's
    /// input or output) is positive, else 0. Not recorded by autograd.
    /// </summary>
    internal static Tensor ReluBackward(Tensor grad, Tensor reference) => BinaryRaw(BinaryOp.ReluBackward, grad, reference, nameof(ReluBackward));

    /// <summary>Runs a unary kernel without recording autograd; float-only ops compute in Float32 for integer inputs.</summary>
    internal Tensor UnaryRaw(UnaryOp op, double a = 0, double b = 0)
    {
        var x = op.NeedsFloat() && !DType.IsFloatingPoint() ? CastRaw(DType.Float32) : this;
        if (x.DType == DType.Bool) throw new ArgumentException($"{op}: not defined for Bool tensors.");
        var backend = Backend;
        var r = EmptyFor(x.shape, x.DType, backend, x);
        backend.Unary(op, x.Buf, r.Buf, a, b);
        FlopCosts.Unary(op, r.Buf);
        return r;
    }

    Tensor Unary(UnaryOp op, BackwardRule rule, double a = 0, double b = 0, bool saveOutput = false) =>
        Engine.RecordUnary(UnaryRaw(op, a, b), rule, this, a, b, saveOutput);

    /// <summary>Elementwise sum with broadcasting.</summary>
    public Tensor Add(Tensor other) => Binary(BinaryOp.Add, this, other, ElementwiseRules.Add, nameof(Add));

    /// <summary>this + alpha·other.</summary>
    public Tensor Add(Tensor other, double alpha) => alpha == 1 ? Add(other) : Add(other.Mul(alpha));

    /// <summary>Adds a scalar.</summary>
    public Tensor Add(double other) => TryScalarBinary(BinaryOp.Add, other, false) ?? Add(ScalarLike(other, BinaryOp.Add));

    /// <summary>Elementwise difference with broadcasting.</summary>
    public Tensor Sub(Tensor other) => Binary(BinaryOp.Sub, this, other, ElementwiseRules.Sub, nameof(Sub));

    /// <summary>Subtracts a scalar.</summary>
    public Tensor Sub(double other) => TryScalarBinary(BinaryOp.Sub, other, false) ?? Sub(ScalarLike(other, BinaryOp.Sub));

    /// <summary>Elementwise product with broadcasting.</summary>
    public Tensor Mul(Tensor other) => Binary(BinaryOp.Mul, this, other, ElementwiseRules.Mul, nameof(Mul));

    /// <summary>Multiplies by a scalar.</summary>
    public Tensor Mul(double other) => TryScalarBinary(BinaryOp.Mul, other, false) ?? Mul(ScalarLike(other, BinaryOp.Mul));

    /// <summary>Elementwise true division with broadcasting (integer inputs give Float32).</summary>
    public Tensor Div(Tensor other) => Binary(BinaryOp.Div, this, other, ElementwiseRules.Div, nameof(Div));

    /// <summary>Divides by a scalar.</summary>
    public Tensor Div(double other) => TryScalarBinary(BinaryOp.Div, other, false) ?? Div(ScalarLike(other, BinaryOp.Div));

    /// <summary>Elementwise power with broadcasting.</summary>
    public Tensor Pow(Tensor exponent) => Binary(BinaryOp.Pow, this, exponent, ElementwiseRules.Pow, nameof(Pow), saveOutput: true);

    /// <summary>Raises every element to <paramref name="exponent"/>.</summary>
    public Tensor Pow(double exponent) => Unary(UnaryOp.PowScalar, ElementwiseRules.PowScalar, exponent);

    /// <summary>Elementwise maximum with broadcasting (NaN-propagating; ties split the gradient).</summary>
    public Tensor Maximum(Tensor other) => Binary(BinaryOp.Maximum, this, other, ElementwiseRules.Maximum, nameof(Maximum));

    /// <summary>Elementwise minimum with broadcasting (NaN-propagating; ties split the gradient).</summary>
    public Tensor Minimum(Tensor other) => Binary(BinaryOp.Minimum, this, other, ElementwiseRules.Minimum, nameof(Minimum));

    /// <summary>−x.</summary>
    public Tensor Neg() => Unary(UnaryOp.Neg, ElementwiseRules.Neg);

    /// <summary>|x|.</summary>
    public Tensor Abs() => Unary(UnaryOp.Abs, ElementwiseRules.Abs);

    /// <summary>−1, 0 or 1 by sign (gradient 0).</summary>
    public Tensor Sign() => Unary(UnaryOp.Sign, ElementwiseRules.ZeroGrad);

    /// <summary>x².</summary>
    public Tensor Square() => Unary(UnaryOp.Square, ElementwiseRules.Square);

    /// <summary>e^x.</summary>
    public Tensor Exp() => Unary(UnaryOp.Exp, ElementwiseRules.Exp, saveOutput: true);

    /// <summary>Natural logarithm.</summary>
    public Tensor Log() => Unary(UnaryOp.Log, ElementwiseRules.Log);

    /// <summary>Square root.</summary>
    public Tensor Sqrt() => Unary(UnaryOp.Sqrt, ElementwiseRules.Sqrt, saveOutput: true);

    /// <summary>1/√x.</summary>
    public Tensor Rsqrt() => Unary(UnaryOp.Rsqrt, ElementwiseRules.Rsqrt, saveOutput: true);

    /// <summary>1/x.</summary>
    public Tensor Reciprocal() => Unary(UnaryOp.Reciprocal, ElementwiseRules.Reciprocal, saveOutput: true);

    /// <summary>Hyperbolic tangent.</summary>
    public Tensor Tanh() => Unary(UnaryOp.Tanh, ElementwiseRules.Tanh, saveOutput: true);

    /// <summary>Logistic sigmoid 1/(1+e^−x).</summary>
    public Tensor Sigmoid() => Unary(UnaryOp.Sigmoid, ElementwiseRules.Sigmoid, saveOutput: true);

    /// <summary>Sine.</summary>
    public Tensor Sin() => Unary(UnaryOp.Sin, ElementwiseRules.Sin);

    /// <summary>Cosine.</summary>
    public Tensor Cos() => Unary(UnaryOp.Cos, ElementwiseRules.Cos);

    /// <summary>Gauss error function.</summary>
    public Tensor Erf() => Unary(UnaryOp.Erf, ElementwiseRules.Erf);

    /// <summary>max(x, 0).</summary>
    public Tensor Relu() => Unary(UnaryOp.Relu, ElementwiseRules.Relu, saveOutput: true);

    /// <summary>x for x &gt; 0, else negativeSlope·x.</summary>
    public Tensor LeakyRelu(double negativeSlope = 0.01) => Unary(UnaryOp.LeakyRelu, ElementwiseRules.LeakyRelu, negativeSlope);

    /// <summary>x for x &gt; 0, else alpha·(e^x − 1).</summary>
    public Tensor Elu(double alpha = 1.0) => Unary(UnaryOp.Elu, ElementwiseRules.Elu, alpha, saveOutput: true);

    /// <summary>GELU, exact form x·Φ(x) with the Gauss error function.</summary>
    public Tensor Gelu() => Unary(UnaryOp.Gelu, ElementwiseRules.Gelu);

    /// <summary>log(1 + e^x), computed without overflow.</summary>
    public Tensor Softplus() => Unary(UnaryOp.Softplus, ElementwiseRules.Softplus);

    /// <summary>Rounds toward −∞ (gradient 0).</summary>
    public Tensor Floor() => Unary(UnaryOp.Floor, ElementwiseRules.ZeroGrad);

    /// <summary>Rounds toward +∞ (gradient 0).</summary>
    public Tensor Ceil() => Unary(UnaryOp.Ceil, ElementwiseRules.ZeroGrad);

    /// <summary>Rounds half to even (gradient 0).</summary>
    public Tensor Round() => Unary(UnaryOp.Round, ElementwiseRules.ZeroGrad);

    /// <summary>Limits every element to [min, max]; either bound may be omitted. The gradient flows where the input is inside.</summary>
    public Tensor Clamp(double? min = null, double? max = null)
    {
        if (min is null && max is null) throw new ArgumentException("Clamp: at least one of min and max must be given.");
        if (min > max) throw new ArgumentException($"Clamp: min ({min}) is greater than max ({max}).");
        return Unary(UnaryOp.Clamp, ElementwiseRules.Clamp, min ?? double.NegativeInfinity, max ?? double.PositiveInfinity);
    }

    /// <summary>Elementwise x == y (Bool).</summary>
    public Tensor Eq(Tensor other) => BinaryRaw(BinaryOp.Eq, this, other, nameof(Eq));

    /// <summary>Elementwise x == value (Bool).</summary>
    public Tensor Eq(double value) => TryScalarBinary(BinaryOp.Eq, value, false) ?? Eq(ScalarLike(value, BinaryOp.Eq));

    /// <summary>Elementwise x != y (Bool).</summary>
    public Tensor Ne(Tensor other) => BinaryRaw(BinaryOp.Ne, this, other, nameof(Ne));

    /// <summary>Elementwise x != value (Bool).</summary>
    public Tensor Ne(double value) => TryScalarBinary(BinaryOp.Ne, value, false) ?? Ne(ScalarLike(value, BinaryOp.Ne));

    /// <summary>Elementwise x &gt; y (Bool).</summary>
    public Tensor Gt(Tensor other) => BinaryRaw(BinaryOp.Gt, this, other, nameof(Gt));

    /// <summary>Elementwise x &gt; value (Bool).</summary>
    public Tensor Gt(double value) => TryScalarBinary(BinaryOp.Gt, value, false) ?? Gt(ScalarLike(value, BinaryOp.Gt));

    /// <summary>Elementwise x &lt; y (Bool).</summary>
    public Tensor Lt(Tensor other) => BinaryRaw(BinaryOp.Lt, this, other, nameof(Lt));

    /// <summary>Elementwise x &lt; value (Bool).</summary>
    public Tensor Lt(double value) => TryScalarBinary(BinaryOp.Lt, value, false) ?? Lt(ScalarLike(value, BinaryOp.Lt));

    /// <summary>Elementwise x ≥ y (Bool).</summary>
    public Tensor Ge(Tensor other) => BinaryRaw(BinaryOp.Ge, this, other, nameof(Ge));

    /// <summary>Elementwise x ≥ value (Bool).</summary>
    public Tensor Ge(double value) => TryScalarBinary(BinaryOp.Ge, value, false) ?? Ge(ScalarLike(value, BinaryOp.Ge));

    /// <summary>Elementwise x ≤ y (Bool).</summary>
    public Tensor Le(Tensor other) => BinaryRaw(BinaryOp.Le, this, other, nameof(Le));

    /// <summary>Elementwise x ≤ value (Bool).</summary>
    public Tensor Le(double value) => TryScalarBinary(BinaryOp.Le, value, false) ?? Le(ScalarLike(value, BinaryOp.Le));

    /// <summary>Elementwise logical not of a tensor's truth values (Bool).</summary>
    public Tensor LogicalNot() => Eq(0);

    /// <summary>
    /// Picks from <paramref name="x"/> where <paramref name="condition"/> is true, else from <paramref name="y"/>,
    /// broadcasting all three. Differentiable in x and y.
    /// </summary>
    public static Tensor Where(Tensor condition, Tensor x, Tensor y)
    {
        CheckSameDevice(condition, x, nameof(Where));
        CheckSameDevice(x, y, nameof(Where));
        var outShape = ShapeMath.Broadcast(ShapeMath.Broadcast(condition.shape, x.shape, nameof(Where)), y.shape, nameof(Where));
        var dtype = DTypes.Promote(x.DType, x.Dim == 0, y.DType, y.Dim == 0);
        var c = condition.DType == DType.Bool ? condition : condition.CastRaw(DType.Bool);
        var xc = x.DType == dtype ? x : x.CastRaw(dtype);
        var yc = y.DType == dtype ? y : y.CastRaw(dtype);
        var r = Empty(outShape, dtype, x.Backend);
        x.Backend.Where(BroadcastView(c, outShape), BroadcastView(xc, outShape), BroadcastView(yc, outShape), r.Buf);
        FlopCosts.Where(r.Buf);
        return Engine.Record(r, ElementwiseRules.Where, [x, y], saved: c);
    }

    /// <summary><see cref="Where(Tensor, Tensor, Tensor)"/> with a scalar for the false branch.</summary>
    public static Tensor Where(Tensor condition, Tensor x, double y) => Where(condition, x, x.ScalarLike(y, BinaryOp.Add));

    /// <summary><see cref="Where(Tensor, Tensor, Tensor)"/> with a scalar for the true branch.</summary>
    public static Tensor Where(Tensor condition, double x, Tensor y) => Where(condition, y.ScalarLike(x, BinaryOp.Add), y);
}
