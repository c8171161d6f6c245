namespace NeuralCore.Nn;

/// <summary>The cell a recurrent layer runs at every time step.</summary>
public enum RecurrentMode
{
    /// <summary>Elman RNN with tanh: h' = tanh(W_ih x + b_ih + W_hh h + b_hh).</summary>
    RnnTanh,

    /// <summary>Elman RNN with ReLU: h' = relu(W_ih x + b_ih + W_hh h + b_hh).</summary>
    RnnRelu,

    /// <summary>Long short-term memory, gates (i, f, g, o).</summary>
    Lstm,

    /// <summary>Gated recurrent unit, gates (r, z, n).</summary>
    Gru,
}
