using System.Globalization;

namespace NeuralCore.Nn;

/// <summary>
/// The base of <see cref="RNNCell"/>, <see cref="LSTMCell"/> and <see cref="GRUCell"/>: one recurrent step with PyTorch's
/// parameter names and layout — <c>weight_ih</c> [G·H, I], <c>weight_hh</c> [G·H, H], <c>bias_ih</c> and
/// <c>bias_hh</c> [G·H] — initialised from U(−1/√H, 1/√H). Shape: input [B, I] or [I]; states [B, H] or [H].
/// </summary>
public abstract class RNNCellBase : Module
{
    private protected RNNCellBase(RecurrentMode mode, int inputSize, int hiddenSize, bool bias)
    {
        string op = GetType().Name;
        if (inputSize < 1 || hiddenSize < 1)
            throw new ArgumentException($"{op}: inputSize and hiddenSize must be positive, got {inputSize} and {hiddenSize}.");
        int gates = RecurrentCell.GateCount(mode) * hiddenSize;
        ShapeMath.RequireTensor(op, [gates, inputSize], DType.Float32, Device.Cpu, "weight_ih");
        ShapeMath.RequireTensor(op, [gates, hiddenSize], DType.Float32, Device.Cpu, "weight_hh");
        Mode = mode;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        RegisterParameter("weight_ih", Tensor.Zeros(gates, inputSize));
        RegisterParameter("weight_hh", Tensor.Zeros(gates, hiddenSize));
        if (bias)
        {
            RegisterParameter("bias_ih", Tensor.Zeros(gates));
            RegisterParameter("bias_hh", Tensor.Zeros(gates));
        }
        ResetParameters();
    }

    /// <summary>The cell's kind.</summary>
    public RecurrentMode Mode { get; }

    /// <summary>Features of the input.</summary>
    public int InputSize { get; }

    /// <summary>Features of the hidden state.</summary>
    public int HiddenSize { get; }

    /// <summary>Input-to-hidden weight [G·H, I].</summary>
    public Tensor WeightIh => GetParameter("weight_ih")!;

    /// <summary>Hidden-to-hidden weight [G·H, H].</summary>
    public Tensor WeightHh => GetParameter("weight_hh")!;

    /// <summary>Input-to-hidden bias [G·H], or null.</summary>
    public Tensor? BiasIh => GetParameter("bias_ih");

    /// <summary>Hidden-to-hidden bias [G·H], or null.</summary>
    public Tensor? BiasHh => GetParameter("bias_hh");

    /// <summary>Re-draws every parameter from U(−1/√H, 1/√H), as PyTorch.</summary>
    public void ResetParameters()
    {
        double bound = 1 / Math.Sqrt(HiddenSize);
        foreach (var p in Parameters(recurse: false)) Init.Uniform(p, -bound, bound);
    }

    // Zeros of the state shape for this input, checked later with the step's operands.
    private protected Tensor ZeroState(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        long[] shape = input.Dim == 2 ? [input.Shape[0], HiddenSize] : [HiddenSize];
        return Tensor.Zeros(shape, input.DType, input.Device);
    }

    /// <inheritdoc />
    protected override string ExtraRepr() =>
        string.Create(CultureInfo.InvariantCulture,
            $"{InputSize}, {HiddenSize}{(BiasIh is null ? ", bias: False" : "")}{(Mode == RecurrentMode.RnnRelu ? ", nonlinearity: relu" : "")}");
}
