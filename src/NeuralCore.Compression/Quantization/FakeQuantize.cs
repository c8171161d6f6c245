using NeuralCore.Nn;

namespace NeuralCore.Compression;

/// <summary>
/// Fake quantization for quantization-aware training: the forward pass rounds values to what the int8 kernels will
/// see (quantize, then dequantize) while the backward pass is the straight-through estimator, passing the gradient
/// unchanged where the input lies inside the representable range and zeroing it where it was clamped.
/// </summary>
public static class FakeQuant
{
    /// <summary>Fake-quantizes <paramref name="x"/> with uint8 activation parameters <paramref name="p"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="x"/> is not a Float32 CPU tensor.</exception>
    public static Tensor Activation(Tensor x, QuantParams p)
    {
        Check(x, "FakeQuant.Activation");
        var values = x.Contiguous().ToArray<float>();
        var output = new float[values.Length];
        var mask = new float[values.Length];
        float lo = p.Min, hi = p.Max;
        for (int i = 0; i < values.Length; i++)
        {
            output[i] = p.FakeQuantize(values[i]);
            mask[i] = values[i] >= lo && values[i] <= hi ? 1f : 0f;
        }
        return Record("FakeQuantizeActivation", x, output, mask);
    }

    /// <summary>
    /// Fake-quantizes a weight per output channel (dimension 0) with symmetric int8 scales max|w| / 127, exactly as
    /// <see cref="QuantizedLayer"/> stores it. Every weight is inside its channel's range, so the gradient passes
    /// unchanged.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="weight"/> is not a Float32 CPU tensor of rank 2 or more, or holds a non-finite value.</exception>
    public static Tensor WeightPerChannel(Tensor weight)
    {
        Check(weight, "FakeQuant.WeightPerChannel");
        if (weight.Dim < 2)
            throw new ArgumentException($"FakeQuant.WeightPerChannel: expected a weight of rank 2 or more, got shape {weight.Shape}.", nameof(weight));
        int channels = checked((int)weight.Shape[0]);
        var values = weight.Contiguous().ToArray<float>();
        int perChannel = values.Length / channels;
        var (q, scales) = WeightQuantizer.Quantize(values, channels, perChannel, "FakeQuant.WeightPerChannel");
        var output = new float[values.Length];
        for (int i = 0; i < output.Length; i++) output[i] = scales[i / perChannel] * q[i];
        var mask = new float[values.Length];
        Array.Fill(mask, 1f);
        return Record("FakeQuantizeWeight", weight, output, mask);
    }

    static Tensor Record(string name, Tensor x, float[] output, float[] mask)
    {
        var shape = x.Shape.ToArray();
        var result = Tensor.FromArray(output, shape);
        if (!x.RequiresGrad || !Tensor.IsGradEnabled) return result;
        var maskTensor = Tensor.FromArray(mask, shape).DetachFromScope();
        return Tensor.RecordFunction(name, result, [x], g => [g.Mul(maskTensor)]);
    }

    static void Check(Tensor x, string op)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.DType != DType.Float32 || !x.Device.Equals(Device.Cpu))
            throw new ArgumentException($"{op}: expected a Float32 CPU tensor, got {x.DType} on {x.Device}.", nameof(x));
    }
}

/// <summary>
/// Tracks an activation range for quantization-aware training: the first batch sets it, later training batches move
/// it by an exponential moving average of each batch's min and max (<see cref="Momentum"/>); in evaluation mode it is
/// frozen.
/// </summary>
public sealed class MovingAverageRange
{
    /// <summary>Creates the tracker.</summary>
    /// <param name="momentum">Weight of a new batch, in (0, 1].</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="momentum"/> is outside (0, 1].</exception>
    public MovingAverageRange(double momentum = 0.01)
    {
        if (!(momentum > 0 && momentum <= 1)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "The momentum must be in (0, 1].");
        Momentum = (float)momentum;
    }

    /// <summary>Weight of a new batch.</summary>
    public float Momentum { get; }

    /// <summary>Whether a batch has been seen.</summary>
    public bool IsInitialized { get; private set; }

    /// <summary>Tracked minimum.</summary>
    public float Min { get; private set; }

    /// <summary>Tracked maximum.</summary>
    public float Max { get; private set; }

    /// <summary>Folds one batch's finite range into the tracked one.</summary>
    public void Update(ReadOnlySpan<float> values)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (var v in values)
        {
            if (!float.IsFinite(v)) continue;
            min = MathF.Min(min, v);
            max = MathF.Max(max, v);
        }
        if (float.IsInfinity(min)) return;
        if (!IsInitialized)
        {
            (Min, Max, IsInitialized) = (min, max, true);
            return;
        }
        Min += Momentum * (min - Min);
        Max += Momentum * (max - Max);
    }

    /// <summary>Restores a saved state.</summary>
    internal void Set(float min, float max)
    {
        (Min, Max, IsInitialized) = (min, max, true);
    }

    /// <summary>The uint8 parameters of the tracked range.</summary>
    /// <exception cref="InvalidOperationException">No batch has been seen.</exception>
    public QuantParams Params() => IsInitialized
        ? QuantParams.FromRange(Min, Max)
        : throw new InvalidOperationException("MovingAverageRange: no batch has been seen; train or run data through the model first.");
}

/// <summary>
/// A <see cref="Linear"/>, <see cref="Dense"/> or <see cref="Conv2d"/> in quantization-aware training: its input is fake-quantized with the
/// tracked activation range and its weight per channel, so training adapts to the int8 rounding. Made by
/// <see cref="Qat.Prepare"/>; the wrapped float layer holds the trainable parameters.
/// </summary>
public sealed class FakeQuantizedLayer : Module
{
    /// <summary>Wraps <paramref name="layer"/> (a Linear, a Dense, or a Conv2d with groups = 1).</summary>
    /// <exception cref="ArgumentException">The layer is of another kind.</exception>
    public FakeQuantizedLayer(Module layer, double momentum = 0.01)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (!Quantization.IsQuantizable(layer))
            throw new ArgumentException($"FakeQuantizedLayer: only Linear, Dense and Conv2d (groups = 1) are supported, got {layer.GetType().Name}.", nameof(layer));
        Layer = layer;
        InputRange = new MovingAverageRange(momentum);
        RegisterModule("layer", layer);
    }

    /// <summary>The float layer whose parameters train.</summary>
    public Module Layer { get; }

    /// <summary>The tracked input range.</summary>
    public MovingAverageRange InputRange { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (IsTraining || !InputRange.IsInitialized) InputRange.Update(x.Contiguous().ToArray<float>());
        var xq = FakeQuant.Activation(x, InputRange.Params());
        return Layer switch
        {
            Linear l => Functional.Linear(xq, FakeQuant.WeightPerChannel(l.Weight), l.Bias),
            Dense d => DenseForward(d, xq),
            Conv2d c => Functional.Conv2d(xq, FakeQuant.WeightPerChannel(c.Weight), c.Bias, c.Stride, c.Padding, c.Dilation, 1),
            _ => throw new InvalidOperationException("FakeQuantizedLayer: unsupported layer."),
        };
    }

    static Tensor DenseForward(Dense d, Tensor xq)
    {
        d.Build(checked((int)xq.Shape[-1]));
        var y = Functional.Linear(xq, FakeQuant.WeightPerChannel(d.Weight), d.Bias);
        return Quantization.ActivationModule(d.ActivationFunction) is { } activation ? activation.Forward(y)
            : d.ActivationFunction == Activation.Relu ? y.Relu() : y;
    }
}

/// <summary>
/// Quantization-aware training: <see cref="Prepare"/> returns a trainable copy of a float model whose Linear and Conv2d
/// layers fake-quantize their inputs and weights; train it with Fit or a hand loop; <see cref="Convert"/> then builds the
/// same int8 model as <see cref="Quantization.QuantizeStatic"/> would, with the trained weights and tracked ranges.
/// </summary>
public static class Qat
{
    /// <summary>A copy of <paramref name="model"/> (the model itself is left unchanged) prepared for quantization-aware training.</summary>
    /// <param name="model">A float model, usually trained already.</param>
    /// <param name="momentum">Weight of each training batch in the moving-average activation ranges.</param>
    /// <exception cref="ArgumentException">The model has no Linear or Conv2d layer.</exception>
    public static Sequential Prepare(Sequential model, double momentum = 0.01)
    {
        ArgumentNullException.ThrowIfNull(model);
        Quantization.RegisterModuleConfigs();
        var wrapped = new List<FakeQuantizedLayer>();
        var copy = Quantization.Wrap(model, layer => new FakeQuantizedLayer(Quantization.CopyLayer(layer), momentum), wrapped, copyOthers: true);
        if (wrapped.Count == 0)
            throw new ArgumentException("Qat.Prepare: the model has no Linear, Dense or Conv2d layer to quantize.", nameof(model));
        return copy;
    }

    /// <summary>The int8 model of a model from <see cref="Prepare"/> after training (in evaluation mode).</summary>
    /// <exception cref="ArgumentException">The model holds no fake-quantized layer.</exception>
    /// <exception cref="InvalidOperationException">A fake-quantized layer never saw data, so it has no activation range.</exception>
    public static Sequential Convert(Sequential model, QuantizationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Quantization.RegisterModuleConfigs();
        if (!model.NamedModules().Any(m => m.Module is FakeQuantizedLayer))
            throw new ArgumentException("Qat.Convert: the model has no fake-quantized layer; prepare it with Qat.Prepare and train it first.", nameof(model));
        var result = Quantization.Convert(model, options ?? new QuantizationOptions(),
            layer => layer is FakeQuantizedLayer f ? (f.Layer, f.InputRange.Params()) : null);
        result.Eval();
        return result;
    }
}
