namespace NeuralCore;

public sealed partial class Tensor
{
    /// <summary>Elementwise sum with broadcasting.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);

    /// <summary>Adds a scalar.</summary>
    public static Tensor operator +(Tensor a, double b) => a.Add(b);

    /// <summary>Adds a scalar.</summary>
    public static Tensor operator +(double a, Tensor b) => b.Add(a);

    /// <summary>Elementwise difference with broadcasting.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);

    /// <summary>Subtracts a scalar.</summary>
    public static Tensor operator -(Tensor a, double b) => a.Sub(b);

    /// <summary>Scalar minus tensor.</summary>
    public static Tensor operator -(double a, Tensor b) => b.TryScalarBinary(Backends.BinaryOp.Sub, a, scalarFirst: true) ?? b.ScalarLike(a, Backends.BinaryOp.Sub).Sub(b);

    /// <summary>Elementwise product with broadcasting.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);

    /// <summary>Multiplies by a scalar.</summary>
    public static Tensor operator *(Tensor a, double b) => a.Mul(b);

    /// <summary>Multiplies by a scalar.</summary>
    public static Tensor operator *(double a, Tensor b) => b.Mul(a);

    /// <summary>Elementwise true division with broadcasting.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);

    /// <summary>Divides by a scalar.</summary>
    public static Tensor operator /(Tensor a, double b) => a.Div(b);

    /// <summary>Scalar divided by tensor.</summary>
    public static Tensor operator /(double a, Tensor b) => b.TryScalarBinary(Backends.BinaryOp.Div, a, scalarFirst: true) ?? b.ScalarLike(a, Backends.BinaryOp.Div).Div(b);

    /// <summary>Negation.</summary>
    public static Tensor operator -(Tensor a) => a.Neg();

    // Comparison operators return Bool masks as in PyTorch. == and != are deliberately not overloaded: a
    // Tensor is a reference type used as a dictionary key and compared with null throughout .NET code, so
    // those stay reference equality; use Eq and Ne for elementwise equality.

    /// <summary>Elementwise a &gt; b (Bool), broadcasting.</summary>
    public static Tensor operator >(Tensor a, Tensor b) => a.Gt(b);

    /// <summary>Elementwise a &lt; b (Bool), broadcasting.</summary>
    public static Tensor operator <(Tensor a, Tensor b) => a.Lt(b);

    /// <summary>Elementwise a ≥ b (Bool), broadcasting.</summary>
    public static Tensor operator >=(Tensor a, Tensor b) => a.Ge(b);

    /// <summary>Elementwise a ≤ b (Bool), broadcasting.</summary>
    public static Tensor operator <=(Tensor a, Tensor b) => a.Le(b);

    /// <summary>Elementwise a &gt; b (Bool).</summary>
    public static Tensor operator >(Tensor a, double b) => a.Gt(b);

    /// <summary>Elementwise a &lt; b (Bool).</summary>
    public static Tensor operator <(Tensor a, double b) => a.Lt(b);

    /// <summary>Elementwise a ≥ b (Bool).</summary>
    public static Tensor operator >=(Tensor a, double b) => a.Ge(b);

    /// <summary>Elementwise a ≤ b (Bool).</summary>
    public static Tensor operator <=(Tensor a, double b) => a.Le(b);

    /// <summary>Elementwise a &gt; b (Bool): the scalar on the left, so b &lt; a.</summary>
    public static Tensor operator >(double a, Tensor b) => b.Lt(a);

    /// <summary>Elementwise a &lt; b (Bool): the scalar on the left, so b &gt; a.</summary>
    public static Tensor operator <(double a, Tensor b) => b.Gt(a);

    /// <summary>Elementwise a ≥ b (Bool): the scalar on the left, so b ≤ a.</summary>
    public static Tensor operator >=(double a, Tensor b) => b.Le(a);

    /// <summary>Elementwise a ≤ b (Bool): the scalar on the left, so b ≥ a.</summary>
    public static Tensor operator <=(double a, Tensor b) => b.Ge(a);
}
