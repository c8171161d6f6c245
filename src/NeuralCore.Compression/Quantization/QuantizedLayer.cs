using NeuralCore.Nn;

namespace NeuralCore.Compression;

/// <summary>
/// Common state of the int8 layers (<see cref="QuantizedLinear"/>, <see cref="QuantizedConv2d"/>): per-output-channel
/// symmetric int8 weights, their scales, a float bias, an optional fused ReLU, and either fixed activation
/// parameters from calibration (static quantization) or none (dynamic: each batch is quantized over its own range).
/// </summary>
/// <remarks>
/// <para>State dict (what a saved model holds): <c>weight_quantized</c> (UInt8, the int8 weights plus
/// <see cref="WeightStorageOffset"/>, i.e. two's-complement values shifted to 1 … 255), <c>weight_scale</c> (Float32,
/// one per output channel), <c>bias</c> (Float32, when present), and for static layers <c>input_scale</c> (Float32 [1]) and
/// <c>input_zero_point</c> (Int32 [1]).</para>
/// <para>The weights are packed for the int8 GEMM on the first forward pass. Layers are for inference; after changing
/// the state in place (<see cref="Module.LoadStateDict"/> on a layer that has already run) call
/// <see cref="RefreshPackedWeights"/>. Inputs must be Float32 CPU tensors.</para>
/// </remarks>
public abstract class QuantizedLayer : Module
{
    /// <summary>What is added to an int8 weight to store it as UInt8 (the safetensors file holds q + 128).</summary>
    public const int WeightStorageOffset = 128;

    object? packed;
    QuantParams? packedInput;

    /// <summary>Creates the buffers for a weight of shape <paramref name="weightShape"/> (output channels first).</summary>
    private protected QuantizedLayer(long[] weightShape, bool bias, bool relu, bool dynamic)
    {
        OutChannels = checked((int)weightShape[0]);
        long perChannel = 1;
        for (int i = 1; i < weightShape.Length; i++) perChannel = checked(perChannel * weightShape[i]);
        if (OutChannels <= 0 || perChannel <= 0 || perChannel > int.MaxValue / 4)
            throw new ArgumentException($"{GetType().Name}: the weight shape [{string.Join(", ", weightShape)}] must have positive sizes below 2^29 per channel.");
        ReductionSize = (int)perChannel;
        FusedRelu = relu;
        IsDynamic = dynamic;
        RegisterBuffer("weight_quantized", Tensor.Zeros(weightShape, DType.UInt8));
        RegisterBuffer("weight_scale", Tensor.Ones([OutChannels]));
        if (bias) RegisterBuffer("bias", Tensor.Zeros([OutChannels]));
        if (!dynamic)
        {
            RegisterBuffer("input_scale", Tensor.Ones([1]));
            RegisterBuffer("input_zero_point", Tensor.Zeros([1], DType.Int32));
        }
    }

    /// <summary>Output channels (features).</summary>
    public int OutChannels { get; }

    /// <summary>Weights per output channel (the GEMM's K).</summary>
    public int ReductionSize { get; }

    /// <summary>Whether a ReLU is applied in the epilogue (a fused following ReLU).</summary>
    public bool FusedRelu { get; }

    /// <summary>True when activations are quantized per batch at run time.</summary>
    public bool IsDynamic { get; }

    /// <summary>Whether the layer has a bias.</summary>
    public bool HasBias => GetBuffer("bias") is not null;

    /// <summary>The fixed activation parameters of a static layer; null for a dynamic one.</summary>
    public QuantParams? InputParams => IsDynamic
        ? null
        : new QuantParams(GetBuffer("input_scale")!.Item<float>(), GetBuffer("input_zero_point")!.Item<int>());

    /// <summary>Per-output-channel weight scales (a copy).</summary>
    public float[] WeightScales => GetBuffer("weight_scale")!.ToArray<float>();

    /// <summary>The int8 weights, row-major [outChannels, reductionSize] (a copy).</summary>
    public sbyte[] QuantizedWeights()
    {
        var stored = GetBuffer("weight_quantized")!.ToArray<byte>();
        var values = new sbyte[stored.Length];
        for (int i = 0; i < stored.Length; i++) values[i] = (sbyte)(stored[i] - WeightStorageOffset);
        return values;
    }

    /// <summary>The weights as the layer computes with them: scale · q, shaped like the float layer's weight.</summary>
    public Tensor DequantizedWeight()
    {
        var q = QuantizedWeights();
        var scales = WeightScales;
        var w = new float[q.Length];
        for (int i = 0; i < w.Length; i++) w[i] = scales[i / ReductionSize] * q[i];
        return Tensor.FromArray(w, GetBuffer("weight_quantized")!.Shape.ToArray());
    }

    /// <summary>Re-reads the buffers into the packed GEMM weights; needed only after editing the state of a layer that has run.</summary>
    public void RefreshPackedWeights() => (packed, packedInput) = (null, null);

    /// <summary>Fills the buffers from float weights (quantized here per output channel), bias and activation parameters.</summary>
    private protected void Initialize(Tensor weight, Tensor? bias, QuantParams? input)
    {
        string op = GetType().Name;
        var (values, scales) = WeightQuantizer.Quantize(weight.Contiguous().ToArray<float>(), OutChannels, ReductionSize, op);
        var stored = new byte[values.Length];
        for (int i = 0; i < stored.Length; i++) stored[i] = (byte)(values[i] + WeightStorageOffset);
        using (Tensor.NoGrad())
        {
            GetBuffer("weight_quantized")!.Copy_(Tensor.FromArray(stored, weight.Shape.ToArray()));
            GetBuffer("weight_scale")!.Copy_(Tensor.FromArray(scales));
            if (bias is not null) GetBuffer("bias")!.Copy_(bias.Detach());
            if (input is { } p)
            {
                GetBuffer("input_scale")!.Copy_(Tensor.FromArray([p.Scale]));
                GetBuffer("input_zero_point")!.Copy_(Tensor.FromArray([p.ZeroPoint]));
            }
        }
        (packed, packedInput) = (null, null);
    }

    /// <summary>The packed GEMM of a Linear layer, built from the buffers on first use.</summary>
    private protected Int8Matmul Matmul() =>
        Packed((weights, scales, bias) => new Int8Matmul(weights, scales, bias, OutChannels, ReductionSize, FusedRelu));

    /// <summary>
    /// The weights in the layout the layer's kernel runs on, built by <paramref name="pack"/> from the int8 weights,
    /// their scales and the bias on first use (after checking the stored parameters) and kept until the state changes.
    /// Concurrent first calls may both pack; either result is kept, both are equal.
    /// </summary>
    private protected T Packed<T>(Func<sbyte[], float[], float[]?, T> pack) where T : class
    {
        if (packed is T ready) return ready;
        var scales = WeightScales;
        foreach (var s in scales)
            if (!(s > 0) || !float.IsFinite(s))
                throw new InvalidOperationException($"{GetType().Name}: weight scales must be positive and finite, found {s}.");
        var input = InputParams;
        if (input is { } p && (!(p.Scale > 0) || !float.IsFinite(p.Scale) || p.ZeroPoint is < QuantParams.QMin or > QuantParams.QMax))
            throw new InvalidOperationException($"{GetType().Name}: the input quantization parameters ({p.Scale}, {p.ZeroPoint}) are invalid.");
        var built = pack(QuantizedWeights(), scales, GetBuffer("bias")?.ToArray<float>());
        packedInput = input;
        packed = built;
        return built;
    }

    /// <summary>The activation parameters for a batch: the fixed ones, or the batch's own range.</summary>
    private protected QuantParams ParamsFor(ReadOnlySpan<float> x) =>
        IsDynamic ? Int8Matmul.DynamicParams(x) : packedInput ?? InputParams!.Value;

    /// <summary>y[rows, OutChannels] from x[rows, ReductionSize] (float arrays), as the forward pass computes it.</summary>
    internal void Apply(ReadOnlySpan<float> x, int rows, Span<float> y) => Matmul().Forward(x, rows, ParamsFor(x), y);

    /// <summary>Throws unless <paramref name="x"/> is a Float32 CPU tensor.</summary>
    private protected void CheckInput(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.DType != DType.Float32)
            throw new ArgumentException($"{GetType().Name}: the input must be Float32, got {x.DType}.", nameof(x));
        if (!x.Device.Equals(Device.Cpu))
            throw new ArgumentException($"{GetType().Name}: the int8 kernels run on the CPU; the input is on {x.Device}.", nameof(x));
    }
}
