namespace NeuralCore.Backends;

/// <summary>Elementwise single-input primitives every backend implements.</summary>
public enum UnaryOp
{
    /// <summary>-x</summary>
    Neg,
    /// <summary>|x|</summary>
    Abs,
    /// <summary>-1, 0 or 1</summary>
    Sign,
    /// <summary>max(x, 0)</summary>
    Relu,
    /// <summary>x·x</summary>
    Square,
    /// <summary>min(max(x, A), B); either bound may be infinite.</summary>
    Clamp,
    /// <summary>e^x (floating point only, as every op below)</summary>
    Exp,
    /// <summary>natural logarithm</summary>
    Log,
    /// <summary>square root</summary>
    Sqrt,
    /// <summary>1/√x</summary>
    Rsqrt,
    /// <summary>1/x</summary>
    Reciprocal,
    /// <summary>hyperbolic tangent</summary>
    Tanh,
    /// <summary>1/(1+e^-x)</summary>
    Sigmoid,
    /// <summary>sine</summary>
    Sin,
    /// <summary>cosine</summary>
    Cos,
    /// <summary>Gauss error function</summary>
    Erf,
    /// <summary>x·Φ(x), exact erf form</summary>
    Gelu,
    /// <summary>log(1+e^x), computed stably</summary>
    Softplus,
    /// <summary>x if x &gt; 0 else A·x</summary>
    LeakyRelu,
    /// <summary>x if x &gt; 0 else A·(e^x − 1)</summary>
    Elu,
    /// <summary>x^A</summary>
    PowScalar,
    /// <summary>round toward −∞</summary>
    Floor,
    /// <summary>round toward +∞</summary>
    Ceil,
    /// <summary>round half to even</summary>
    Round,
}

/// <summary>Elementwise two-input primitives; operands arrive already broadcast to the output shape.</summary>
public enum BinaryOp
{
    /// <summary>a + b</summary>
    Add,
    /// <summary>a − b</summary>
    Sub,
    /// <summary>a · b</summary>
    Mul,
    /// <summary>a / b</summary>
    Div,
    /// <summary>a^b (floating point)</summary>
    Pow,
    /// <summary>max(a, b), NaN-propagating</summary>
    Maximum,
    /// <summary>min(a, b), NaN-propagating</summary>
    Minimum,
    /// <summary>a == b, Bool output</summary>
    Eq,
    /// <summary>a != b, Bool output</summary>
    Ne,
    /// <summary>a &lt; b, Bool output</summary>
    Lt,
    /// <summary>a ≤ b, Bool output</summary>
    Le,
    /// <summary>a &gt; b, Bool output</summary>
    Gt,
    /// <summary>a ≥ b, Bool output</summary>
    Ge,
    /// <summary>
    /// b &gt; 0 ? a : 0, the gradient of ReLU: a is the incoming gradient, b the ReLU's input or output. A
    /// select, not a product: NaN or infinite gradients where b ≤ 0 (or b is NaN) give +0.
    /// </summary>
    ReluBackward,
}

/// <summary>Reductions over the trailing dimensions of an operand.</summary>
public enum ReduceOp
{
    /// <summary>Σ</summary>
    Sum,
    /// <summary>maximum (NaN-propagating)</summary>
    Max,
    /// <summary>minimum (NaN-propagating)</summary>
    Min,
    /// <summary>index of the first maximum, Int64 output</summary>
    ArgMax,
    /// <summary>index of the first minimum, Int64 output</summary>
    ArgMin,
}

/// <summary>Helpers about op enums.</summary>
public static class OpInfo
{
    /// <summary>True for unary ops defined only on floating-point inputs.</summary>
    public static bool NeedsFloat(this UnaryOp op) => op >= UnaryOp.Exp;

    /// <summary>True for comparisons (Bool output).</summary>
    public static bool IsComparison(this BinaryOp op) => op is >= BinaryOp.Eq and <= BinaryOp.Ge;
}
