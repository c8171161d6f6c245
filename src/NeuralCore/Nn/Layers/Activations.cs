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
    /// <summary>SiLU (swish), x·sigmoid(x).</summary>
    Silu,
    /// <summary>ELU with alpha 1.</summary>
    Elu,
    /// <summary>SELU: 1.0507·ELU(x, alpha 1.6733) (Klambauer et al. 2017).</summary>
    Selu,
    /// <summary>Leaky ReLU with negative slope 0.2 (Keras' default for the <c>"leaky_relu"</c> name).</summary>
    LeakyRelu,
    /// <summary>Softplus, log(1 + e^x).</summary>
    Softplus,
}

/// <summary>Keras activation names and the module form of each <see cref="Activation"/>.</summary>
public static class Activations
{
    static readonly (string Name, Activation Value)[] Names =
    [
        ("linear", Activation.None), ("relu", Activation.Relu), ("sigmoid", Activation.Sigmoid), ("tanh", Activation.Tanh),
        ("softmax", Activation.Softmax), ("gelu", Activation.Gelu), ("silu", Activation.Silu), ("swish", Activation.Silu),
        ("elu", Activation.Elu), ("selu", Activation.Selu), ("leaky_relu", Activation.LeakyRelu), ("softplus", Activation.Softplus),
    ];

    /// <summary>The names <see cref="FromName"/> accepts.</summary>
    public static IReadOnlyList<string> KnownNames { get; } = Names.Select(n => n.Name).ToArray();

    /// <summary>
    /// The activation with Keras name <paramref name="name"/> (case-insensitive): linear, relu, sigmoid, tanh, softmax,
    /// gelu, silu (or swish), elu, selu, leaky_relu, softplus. Null or empty means none (linear), as in Keras.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not one of those, listed in the message.</exception>
    public static Activation FromName(string? name)
    {
        if (string.IsNullOrEmpty(name)) return Activation.None;
        foreach (var (n, value) in Names)
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase)) return value;
        throw new ArgumentException($"Unknown activation \"{name}\"; valid names: {string.Join(", ", KnownNames)}.", nameof(name));
    }

    /// <summary>A module applying <paramref name="activation"/> (null for <see cref="Activation.None"/>).</summary>
    public static Module? ToModule(Activation activation) => activation switch
    {
        Activation.None => null,
        Activation.Relu => new ReLU(),
        Activation.Sigmoid => new Sigmoid(),
        Activation.Tanh => new Tanh(),
        Activation.Softmax => new Softmax(-1),
        Activation.Gelu => new GELU(),
        Activation.Silu => new SiLU(),
        Activation.Elu => new ELU(),
        Activation.Selu => new SELU(),
        Activation.LeakyRelu => new LeakyReLU(ActivationExtensions.LeakyReluSlope),
        Activation.Softplus => new Softplus(),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
    };
}

/// <summary>Applies an <see cref="Activation"/>.</summary>
internal static class ActivationExtensions
{
    /// <summary>The negative slope of <see cref="Activation.LeakyRelu"/> (Keras' <c>leaky_relu</c> default).</summary>
    public const double LeakyReluSlope = 0.2;

    /// <summary>SELU's constants (Klambauer et al. 2017).</summary>
    public const double SeluAlpha = 1.6732632423543772848170429916717, SeluScale = 1.0507009873554804934193349852946;

    public static Tensor Apply(this Activation activation, Tensor x) => activation switch
    {
        Activation.None => x,
        Activation.Relu => x.Relu(),
        Activation.Sigmoid => x.Sigmoid(),
        Activation.Tanh => x.Tanh(),
        Activation.Softmax => x.Softmax(-1),
        Activation.Gelu => x.Gelu(),
        Activation.Silu => Functional.Silu(x),
        Activation.Elu => x.Elu(),
        Activation.Selu => x.Elu(SeluAlpha) * SeluScale,
        Activation.LeakyRelu => x.LeakyRelu(LeakyReluSlope),
        Activation.Softplus => x.Softplus(),
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

/// <summary>SELU, scale·ELU(x, alpha) with the self-normalising constants (Klambauer et al. 2017), as a module.</summary>
public sealed class SELU : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Activation.Selu.Apply(x);
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
