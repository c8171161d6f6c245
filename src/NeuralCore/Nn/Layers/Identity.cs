namespace NeuralCore.Nn;

/// <summary>Returns its input unchanged (a placeholder layer, as PyTorch's <c>nn.Identity</c>).</summary>
public sealed class Identity : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x;
    }
}
