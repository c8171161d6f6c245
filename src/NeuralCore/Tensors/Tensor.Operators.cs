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
}
