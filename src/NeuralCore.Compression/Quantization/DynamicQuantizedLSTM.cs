using System.Globalization;
using NeuralCore.Nn;

namespace NeuralCore.Compression;

/// <summary>
/// An <see cref="LSTM"/> with dynamically quantized weights, for inference: each layer and direction holds its input
/// and hidden weight matrices as dynamic <see cref="QuantizedLinear"/>s (children <c>ih_l{k}</c> and <c>hh_l{k}</c>,
/// <c>_reverse</c> for the backward direction, their biases <c>b_ih</c> and <c>b_hh</c>). The input projection of a
/// whole sequence is one int8 GEMM; each step multiplies the hidden state, quantized over its own range, by the int8
/// hidden weights. Gate order (i, f, g, o) and shapes as <see cref="LSTM"/>; inter-layer dropout is not applied.
/// </summary>
public sealed class DynamicQuantizedLSTM : Module
{
    readonly QuantizedLinear[] inputWeights, hiddenWeights;

    /// <summary>Creates the layer with zero weights (to be filled by loading a state dict).</summary>
    /// <exception cref="ArgumentException">A size is not positive.</exception>
    public DynamicQuantizedLSTM(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false, bool bidirectional = false)
    {
        if (inputSize <= 0 || hiddenSize <= 0 || numLayers <= 0)
            throw new ArgumentException($"DynamicQuantizedLSTM: inputSize ({inputSize}), hiddenSize ({hiddenSize}) and numLayers ({numLayers}) must be positive.");
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        NumLayers = numLayers;
        HasBias = bias;
        BatchFirst = batchFirst;
        Bidirectional = bidirectional;
        int directions = bidirectional ? 2 : 1;
        inputWeights = new QuantizedLinear[numLayers * directions];
        hiddenWeights = new QuantizedLinear[numLayers * directions];
        for (int l = 0; l < numLayers; l++)
            for (int d = 0; d < directions; d++)
            {
                string suffix = Suffix(l, d);
                int inSize = l == 0 ? inputSize : hiddenSize * directions;
                inputWeights[l * directions + d] = new QuantizedLinear(inSize, 4 * hiddenSize, bias, dynamic: true);
                hiddenWeights[l * directions + d] = new QuantizedLinear(hiddenSize, 4 * hiddenSize, bias, dynamic: true);
                RegisterModule("ih" + suffix, inputWeights[l * directions + d]);
                RegisterModule("hh" + suffix, hiddenWeights[l * directions + d]);
            }
    }

    static string Suffix(int layer, int direction) =>
        string.Create(CultureInfo.InvariantCulture, $"_l{layer}") + (direction == 1 ? "_reverse" : "");

    /// <summary>Quantizes the weights of <paramref name="lstm"/> per output row (gate unit).</summary>
    /// <exception cref="ArgumentException"><paramref name="lstm"/> projects its hidden states (<see cref="RNNBase.ProjSize"/> &gt; 0), which this layer does not implement.</exception>
    public static DynamicQuantizedLSTM FromFloat(LSTM lstm)
    {
        ArgumentNullException.ThrowIfNull(lstm);
        if (lstm.ProjSize > 0)
            throw new ArgumentException($"DynamicQuantizedLSTM: the LSTM has projSize {lstm.ProjSize}; projected LSTMs are not quantized (keep it in float).", nameof(lstm));
        var q = new DynamicQuantizedLSTM(lstm.InputSize, lstm.HiddenSize, lstm.NumLayers, lstm.HasBias, lstm.BatchFirst, lstm.Bidirectional);
        var parameters = lstm.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        int directions = lstm.Bidirectional ? 2 : 1;
        for (int l = 0; l < lstm.NumLayers; l++)
            for (int d = 0; d < directions; d++)
            {
                string s = Suffix(l, d);
                q.inputWeights[l * directions + d].InitializeFrom(parameters["weight_ih" + s], lstm.HasBias ? parameters["bias_ih" + s] : null);
                q.hiddenWeights[l * directions + d].InitializeFrom(parameters["weight_hh" + s], lstm.HasBias ? parameters["bias_hh" + s] : null);
            }
        return q;
    }

    /// <summary>Features of each input step.</summary>
    public int InputSize { get; }

    /// <summary>Features of the hidden and cell states.</summary>
    public int HiddenSize { get; }

    /// <summary>Stacked layers.</summary>
    public int NumLayers { get; }

    /// <summary>Whether the layers have biases.</summary>
    public bool HasBias { get; }

    /// <summary>Inputs and outputs are [B, T, ·].</summary>
    public bool BatchFirst { get; }

    /// <summary>Each layer also runs from the last step to the first.</summary>
    public bool Bidirectional { get; }

    /// <summary>Runs the sequence from zero states and returns the output.</summary>
    public override Tensor Forward(Tensor x) => Forward(x, null).Output;

    /// <summary>Runs the sequence from the given states (zeros when null), as <see cref="LSTM.Forward(Tensor, ValueTuple{Tensor, Tensor}?, long[])"/>.</summary>
    /// <exception cref="ArgumentException">The input is not Float32 [T, B, I] ([B, T, I] with batchFirst, or [T, I]) on the CPU, or the states do not fit.</exception>
    public (Tensor Output, (Tensor H, Tensor C) State) Forward(Tensor input, (Tensor H, Tensor C)? state)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.DType != DType.Float32 || !input.Device.Equals(Device.Cpu))
            throw new ArgumentException($"DynamicQuantizedLSTM: the input must be a Float32 CPU tensor, got {input.DType} on {input.Device}.", nameof(input));
        bool unbatched = input.Dim == 2;
        if ((input.Dim != 3 && !unbatched) || input.Shape[-1] != InputSize)
            throw new ArgumentException($"DynamicQuantizedLSTM: expected input [T, B, {InputSize}] (or [T, {InputSize}]), got shape {input.Shape}.", nameof(input));
        var x = unbatched ? input.Unsqueeze(1) : BatchFirst ? input.Transpose(0, 1) : input;
        int steps = checked((int)x.Shape[0]), batch = checked((int)x.Shape[1]), h = HiddenSize, directions = Bidirectional ? 2 : 1;
        var stateShape = unbatched ? new long[] { NumLayers * directions, h } : [NumLayers * directions, batch, h];
        float[] h0 = StateArray(state?.H, stateShape, "H"), c0 = StateArray(state?.C, stateShape, "C");
        var layerInput = x.Contiguous().ToArray<float>();
        var hn = new float[h0.Length];
        var cn = new float[c0.Length];
        for (int l = 0; l < NumLayers; l++)
        {
            int inSize = l == 0 ? InputSize : h * directions;
            var output = new float[(long)steps * batch * h * directions];
            for (int d = 0; d < directions; d++)
            {
                int index = l * directions + d;
                var projected = new float[(long)steps * batch * 4 * h];
                inputWeights[index].Apply(layerInput, steps * batch, projected);
                var hs = h0.AsSpan(index * batch * h, batch * h).ToArray();
                var cs = c0.AsSpan(index * batch * h, batch * h).ToArray();
                var recurrent = new float[batch * 4 * h];
                for (int i = 0; i < steps; i++)
                {
                    int t = d == 0 ? i : steps - 1 - i;
                    hiddenWeights[index].Apply(hs, batch, recurrent);
                    for (int b = 0; b < batch; b++)
                    {
                        var gx = projected.AsSpan((t * batch + b) * 4 * h, 4 * h);
                        var gh = recurrent.AsSpan(b * 4 * h, 4 * h);
                        for (int u = 0; u < h; u++)
                        {
                            float ig = Sigmoid(gx[u] + gh[u]), fg = Sigmoid(gx[h + u] + gh[h + u]);
                            float gg = MathF.Tanh(gx[2 * h + u] + gh[2 * h + u]), og = Sigmoid(gx[3 * h + u] + gh[3 * h + u]);
                            float c = fg * cs[b * h + u] + ig * gg;
                            cs[b * h + u] = c;
                            float hv = og * MathF.Tanh(c);
                            hs[b * h + u] = hv;
                            output[((long)t * batch + b) * h * directions + d * h + u] = hv;
                        }
                    }
                }
                hs.CopyTo(hn.AsSpan(index * batch * h));
                cs.CopyTo(cn.AsSpan(index * batch * h));
            }
            layerInput = output;
        }
        var result = Tensor.FromArray(layerInput, steps, batch, h * directions);
        result = unbatched ? result.Squeeze(1) : BatchFirst ? result.Transpose(0, 1).Contiguous() : result;
        return (result, (Tensor.FromArray(hn, stateShape), Tensor.FromArray(cn, stateShape)));
    }

    static float Sigmoid(float v) => 1f / (1f + MathF.Exp(-v));

    static float[] StateArray(Tensor? state, long[] shape, string name)
    {
        if (state is null) return new float[shape.Aggregate(1L, (a, b) => a * b)];
        if (state.DType != DType.Float32 || !state.Shape.ToArray().SequenceEqual(shape))
            throw new ArgumentException($"DynamicQuantizedLSTM: the initial state {name} must be Float32 [{string.Join(", ", shape)}], got {state.DType} {state.Shape}.");
        return state.Contiguous().ToArray<float>();
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture,
        $"inputSize: {InputSize}, hiddenSize: {HiddenSize}, numLayers: {NumLayers}, bias: {HasBias}, batchFirst: {BatchFirst}, bidirectional: {Bidirectional}");
}
