namespace NeuralCore.Nn;

/// <summary>A long short-term memory cell, as <c>torch.nn.LSTMCell</c>; see <see cref="Functional.LstmCell"/> and <see cref="RNNCellBase"/> (G = 4).</summary>
public sealed class LSTMCell : RNNCellBase
{
    /// <summary>Creates the cell.</summary>
    /// <param name="inputSize">Features of the input.</param>
    /// <param name="hiddenSize">Features of the hidden and cell states.</param>
    /// <param name="bias">Whether to learn biases.</param>
    /// <exception cref="ArgumentException">A size is not positive.</exception>
    public LSTMCell(int inputSize, int hiddenSize, bool bias = true) : base(RecurrentMode.Lstm, inputSize, hiddenSize, bias)
    {
    }

    /// <summary>The next hidden state from zero hidden and cell states.</summary>
    public override Tensor Forward(Tensor x) => Forward(x, null).H;

    /// <summary>The next hidden and cell states.</summary>
    /// <param name="input">[B, I] or [I].</param>
    /// <param name="state">Hidden and cell states, each [B, H] or [H]; zeros when null.</param>
    /// <exception cref="ArgumentException">The shapes do not fit; the message names them.</exception>
    public (Tensor H, Tensor C) Forward(Tensor input, (Tensor H, Tensor C)? state) =>
        state is var (h, c)
            ? Functional.LstmCell(input, h, c, WeightIh, WeightHh, BiasIh, BiasHh)
            : Functional.LstmCell(input, ZeroState(input), ZeroState(input), WeightIh, WeightHh, BiasIh, BiasHh);
}
