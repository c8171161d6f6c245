namespace NeuralCore.Nn;

/// <summary>
/// Functional forms of layers, activations and losses (import as <c>using F = NeuralCore.Nn.Functional;</c>).
/// Argument names follow PyTorch's <c>torch.nn.functional</c> in camelCase.
/// </summary>
public static partial class Functional
{
    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(Tensor x) => x.Relu();

    /// <summary>Logistic sigmoid.</summary>
    public static Tensor Sigmoid(Tensor x) => x.Sigmoid();

    /// <summary>Hyperbolic tangent.</summary>
    public static Tensor Tanh(Tensor x) => x.Tanh();

    /// <summary>x for x &gt; 0, else negativeSlope·x.</summary>
    public static Tensor LeakyRelu(Tensor x, double negativeSlope = 0.01) => x.LeakyRelu(negativeSlope);

    /// <summary>x for x &gt; 0, else alpha·(e^x − 1).</summary>
    public static Tensor Elu(Tensor x, double alpha = 1.0) => x.Elu(alpha);

    /// <summary>GELU in its exact form x·Φ(x).</summary>
    public static Tensor Gelu(Tensor x) => x.Gelu();

    /// <summary>log(1 + e^x).</summary>
    public static Tensor Softplus(Tensor x) => x.Softplus();

    /// <summary>Softmax along <paramref name="dim"/>.</summary>
    public static Tensor Softmax(Tensor x, int dim) => x.Softmax(dim);

    /// <summary>Log-softmax along <paramref name="dim"/>, computed stably.</summary>
    public static Tensor LogSoftmax(Tensor x, int dim) => x.LogSoftmax(dim);
}
