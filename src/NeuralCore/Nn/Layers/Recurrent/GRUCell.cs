namespace NeuralCore.Nn;

/// <summary>A gated recurrent unit cell, as <c>torch.nn.GRUCell</c>; see <see cref="Functional.GruCell"/> and <see cref="RNNCellBase"/> (G = 3).</summary>
public sealed class GRUCell : RNNCellBase
{
    /// <summary>Creates the cell.</summary>
    /// <param name="inputSize">Features of the input.</param>
    /// <param name="hiddenSize">Features of the hidden state.</param>
    /// <param name="bias">Whether to learn biases.</param>
    /// <exception cref="ArgumentException">A size is not positive.</exception>
    public GRUCell(int inputSize, int hiddenSize, bool bias = true) : base(RecurrentMode.Gru, inputSize, hiddenSize, bias)
    {
    }

    /// <summary>The next hidden state from a zero hidden state.</summary>
    public override Tensor Forward(Tensor x) => Forward(x, null);

    /// <summary>The next hidden state.</summary>
    /// <param name="input">[B, I] or [I].</param>
    /// <param name="hidden">[B, H] or [H]; zeros when null.</param>
    /// <exception cref="ArgumentException">The shapes do not fit; the message names them.</exception>
    public Tensor Forward(Tensor input, Tensor? hidden) =>
        Functional.GruCell(input, hidden ?? ZeroState(input), WeightIh, WeightHh, BiasIh, BiasHh);
}
