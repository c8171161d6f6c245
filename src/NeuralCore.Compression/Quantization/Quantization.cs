using NeuralCore.Nn;
using NeuralCore.Serialization;

namespace NeuralCore.Compression;

/// <summary>Settings of <see cref="Quantization.QuantizeStatic"/> and <see cref="Qat.Convert"/>.</summary>
public sealed record QuantizationOptions
{
    /// <summary>How calibration picks each activation range (static quantization); min-max by default.</summary>
    public ObserverKind Observer { get; init; } = ObserverKind.MinMax;

    /// <summary>The upper percentile of <see cref="ObserverKind.Percentile"/>, in (50, 100].</summary>
    public double Percentile { get; init; } = 99.99;

    /// <summary>Fold a <see cref="ReLU"/> that directly follows a quantized layer in a <see cref="Sequential"/> into its epilogue.</summary>
    public bool FuseRelu { get; init; } = true;

    internal Observer CreateObserver() => Observer switch
    {
        ObserverKind.Percentile => new PercentileObserver(Percentile),
        _ => global::NeuralCore.Compression.Observer.Create(Observer),
    };
}

/// <summary>
/// Post-training int8 quantization. Static: <see cref="QuantizeStatic"/> runs calibration batches through the model,
/// observes the input range of every <see cref="Linear"/>, <see cref="Dense"/> and <see cref="Conv2d"/>, and returns a model whose layers
/// are <see cref="QuantizedLinear"/> / <see cref="QuantizedConv2d"/> with per-channel int8 weights, fixed uint8 input
/// parameters and a fused ReLU where one follows. Dynamic: <see cref="QuantizeDynamic"/> quantizes the weights of
/// Linear and LSTM layers ahead and their activations per batch at run time (no calibration).
/// </summary>
public static class Quantization
{
    /// <summary>Registers the quantized layers with <see cref="ModuleConfigs"/> so saved quantized models load through
    /// <see cref="Sequential.Load"/> (idempotent; called by every entry point of this class and of <see cref="Qat"/>).</summary>
    public static void RegisterModuleConfigs() => QuantizedModuleConfigs.Register();

    /// <summary>
    /// Returns a statically quantized copy of <paramref name="model"/> (in evaluation mode); the model itself is left
    /// unchanged. Nested <see cref="Sequential"/>s are quantized too; a Dense layer's ReLU is fused and its other
    /// activations follow it as modules; layers other than Linear, Dense and Conv2d (groups = 1) are copied (or shared, when their type has no <see cref="ModuleConfigs"/> entry).
    /// </summary>
    /// <param name="model">A trained float model.</param>
    /// <param name="calibrationBatches">Representative inputs (a few hundred samples is typical); each is run through the model once.</param>
    /// <param name="options">Observer and fusion settings; defaults when null.</param>
    /// <exception cref="ArgumentException">No calibration batch was given, or the model has no Linear or Conv2d layer.</exception>
    public static Sequential QuantizeStatic(Sequential model, IEnumerable<Tensor> calibrationBatches, QuantizationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(calibrationBatches);
        options ??= new QuantizationOptions();
        RegisterModuleConfigs();
        var observers = new List<ObservingLayer>();
        var observed = Wrap(model, layer => new ObservingLayer(layer, options.CreateObserver()), observers);
        if (observers.Count == 0)
            throw new ArgumentException("QuantizeStatic: the model has no Linear, Dense or Conv2d layer to quantize.", nameof(model));
        int batches = 0;
        var modes = model.NamedModules().Select(m => (m.Module, m.Module.IsTraining)).ToList();
        try
        {
            observed.Eval();
            using (Tensor.NoGrad())
                foreach (var batch in calibrationBatches)
                {
                    ArgumentNullException.ThrowIfNull(batch, nameof(calibrationBatches));
                    using var scope = Tensor.Scope();
                    observed.Forward(batch);
                    batches++;
                }
        }
        finally
        {
            foreach (var (module, training) in modes) module.Train(training);
        }
        if (batches == 0)
            throw new ArgumentException("QuantizeStatic: no calibration batch was given; static quantization needs representative inputs.", nameof(calibrationBatches));
        var result = Convert(observed, options, layer => layer is ObservingLayer o ? (o.Layer, o.Observer.ComputeParams()) : null);
        result.Eval();
        return result;
    }

    /// <summary>
    /// Returns a dynamically quantized copy of <paramref name="model"/>: every <see cref="Linear"/> (and built
    /// <see cref="Dense"/>, its activation fused when ReLU or kept as a module after it) becomes a dynamic
    /// <see cref="QuantizedLinear"/> and every <see cref="LSTM"/> a <see cref="DynamicQuantizedLSTM"/>, inside nested
    /// <see cref="Sequential"/>s too. A bare Linear or LSTM is returned quantized; other layers are copied.
    /// </summary>
    /// <exception cref="ArgumentException">The model has no Linear or LSTM layer.</exception>
    public static Module QuantizeDynamic(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        RegisterModuleConfigs();
        int count = 0;
        Module Quantize(Module m)
        {
            switch (m)
            {
                case Linear linear:
                    count++;
                    return QuantizedLinear.FromFloat(linear, null);
                case Dense { IsBuilt: true } dense:
                    count++;
                    var layer = QuantizedLinear.FromWeights(dense.Weight, dense.Bias, null, dense.ActivationFunction == Activation.Relu);
                    return ActivationModule(dense.ActivationFunction) is { } after ? new Sequential(layer, after) : layer;
                // A projected LSTM has no quantized counterpart: it is copied in float, as other layers.
                case LSTM { ProjSize: 0 } lstm:
                    count++;
                    return DynamicQuantizedLSTM.FromFloat(lstm);
                case Sequential s:
                    return new Sequential([.. s.Select(Quantize)]);
                default:
                    return CopyLayer(m);
            }
        }
        var result = Quantize(model);
        if (count == 0)
            throw new ArgumentException("QuantizeDynamic: the model has no Linear, built Dense or LSTM layer to quantize.", nameof(model));
        result.Eval();
        return result;
    }

    /// <summary>A new Sequential where each Linear and Conv2d (groups = 1) is replaced by <paramref name="wrap"/>'s module; other layers are shared, or copied with <paramref name="copyOthers"/>.</summary>
    internal static Sequential Wrap<T>(Sequential model, Func<Module, T> wrap, List<T> wrapped, bool copyOthers = false) where T : Module
    {
        var layers = new List<Module>();
        foreach (var layer in model)
        {
            if (IsQuantizable(layer))
            {
                var w = wrap(layer);
                wrapped.Add(w);
                layers.Add(w);
            }
            else if (layer is Sequential inner) layers.Add(Wrap(inner, wrap, wrapped, copyOthers));
            else layers.Add(copyOthers ? CopyLayer(layer) : layer);
        }
        return new Sequential([.. layers]);
    }

    /// <summary>
    /// Builds the quantized model from a wrapped one: <paramref name="source"/> maps a wrapper to its float layer and
    /// input parameters; a directly following ReLU is fused when the options say so.
    /// </summary>
    internal static Sequential Convert(Sequential wrapped, QuantizationOptions options, Func<Module, (Module Float, QuantParams Input)?> source)
    {
        var layers = new List<Module>();
        var list = wrapped.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            var layer = list[i];
            if (source(layer) is var (floatLayer, input))
            {
                var activation = floatLayer is Dense d ? d.ActivationFunction : Activation.None;
                bool relu = activation == Activation.Relu;
                if (activation == Activation.None && options.FuseRelu && i + 1 < list.Count && list[i + 1] is ReLU)
                {
                    relu = true;
                    i++;
                }
                layers.Add(floatLayer switch
                {
                    Linear l => QuantizedLinear.FromFloat(l, input, relu),
                    Conv2d c => QuantizedConv2d.FromFloat(c, input, relu),
                    Dense dense => QuantizedLinear.FromWeights(dense.Weight, dense.Bias, input, relu),
                    _ => throw new InvalidOperationException($"Quantization: cannot quantize {floatLayer.GetType().Name}."),
                });
                if (ActivationModule(activation) is { } after) layers.Add(after);
            }
            else if (layer is Sequential inner) layers.Add(Convert(inner, options, source));
            else layers.Add(CopyLayer(layer));
        }
        return new Sequential([.. layers]);
    }

    /// <summary>Whether static quantization and QAT replace <paramref name="layer"/>: Linear, Dense and Conv2d with groups = 1.</summary>
    internal static bool IsQuantizable(Module layer) => layer is Linear or Dense or Conv2d { Groups: 1 };

    /// <summary>The module applying a <see cref="Dense"/> activation that is not fused (null for None and ReLU).</summary>
    internal static Module? ActivationModule(Activation activation) =>
        activation is Activation.Relu ? null : Activations.ToModule(activation);

    /// <summary>An independent copy through the architecture registry and the state dict; the layer itself when its type is not registered.</summary>
    internal static Module CopyLayer(Module layer)
    {
        if (ModuleConfigs.TryDescribe(layer) is not { } config) return layer;
        try
        {
            var copy = ModuleConfigs.Create(config);
            copy.LoadStateDict(layer.StateDict());
            copy.Train(layer.IsTraining);
            return copy;
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException)
        {
            return layer;
        }
    }

    /// <summary>Runs the float layer and records its input during calibration.</summary>
    internal sealed class ObservingLayer : Module
    {
        public ObservingLayer(Module layer, Observer observer)
        {
            Layer = layer;
            Observer = observer;
            RegisterModule("layer", layer);
        }

        public Module Layer { get; }
        public Observer Observer { get; }

        public override Tensor Forward(Tensor x)
        {
            Observer.Observe(x);
            return Layer.Forward(x);
        }
    }
}
