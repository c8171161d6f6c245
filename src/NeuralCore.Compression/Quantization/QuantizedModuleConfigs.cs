using System.Globalization;
using System.Text.Json.Nodes;
using NeuralCore.Serialization;

namespace NeuralCore.Compression;

/// <summary>
/// Architecture entries of the quantized layers, so a saved quantized model describes itself in its manifest
/// (<c>{"type": "QuantizedLinear", "inFeatures": 784, "outFeatures": 128, "bias": true, "relu": true, "dynamic": false}</c>)
/// and loads back through <see cref="NeuralCore.Nn.Sequential.Load"/>. Each factory checks its sizes against the load
/// limits and reserves its elements before allocating anything.
/// </summary>
internal static class QuantizedModuleConfigs
{
    static int registered;

    public static void Register()
    {
        if (Interlocked.Exchange(ref registered, 1) == 1) return;
        ModuleConfigs.Register<QuantizedLinear>("QuantizedLinear",
            l => new JsonObject
            {
                ["inFeatures"] = l.InFeatures, ["outFeatures"] = l.OutFeatures, ["bias"] = l.HasBias, ["relu"] = l.FusedRelu, ["dynamic"] = l.IsDynamic,
            },
            c =>
            {
                int inFeatures = Limit(c, "inFeatures", c.Limits.MaxFeatures), outFeatures = Limit(c, "outFeatures", c.Limits.MaxFeatures);
                bool bias = c.GetBoolean("bias", true), dynamic = c.GetBoolean("dynamic", false);
                c.ReserveParameters(LayerElements((long)inFeatures * outFeatures, outFeatures, bias, dynamic));
                return new QuantizedLinear(inFeatures, outFeatures, bias, c.GetBoolean("relu", false), dynamic);
            });

        ModuleConfigs.Register<QuantizedConv2d>("QuantizedConv2d",
            l => new JsonObject
            {
                ["inChannels"] = l.InChannels, ["outChannels"] = l.OutChannels, ["kernelSize"] = Pair(l.KernelSize), ["stride"] = Pair(l.Stride),
                ["padding"] = Pair(l.Padding), ["dilation"] = Pair(l.Dilation), ["bias"] = l.HasBias, ["relu"] = l.FusedRelu, ["dynamic"] = l.IsDynamic,
            },
            c =>
            {
                var limits = c.Limits;
                int inChannels = Limit(c, "inChannels", limits.MaxChannels), outChannels = Limit(c, "outChannels", limits.MaxChannels);
                var kernel = Limit(c, "kernelSize", c.GetPair("kernelSize"), limits.MaxKernelSize);
                var stride = Limit(c, "stride", c.GetPair("stride", (1, 1)), limits.MaxStride);
                var padding = Limit(c, "padding", c.GetPair("padding", (0, 0)), limits.MaxPadding);
                var dilation = Limit(c, "dilation", c.GetPair("dilation", (1, 1)), limits.MaxDilation);
                bool bias = c.GetBoolean("bias", true), dynamic = c.GetBoolean("dynamic", false);
                if (kernel.H <= 0 || kernel.W <= 0) throw new ArgumentException($"kernelSize must be positive, got ({kernel.H}, {kernel.W})");
                c.ReserveParameters(LayerElements((long)outChannels * inChannels * kernel.H * kernel.W, outChannels, bias, dynamic));
                return new QuantizedConv2d(inChannels, outChannels, kernel, stride, padding, dilation, bias, c.GetBoolean("relu", false), dynamic);
            });

        ModuleConfigs.Register<DynamicQuantizedLSTM>("DynamicQuantizedLSTM",
            l => new JsonObject
            {
                ["inputSize"] = l.InputSize, ["hiddenSize"] = l.HiddenSize, ["numLayers"] = l.NumLayers, ["bias"] = l.HasBias,
                ["batchFirst"] = l.BatchFirst, ["bidirectional"] = l.Bidirectional,
            },
            c =>
            {
                int input = Limit(c, "inputSize", c.Limits.MaxFeatures), hidden = Limit(c, "hiddenSize", c.Limits.MaxFeatures);
                int layers = Limit(c, "numLayers", c.Limits.MaxLayers);
                bool bias = c.GetBoolean("bias", true), bidirectional = c.GetBoolean("bidirectional", false);
                int directions = bidirectional ? 2 : 1;
                long elements = 0;
                for (int l = 0; l < layers; l++)
                {
                    long inSize = l == 0 ? input : (long)hidden * directions;
                    elements += directions * (LayerElements(inSize * 4 * hidden, 4 * hidden, bias, true) + LayerElements((long)hidden * 4 * hidden, 4 * hidden, bias, true));
                }
                c.ReserveParameters(elements);
                return new DynamicQuantizedLSTM(input, hidden, layers, bias, c.GetBoolean("batchFirst", false), bidirectional);
            });
    }

    // Weights, scales, bias and the two input parameters of a static layer.
    static long LayerElements(long weights, long channels, bool bias, bool dynamic) => weights + channels + (bias ? channels : 0) + (dynamic ? 0 : 2);

    static JsonArray Pair((int H, int W) v) => new(JsonValue.Create(v.H), JsonValue.Create(v.W));

    static int Limit(ModuleConfig c, string name, int limit)
    {
        int value = c.GetInt32(name);
        if (value <= 0 || value > limit)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"'{name}' is {value}; it must be in [1, {limit}] (raise it through ModelLoadLimits)"));
        return value;
    }

    static (int H, int W) Limit(ModuleConfig c, string name, (int H, int W) value, int limit)
    {
        if (value.H < 0 || value.W < 0 || value.H > limit || value.W > limit)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"'{name}' is ({value.H}, {value.W}); each part must be in [0, {limit}] (raise it through ModelLoadLimits)"));
        return value;
    }
}
