using System.Globalization;

namespace NeuralCore.Nn;

/// <summary>Activation applied by <see cref="Dense"/>.</summary>
public enum Activation
{
    /// <summary>Identity.</summary>
    None,
    /// <summary>max(x, 0).</summary>
    Relu,
    /// <summary>Logistic sigmoid.</summary>
    Sigmoid,
    /// <summary>Hyperbolic tangent.</summary>
    Tanh,
    /// <summary>Softmax over the last dimension.</summary>
    Softmax,
    /// <summary>GELU (exact).</summary>
    Gelu,
}

/// <summary>Applies an <see cref="Activation"/>.</summary>
internal static class ActivationExtensions
{
    public static Tensor Apply(this Activation activation, Tensor x) => activation switch
    {
        Activation.None => x,
        Activation.Relu => x.Relu(),
        Activation.Sigmoid => x.Sigmoid(),
        Activation.Tanh => x.Tanh(),
        Activation.Softmax => x.Softmax(-1),
        Activation.Gelu => x.Gelu(),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
    };
}

/// <summary>max(x, 0) as a module.</summary>
public sealed class ReLU : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => x.Relu();
}

/// <summary>Logistic sigmoid as a module.</summary>
public sealed class Sigmoid : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => x.Sigmoid();
}

/// <summary>Hyperbolic tangent as a module.</summary>
public sealed class Tanh : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => x.Tanh();
}

/// <summary>GELU as a module: the exact erf form, or the tanh approximation (see <see cref="Functional.Gelu(Tensor, string)"/>).</summary>
public sealed class GELU : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="approximate">"none" (exact, the default) or "tanh".</param>
    /// <exception cref="ArgumentException"><paramref name="approximate"/> is neither "none" nor "tanh".</exception>
    public GELU(string approximate = "none")
    {
        if (approximate is not ("none" or "tanh"))
            throw new ArgumentException($"GELU: approximate must be \"none\" or \"tanh\", got \"{approximate}\".", nameof(approximate));
        Approximate = approximate;
    }

    /// <summary>"none" or "tanh".</summary>
    public string Approximate { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Functional.Gelu(x, Approximate);

    /// <inheritdoc />
    protected override string ExtraRepr() => Approximate == "none" ? "" : $"approximate: {Approximate}";
}

/// <summary>SiLU (swish) x·sigmoid(x) as a module.</summary>
public sealed class SiLU : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Functional.Silu(x);
}

/// <summary>x for x &gt; 0, else negativeSlope·x, as a module.</summary>
public sealed class LeakyReLU(double negativeSlope = 0.01) : Module
{
    /// <summary>Slope for negative inputs.</summary>
    public double NegativeSlope { get; } = negativeSlope;

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => x.LeakyRelu(NegativeSlope);

    /// <inheritdoc />
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture, $"negativeSlope: {NegativeSlope}");
}

/// <summary>x for x &gt; 0, else alpha·(e^x − 1), as a module.</summary>
public sealed class ELU(double alpha = 1.0) : Module
{
    /// <summary>Scale of the negative part.</summary>
    public double Alpha { get; } = alpha;

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => x.Elu(Alpha);

    /// <inheritdoc />
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture, $"alpha: {Alpha}");
}

/// <summary>Softplus as a module.</summary>
public sealed class Softplus : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => x.Softplus();
}

/// <summary>Softmax along <c>dim</c> as a module.</summary>
public sealed class Softmax(int dim = -1) : Module
{
    /// <summary>The dimension normalised.</summary>
    public int DimIndex { get; } = dim;

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => x.Softmax(DimIndex);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"dim: {DimIndex}";
}

/// <summary>Log-softmax along <c>dim</c> as a module.</summary>
public sealed class LogSoftmax(int dim = -1) : Module
{
    /// <summary>The dimension normalised.</summary>
    public int DimIndex { get; } = dim;

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => x.LogSoftmax(DimIndex);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"dim: {DimIndex}";
}
