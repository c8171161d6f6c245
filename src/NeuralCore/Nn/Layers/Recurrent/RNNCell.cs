namespace NeuralCore.Nn;

/// <summary>An Elman RNN cell, as <c>torch.nn.RNNCell</c>; see <see cref="Functional.RnnCell"/> and <see cref="RNNCellBase"/>.</summary>
public sealed class RNNCell : RNNCellBase
{
    /// <summary>Creates the cell.</summary>
    /// <param name="inputSize">Features of the input.</param>
    /// <param name="hiddenSize">Features of the hidden state.</param>
    /// <param name="bias">Whether to learn biases.</param>
    /// <param name="nonlinearity">"tanh" or "relu".</param>
    /// <exception cref="ArgumentException">A size is not positive or the nonlinearity is unknown.</exception>
    public RNNCell(int inputSize, int hiddenSize, bool bias = true, string nonlinearity = "tanh")
        : base(RecurrentCell.ParseNonlinearity(nonlinearity, nameof(RNNCell)), inputSize, hiddenSize, bias)
    {
    }

    /// <summary>"tanh" or "relu".</summary>
    public string Nonlinearity => RecurrentCell.NonlinearityName(Mode);

    /// <summary>The next hidden state from a zero hidden state.</summary>
    public override Tensor Forward(Tensor x) => Forward(x, null);

    /// <summary>The next hidden state.</summary>
    /// <param name="input">[B, I] or [I].</param>
    /// <param name="hidden">[B, H] or [H]; zeros when null.</param>
    /// <exception cref="ArgumentException">The shapes do not fit; the message names them.</exception>
    public Tensor Forward(Tensor input, Tensor? hidden) =>
        Functional.RnnCell(input, hidden ?? ZeroState(input), WeightIh, WeightHh, BiasIh, BiasHh, Nonlinearity);
}
