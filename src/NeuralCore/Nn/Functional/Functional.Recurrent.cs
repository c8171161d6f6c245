namespace NeuralCore.Nn;

// The recurrent cells as compositions of Linear and elementwise ops, so their gradients (backpropagation through
// time, when a layer chains them) come from the op rules. The layers project every time step's input with one GEMM
// and call the step functions below with those projections; the cells project one step and call the same functions.
public static partial class Functional
{
    /// <summary>
    /// One step of an Elman RNN cell, as <c>torch.nn.RNNCell</c>: h' = act(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh).
    /// Shape: input [B, I] or [I]; hidden [B, H] or [H]; weightIh [H, I]; weightHh [H, H]; biases [H].
    /// </summary>
    /// <param name="input">The step's input.</param>
    /// <param name="hidden">The previous hidden state.</param>
    /// <param name="weightIh">Input-to-hidden weight.</param>
    /// <param name="weightHh">Hidden-to-hidden weight.</param>
    /// <param name="biasIh">Input-to-hidden bias, or null.</param>
    /// <param name="biasHh">Hidden-to-hidden bias, or null.</param>
    /// <param name="nonlinearity">"tanh" (the default) or "relu".</param>
    /// <returns>The next hidden state, hidden's shape.</returns>
    /// <exception cref="ArgumentException">The shapes do not fit (they are named) or the nonlinearity is unknown.</exception>
    public static Tensor RnnCell(Tensor input, Tensor hidden, Tensor weightIh, Tensor weightHh, Tensor? biasIh = null, Tensor? biasHh = null,
        string nonlinearity = "tanh")
    {
        var mode = RecurrentCell.ParseNonlinearity(nonlinearity, nameof(RnnCell));
        RecurrentCell.CheckStep(nameof(RnnCell), 1, input, hidden, null, weightIh, weightHh, biasIh, biasHh);
        return RecurrentCell.Step(mode, Linear(input, weightIh, biasIh), hidden, null, weightHh, biasHh).H;
    }

    /// <summary>
    /// One step of an LSTM cell, as <c>torch.nn.LSTMCell</c>, with PyTorch's gate order (i, f, g, o) along the rows of
    /// the weights: [i, f, g, o] = x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh; c' = σ(f)·c + σ(i)·tanh(g); h' = σ(o)·tanh(c').
    /// Shape: input [B, I] or [I]; hidden and cell [B, H] or [H]; weightIh [4H, I]; weightHh [4H, H]; biases [4H].
    /// </summary>
    /// <param name="input">The step's input.</param>
    /// <param name="hidden">The previous hidden state.</param>
    /// <param name="cell">The previous cell state.</param>
    /// <param name="weightIh">Input-to-hidden weight.</param>
    /// <param name="weightHh">Hidden-to-hidden weight.</param>
    /// <param name="biasIh">Input-to-hidden bias, or null.</param>
    /// <param name="biasHh">Hidden-to-hidden bias, or null.</param>
    /// <returns>The next hidden and cell states.</returns>
    /// <exception cref="ArgumentException">The shapes do not fit; the message names them.</exception>
    public static (Tensor H, Tensor C) LstmCell(Tensor input, Tensor hidden, Tensor cell, Tensor weightIh, Tensor weightHh,
        Tensor? biasIh = null, Tensor? biasHh = null)
    {
        ArgumentNullException.ThrowIfNull(cell);
        RecurrentCell.CheckStep(nameof(LstmCell), 4, input, hidden, cell, weightIh, weightHh, biasIh, biasHh);
        var (h, c) = RecurrentCell.Step(RecurrentMode.Lstm, Linear(input, weightIh, biasIh), hidden, cell, weightHh, biasHh);
        return (h, c!);
    }

    /// <summary>
    /// One step of a GRU cell, as <c>torch.nn.GRUCell</c>, with PyTorch's gate order (r, z, n) and formula:
    /// r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
    /// n = tanh(W_in x + b_in + r·(W_hn h + b_hn)), h' = (1 − z)·n + z·h.
    /// Shape: input [B, I] or [I]; hidden [B, H] or [H]; weightIh [3H, I]; weightHh [3H, H]; biases [3H].
    /// </summary>
    /// <param name="input">The step's input.</param>
    /// <param name="hidden">The previous hidden state.</param>
    /// <param name="weightIh">Input-to-hidden weight.</param>
    /// <param name="weightHh">Hidden-to-hidden weight.</param>
    /// <param name="biasIh">Input-to-hidden bias, or null.</param>
    /// <param name="biasHh">Hidden-to-hidden bias, or null.</param>
    /// <returns>The next hidden state.</returns>
    /// <exception cref="ArgumentException">The shapes do not fit; the message names them.</exception>
    public static Tensor GruCell(Tensor input, Tensor hidden, Tensor weightIh, Tensor weightHh, Tensor? biasIh = null, Tensor? biasHh = null)
    {
        RecurrentCell.CheckStep(nameof(GruCell), 3, input, hidden, null, weightIh, weightHh, biasIh, biasHh);
        return RecurrentCell.Step(RecurrentMode.Gru, Linear(input, weightIh, biasIh), hidden, null, weightHh, biasHh).H;
    }
}
