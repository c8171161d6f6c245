namespace NeuralCore.Nn;

/// <summary>
/// A multi-layer long short-term memory, as <c>torch.nn.LSTM</c>, with PyTorch's gate order (i, f, g, o) (see
/// <see cref="Functional.LstmCell"/>). Layout, names and shapes as <see cref="RNNBase"/> with four gates (G = 4);
/// the cell states have the hidden states' shape. With <c>projSize</c> P &gt; 0 (PyTorch's <c>proj_size</c>) each
/// hidden state is projected to P features by <c>weight_hr_l{k}</c> [P, H]: the output is [T, B, D·P], the hidden
/// states [L·D, B, P], the cell states stay [L·D, B, H].
/// </summary>
public sealed class LSTM : RNNBase
{
    /// <summary>Creates the layer stack; parameters are drawn from U(−1/√H, 1/√H).</summary>
    /// <param name="inputSize">Features of each input step.</param>
    /// <param name="hiddenSize">Features of the hidden and cell states.</param>
    /// <param name="numLayers">Stacked layers.</param>
    /// <param name="bias">Whether to learn biases.</param>
    /// <param name="batchFirst">Inputs and outputs are [B, T, ·].</param>
    /// <param name="dropout">Dropout on the outputs of every layer but the last, in training mode.</param>
    /// <param name="bidirectional">Also run each layer from the last step to the first.</param>
    /// <param name="projSize">Features of the projected hidden state, below <paramref name="hiddenSize"/>; 0 for none.</param>
    /// <exception cref="ArgumentException">A size is not positive.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numLayers"/> is below 1, <paramref name="dropout"/> outside [0, 1], or <paramref name="projSize"/> outside [0, hiddenSize).</exception>
    public LSTM(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false, double dropout = 0, bool bidirectional = false,
        int projSize = 0)
        : base(RecurrentMode.Lstm, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, projSize)
    {
    }

    /// <summary>Runs the sequence from the given states (zeros when null).</summary>
    /// <param name="input">[T, B, I] ([B, T, I] with batchFirst) or unbatched [T, I].</param>
    /// <param name="state">Initial hidden and cell states, [L·D, B, P or H] and [L·D, B, H] (unbatched [L·D, ·]), or null.</param>
    /// <returns>The output [T, B, D·P or D·H] (batch first if so configured) and the final hidden and cell states.</returns>
    /// <param name="lengths">Valid steps of each batch element, each in [1, T] (PyTorch's packed sequences): outputs past
    /// an element's length are zero and its final states are those at its length; null when every step is valid.</param>
    /// <exception cref="ArgumentException">The shapes, dtypes or devices do not fit, or a length is out of range; the message names them.</exception>
    public (Tensor Output, (Tensor H, Tensor C) State) Forward(Tensor input, (Tensor H, Tensor C)? state, long[]? lengths = null)
    {
        var (output, h, c) = Run(input, state?.H, state?.C, lengths);
        return (output, (h, c!));
    }
}
