namespace NeuralCore.Nn;

/// <summary>
/// A multi-layer gated recurrent unit, as <c>torch.nn.GRU</c>, with PyTorch's gate order (r, z, n) and formula
/// n = tanh(W_in x + b_in + r·(W_hn h + b_hn)) (see <see cref="Functional.GruCell"/>). Layout, names and shapes as
/// <see cref="RNNBase"/> with three gates (G = 3).
/// </summary>
public sealed class GRU : RNNBase
{
    /// <summary>Creates the layer stack; parameters are drawn from U(−1/√H, 1/√H).</summary>
    /// <param name="inputSize">Features of each input step.</param>
    /// <param name="hiddenSize">Features of the hidden state.</param>
    /// <param name="numLayers">Stacked layers.</param>
    /// <param name="bias">Whether to learn biases.</param>
    /// <param name="batchFirst">Inputs and outputs are [B, T, ·].</param>
    /// <param name="dropout">Dropout on the outputs of every layer but the last, in training mode.</param>
    /// <param name="bidirectional">Also run each layer from the last step to the first.</param>
    /// <exception cref="ArgumentException">A size is not positive.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numLayers"/> is below 1 or <paramref name="dropout"/> outside [0, 1].</exception>
    public GRU(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false, double dropout = 0, bool bidirectional = false)
        : base(RecurrentMode.Gru, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional)
    {
    }

    /// <summary>Runs the sequence from <paramref name="h0"/> (zeros when null).</summary>
    /// <param name="input">[T, B, I] ([B, T, I] with batchFirst) or unbatched [T, I].</param>
    /// <param name="h0">Initial hidden states [L·D, B, H] (unbatched [L·D, H]), or null.</param>
    /// <returns>The output [T, B, D·H] (batch first if so configured) and the final hidden states, h0's shape.</returns>
    /// <param name="lengths">Valid steps of each batch element, each in [1, T] (PyTorch's packed sequences): outputs past
    /// an element's length are zero and its final states are those at its length; null when every step is valid.</param>
    /// <exception cref="ArgumentException">The shapes, dtypes or devices do not fit, or a length is out of range; the message names them.</exception>
    public (Tensor Output, Tensor H) Forward(Tensor input, Tensor? h0, long[]? lengths = null)
    {
        var (output, h, _) = Run(input, h0, null, lengths);
        return (output, h);
    }
}
