using System.Globalization;
using System.Text;

namespace NeuralCore.Nn;

/// <summary>
/// The base of <see cref="RNN"/>, <see cref="LSTM"/> and <see cref="GRU"/>, as PyTorch's <c>RNNBase</c>: a stack of
/// recurrent layers, each optionally bidirectional, with dropout between layers. Parameters carry PyTorch's names and
/// layout — <c>weight_ih_l{k}</c> [G·H, I] (I = hidden·directions above the first layer), <c>weight_hh_l{k}</c> [G·H, H],
/// <c>bias_ih_l{k}</c>, <c>bias_hh_l{k}</c> [G·H], with the suffix <c>_reverse</c> for the backward direction and G the
/// number of gates — so state dicts interchange with PyTorch through safetensors. An <see cref="LSTM"/> with a
/// projection (<see cref="ProjSize"/> P &gt; 0) also has <c>weight_hr_l{k}</c> [P, H], projects every hidden state
/// h = W_hr·(o∘tanh(c)), and then <c>weight_hh</c> is [G·H, P] and the layers above the first take P·directions inputs.
/// </summary>
/// <remarks>
/// Each layer and direction projects the inputs of all time steps with one GEMM, then runs the cell over time; the
/// backward pass (through time) comes from the ops' rules. Shape (batchFirst false): input [T, B, I] or unbatched
/// [T, I]; output [T, B, D·H] (D = 2 when bidirectional); states [L·D, B, H] (or [L·D, H]), ordered layer by layer,
/// forward direction first. Given per-element lengths (PyTorch's packed sequences), outputs past an element's length
/// are zero and its final states are those at its length (the reverse direction starts there). With a projection, the
/// output and hidden states have P features instead of H (the cell states keep H). With batchFirst the input and output are [B, T, ·]; the states keep their layout.
/// </remarks>
public abstract class RNNBase : Module
{
    private protected RNNBase(RecurrentMode mode, int inputSize, int hiddenSize, int numLayers, bool bias, bool batchFirst, double dropout, bool bidirectional,
        int projSize = 0)
    {
        string op = GetType().Name;
        if (inputSize < 1 || hiddenSize < 1)
            throw new ArgumentException($"{op}: inputSize and hiddenSize must be positive, got {inputSize} and {hiddenSize}.");
        if (numLayers < 1) throw new ArgumentOutOfRangeException(nameof(numLayers), numLayers, $"{op}: numLayers must be at least 1.");
        if (!(dropout >= 0 && dropout <= 1))
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, $"{op}: dropout must be in [0, 1].");
        if (projSize < 0 || (projSize > 0 && projSize >= hiddenSize))
            throw new ArgumentOutOfRangeException(nameof(projSize), projSize, $"{op}: projSize must be 0 (no projection) or in [1, hiddenSize = {hiddenSize}).");
        ProjSize = projSize;
        Mode = mode;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        NumLayers = numLayers;
        BatchFirst = batchFirst;
        Dropout = dropout;
        Bidirectional = bidirectional;
        int gates = RecurrentCell.GateCount(mode) * hiddenSize;
        for (int layer = 0; layer < numLayers; layer++)
        {
            long layerInput = layer == 0 ? inputSize : (long)OutputSize * Directions;
            ShapeMath.RequireTensor(op, [gates, layerInput], DType.Float32, Device.Cpu, "weight_ih");
            ShapeMath.RequireTensor(op, [gates, OutputSize], DType.Float32, Device.Cpu, "weight_hh");
            for (int direction = 0; direction < Directions; direction++)
            {
                string suffix = Suffix(layer, direction);
                RegisterParameter("weight_ih" + suffix, Tensor.Zeros(gates, layerInput));
                RegisterParameter("weight_hh" + suffix, Tensor.Zeros(gates, OutputSize));
                if (bias)
                {
                    RegisterParameter("bias_ih" + suffix, Tensor.Zeros(gates));
                    RegisterParameter("bias_hh" + suffix, Tensor.Zeros(gates));
                }
                if (projSize > 0) RegisterParameter("weight_hr" + suffix, Tensor.Zeros(projSize, hiddenSize));
            }
        }
        HasBias = bias;
        ResetParameters();
    }

    /// <summary>The cell run at every step.</summary>
    public RecurrentMode Mode { get; }

    /// <summary>Features of each input step.</summary>
    public int InputSize { get; }

    /// <summary>Features of the hidden state.</summary>
    public int HiddenSize { get; }

    /// <summary>Features of the projected hidden state (PyTorch's <c>proj_size</c>), or 0 without a projection (only an <see cref="LSTM"/> has one).</summary>
    public int ProjSize { get; }

    /// <summary>Features of the hidden states and of each direction's output: <see cref="ProjSize"/> when set, else <see cref="HiddenSize"/>.</summary>
    public int OutputSize => ProjSize > 0 ? ProjSize : HiddenSize;

    /// <summary>Stacked recurrent layers.</summary>
    public int NumLayers { get; }

    /// <summary>Whether the layers have biases.</summary>
    public bool HasBias { get; }

    /// <summary>Whether inputs and outputs are [B, T, ·] rather than [T, B, ·].</summary>
    public bool BatchFirst { get; }

    /// <summary>Dropout probability on the outputs of every layer but the last, in training mode.</summary>
    public double Dropout { get; }

    /// <summary>Whether each layer also runs from the last step to the first.</summary>
    public bool Bidirectional { get; }

    /// <summary>1, or 2 when bidirectional.</summary>
    public int Directions => Bidirectional ? 2 : 1;

    /// <summary>The parameter of PyTorch name <paramref name="name"/> (e.g. <c>weight_hh_l1_reverse</c>), or null.</summary>
    public Tensor? Parameter(string name) => GetParameter(name);

    static string Suffix(int layer, int direction) => string.Create(CultureInfo.InvariantCulture, $"_l{layer}{(direction == 1 ? "_reverse" : "")}");

    /// <summary>Re-draws every parameter (the projections too) from U(−1/√H, 1/√H), as PyTorch.</summary>
    public void ResetParameters()
    {
        double bound = 1 / Math.Sqrt(HiddenSize);
        foreach (var p in Parameters(recurse: false)) Init.Uniform(p, -bound, bound);
    }

    /// <summary>The output sequence for <paramref name="x"/> from zero initial states (the last layer's hidden states at every step).</summary>
    public override Tensor Forward(Tensor x) => Run(x, null, null).Output;

    // Validates, runs every layer and direction, and returns the output with the final hidden (and cell) states.
    // lengths: per batch element, the number of valid steps (PyTorch's packed sequences); null when all are valid.
    private protected (Tensor Output, Tensor H, Tensor? C) Run(Tensor input, Tensor? h0, Tensor? c0, long[]? lengths = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        string op = GetType().Name;
        var weight = GetParameter("weight_ih_l0")!;
        if (input.Dim is not (2 or 3) || input.Shape[-1] != InputSize)
            throw new ArgumentException($"{op}: input {input.Shape} must be {(BatchFirst ? "[B, T" : "[T, B")}, {InputSize}] or unbatched [T, {InputSize}].");
        if (input.DType != weight.DType)
            throw new ArgumentException($"{op}: input ({input.DType}) must have the parameters' dtype ({weight.DType}).");
        Tensor.CheckSameDevice(input, weight, op);
        bool unbatched = input.Dim == 2;
        var x = unbatched ? input.Unsqueeze(1) : BatchFirst ? input.Transpose(0, 1) : input;
        long steps = x.Shape[0], batch = x.Shape[1];
        if (steps == 0) throw new ArgumentException($"{op}: input {input.Shape} has no time steps.");
        var valid = lengths is null ? null : ValidSteps(lengths, steps, batch, unbatched, input, op);
        long[] stateShape = unbatched ? [NumLayers * Directions, OutputSize] : [NumLayers * Directions, batch, OutputSize];
        long[] cellShape = unbatched ? [NumLayers * Directions, HiddenSize] : [NumLayers * Directions, batch, HiddenSize];
        var h = State(h0, stateShape, "initial hidden state", input, op);
        var c = Mode == RecurrentMode.Lstm ? State(c0, cellShape, "initial cell state", input, op) : null;
        if (unbatched)
        {
            h = h.Unsqueeze(1);
            c = c?.Unsqueeze(1);
        }

        var hn = new List<Tensor>(NumLayers * Directions);
        var cn = new List<Tensor>(NumLayers * Directions);
        var layerInput = x;
        for (int layer = 0; layer < NumLayers; layer++)
        {
            var outputs = new Tensor[Directions];
            for (int direction = 0; direction < Directions; direction++)
            {
                int index = layer * Directions + direction;
                var (y, hLast, cLast) = RunDirection(layerInput, Suffix(layer, direction), direction == 1, h.Select(0, index), c?.Select(0, index), valid);
                outputs[direction] = y;
                hn.Add(hLast);
                if (cLast is not null) cn.Add(cLast);
            }
            layerInput = Directions == 1 ? outputs[0] : Tensor.Cat(outputs, 2);
            if (layer + 1 < NumLayers && Dropout > 0) layerInput = Functional.Dropout(layerInput, Dropout, IsTraining);
        }

        var output = unbatched ? layerInput.Squeeze(1) : BatchFirst ? layerInput.Transpose(0, 1) : layerInput;
        var hOut = Tensor.Stack(hn, 0);
        var cOut = cn.Count > 0 ? Tensor.Stack(cn, 0) : null;
        return unbatched ? (output, hOut.Squeeze(1), cOut?.Squeeze(1)) : (output, hOut, cOut);
    }

    /// <summary>
    /// Observer of the layer's affine maps (per-sample gradients in NeuralCore.Privacy): called with (weight, bias,
    /// input, output) for each input projection (input [T, B, I]) and each step's hidden projection (input [B, H]);
    /// it returns the tensor used in place of the output, normally an identity that records the output's gradient.
    /// </summary>
    internal Func<Tensor, Tensor?, Tensor, Tensor, Tensor>? LinearTap { get; set; }

    // Bool [T, B, 1]: true where step t is within element b's length (on the input's device).
    static Tensor ValidSteps(long[] lengths, long steps, long batch, bool unbatched, Tensor input, string op)
    {
        if (lengths.Length != batch)
            throw new ArgumentException($"{op}: {lengths.Length} lengths for a batch of {batch}{(unbatched ? " (unbatched input)" : "")}.", nameof(lengths));
        foreach (long len in lengths)
            if (len < 1 || len > steps)
                throw new ArgumentException($"{op}: every length must be in [1, {steps}] (the input's time steps), got {len}.", nameof(lengths));
        var mask = new bool[steps * batch];
        for (long t = 0; t < steps; t++)
            for (long b = 0; b < batch; b++) mask[t * batch + b] = t < lengths[b];
        var m = Tensor.FromArray(mask, steps, batch, 1);
        return m.Device == input.Device ? m : m.To(input.Device);
    }

    // One direction of one layer over [T, B, I]: every step's input projection in one GEMM, then the cell over time.
    // With valid-step masks, a step past an element's length keeps its states and outputs zeros, so a forward
    // direction ends with the state at the last valid step and a reverse one starts at it.
    (Tensor Output, Tensor H, Tensor? C) RunDirection(Tensor x, string suffix, bool reverse, Tensor h, Tensor? c, Tensor? valid)
    {
        var weightIh = GetParameter("weight_ih" + suffix)!;
        var biasIh = GetParameter("bias_ih" + suffix);
        var projected = Functional.Linear(x, weightIh, biasIh);
        var weightHh = GetParameter("weight_hh" + suffix)!;
        var biasHh = GetParameter("bias_hh" + suffix);
        var tap = LinearTap;
        Func<Tensor, Tensor, Tensor>? tapHh = null;
        if (tap is not null)
        {
            projected = tap(weightIh, biasIh, x, projected);
            tapHh = (hIn, gh) => tap(weightHh, biasHh, hIn, gh);
        }
        var weightHr = GetParameter("weight_hr" + suffix);
        int steps = (int)x.Shape[0];
        var outputs = new Tensor[steps];
        for (int s = 0; s < steps; s++)
        {
            int t = reverse ? steps - 1 - s : s;
            var (hNext, cNext) = RecurrentCell.Step(Mode, projected.Select(0, t), h, c, weightHh, biasHh, tapHh);
            if (weightHr is not null)
            {
                var projectedH = Functional.Linear(hNext, weightHr);
                hNext = tap is null ? projectedH : tap(weightHr, null, hNext, projectedH);
            }
            if (valid is null)
            {
                (h, c) = (hNext, cNext);
                outputs[t] = h;
                continue;
            }
            var m = valid.Select(0, t);
            outputs[t] = Tensor.Where(m, hNext, 0.0);
            h = Tensor.Where(m, hNext, h);
            if (c is not null) c = Tensor.Where(m, cNext!, c);
        }
        return (Tensor.Stack(outputs, 0), h, c);
    }

    static Tensor State(Tensor? given, long[] shape, string what, Tensor input, string op)
    {
        if (given is null) return Tensor.Zeros(shape, input.DType, input.Device);
        if (given.Shape != new Shape(shape))
            throw new ArgumentException($"{op}: {what} {given.Shape} must be {new Shape(shape)} for input {input.Shape}.");
        if (given.DType != input.DType)
            throw new ArgumentException($"{op}: {what} ({given.DType}) must have the input's dtype ({input.DType}).");
        Tensor.CheckSameDevice(input, given, op);
        return given;
    }

    /// <inheritdoc />
    protected override string ExtraRepr()
    {
        var sb = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"{InputSize}, {HiddenSize}"));
        if (NumLayers != 1) sb.Append(CultureInfo.InvariantCulture, $", numLayers: {NumLayers}");
        if (Mode == RecurrentMode.RnnRelu) sb.Append(", nonlinearity: relu");
        if (!HasBias) sb.Append(", bias: False");
        if (BatchFirst) sb.Append(", batchFirst: True");
        if (Dropout != 0) sb.Append(CultureInfo.InvariantCulture, $", dropout: {Dropout}");
        if (Bidirectional) sb.Append(", bidirectional: True");
        if (ProjSize > 0) sb.Append(CultureInfo.InvariantCulture, $", projSize: {ProjSize}");
        return sb.ToString();
    }
}
