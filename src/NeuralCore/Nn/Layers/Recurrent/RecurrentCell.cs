namespace NeuralCore.Nn;

// The one implementation of a recurrent step and of the sequence loop, shared by the cells, the layers and Functional.
internal static class RecurrentCell
{
    public static int GateCount(RecurrentMode mode) => mode switch
    {
        RecurrentMode.Lstm => 4,
        RecurrentMode.Gru => 3,
        _ => 1,
    };

    public static RecurrentMode ParseNonlinearity(string nonlinearity, string op) => nonlinearity switch
    {
        "tanh" => RecurrentMode.RnnTanh,
        "relu" => RecurrentMode.RnnRelu,
        _ => throw new ArgumentException($"{op}: nonlinearity must be \"tanh\" or \"relu\", got \"{MessageText.Clip(nonlinearity ?? "null")}\".", nameof(nonlinearity)),
    };

    public static string NonlinearityName(RecurrentMode mode) => mode == RecurrentMode.RnnRelu ? "relu" : "tanh";

    // gx: the step's input projection x·W_ihᵀ + b_ih, [B, G·H] (a view into the projection of the whole sequence in a
    // layer). Returns the next hidden state and, for an LSTM, the next cell state. tapHh, when given, sees the hidden
    // projection (h, h·W_hhᵀ + b_hh) and returns the tensor used in its place (an identity that observes its gradient).
    public static (Tensor H, Tensor? C) Step(RecurrentMode mode, Tensor gx, Tensor h, Tensor? c, Tensor weightHh, Tensor? biasHh,
        Func<Tensor, Tensor, Tensor>? tapHh = null)
    {
        var gh = Functional.Linear(h, weightHh, biasHh);
        if (tapHh is not null) gh = tapHh(h, gh);
        switch (mode)
        {
            case RecurrentMode.RnnTanh:
                return ((gx + gh).Tanh(), null);
            case RecurrentMode.RnnRelu:
                return ((gx + gh).Relu(), null);
            case RecurrentMode.Lstm:
            {
                var gates = (gx + gh).Chunk(4, -1);
                var i = gates[0].Sigmoid();
                var f = gates[1].Sigmoid();
                var g = gates[2].Tanh();
                var o = gates[3].Sigmoid();
                var cNext = f * c! + i * g;
                return (o * cNext.Tanh(), cNext);
            }
            case RecurrentMode.Gru:
            {
                var xs = gx.Chunk(3, -1);
                var hs = gh.Chunk(3, -1);
                var r = (xs[0] + hs[0]).Sigmoid();
                var z = (xs[1] + hs[1]).Sigmoid();
                var n = (xs[2] + r * hs[2]).Tanh();
                // (1 − z)·n + z·h, written with one fewer multiplication.
                return (n + z * (h - n), null);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown recurrent mode.");
        }
    }

    // Validates one step's operands: input [B, I] or [I], states [B, H] or [H], weights [G·H, I] and [G·H, H].
    public static void CheckStep(string op, int gates, Tensor input, Tensor hidden, Tensor? cell, Tensor weightIh, Tensor weightHh,
        Tensor? biasIh, Tensor? biasHh)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(weightIh);
        ArgumentNullException.ThrowIfNull(weightHh);
        if (weightIh.Dim != 2 || weightHh.Dim != 2 || weightHh.Shape[0] % gates != 0 || weightHh.Shape[0] != gates * weightHh.Shape[1]
            || weightIh.Shape[0] != weightHh.Shape[0])
            throw new ArgumentException($"{op}: weights {weightIh.Shape} and {weightHh.Shape} must be [{gates}·H, I] and [{gates}·H, H].");
        long hiddenSize = weightHh.Shape[1], inputSize = weightIh.Shape[1];
        foreach (var (bias, name) in new[] { (biasIh, "biasIh"), (biasHh, "biasHh") })
            if (bias is not null && (bias.Dim != 1 || bias.Shape[0] != gates * hiddenSize))
                throw new ArgumentException($"{op}: {name} {bias.Shape} must be [{gates * hiddenSize}] for weight {weightHh.Shape}.");
        if (input.Dim is not (1 or 2) || input.Shape[-1] != inputSize)
            throw new ArgumentException($"{op}: input {input.Shape} must be [B, {inputSize}] or [{inputSize}] for weight {weightIh.Shape}.");
        var expected = input.Dim == 2 ? new Shape([input.Shape[0], hiddenSize]) : new Shape([hiddenSize]);
        if (hidden.Shape != expected)
            throw new ArgumentException($"{op}: hidden state {hidden.Shape} must be {expected} for input {input.Shape} and weight {weightHh.Shape}.");
        if (cell is not null && cell.Shape != expected)
            throw new ArgumentException($"{op}: cell state {cell.Shape} must be {expected} for input {input.Shape} and weight {weightHh.Shape}.");
        if (!input.DType.IsFloatingPoint() || input.DType != weightIh.DType || hidden.DType != input.DType || weightHh.DType != input.DType
            || (cell is not null && cell.DType != input.DType))
            throw new ArgumentException($"{op}: input ({input.DType}), states and weights ({weightIh.DType}) must share a floating-point dtype.");
    }
}
