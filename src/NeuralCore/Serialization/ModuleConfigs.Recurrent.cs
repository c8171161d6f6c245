using System.Text.Json.Nodes;
using NeuralCore.Nn;

namespace NeuralCore.Serialization;

// The recurrent layers and cells, and Conv1d: settings under the constructor parameter names.
public static partial class ModuleConfigs
{
    static void RegisterRecurrentLayers()
    {
        RegisterBuiltIn<RNN>("RNN",
            r => DescribeRecurrent(r, withNonlinearity: true),
            c => new RNN(c.GetInt32("inputSize"), c.GetInt32("hiddenSize"), c.GetInt32("numLayers", 1), NonlinearityOf(c), c.GetBoolean("bias", true),
                c.GetBoolean("batchFirst", false), c.GetDouble("dropout", 0)!.Value, c.GetBoolean("bidirectional", false)),
            c =>
            {
                NonlinearityOf(c);
                return CheckRecurrent(c, gates: 1);
            });
        RegisterBuiltIn<LSTM>("LSTM",
            l => DescribeRecurrent(l, withNonlinearity: false),
            c => new LSTM(c.GetInt32("inputSize"), c.GetInt32("hiddenSize"), c.GetInt32("numLayers", 1), c.GetBoolean("bias", true),
                c.GetBoolean("batchFirst", false), c.GetDouble("dropout", 0)!.Value, c.GetBoolean("bidirectional", false), c.GetInt32("projSize", 0)),
            c => CheckRecurrent(c, gates: 4));
        RegisterBuiltIn<GRU>("GRU",
            g => DescribeRecurrent(g, withNonlinearity: false),
            c => new GRU(c.GetInt32("inputSize"), c.GetInt32("hiddenSize"), c.GetInt32("numLayers", 1), c.GetBoolean("bias", true),
                c.GetBoolean("batchFirst", false), c.GetDouble("dropout", 0)!.Value, c.GetBoolean("bidirectional", false)),
            c => CheckRecurrent(c, gates: 3));

        RegisterBuiltIn<RNNCell>("RNNCell",
            r => new JsonObject { ["inputSize"] = r.InputSize, ["hiddenSize"] = r.HiddenSize, ["bias"] = r.BiasIh is not null, ["nonlinearity"] = r.Nonlinearity },
            c => new RNNCell(c.GetInt32("inputSize"), c.GetInt32("hiddenSize"), c.GetBoolean("bias", true), NonlinearityOf(c)),
            c =>
            {
                NonlinearityOf(c);
                return CheckCell(c, gates: 1);
            });
        RegisterBuiltIn<LSTMCell>("LSTMCell",
            l => new JsonObject { ["inputSize"] = l.InputSize, ["hiddenSize"] = l.HiddenSize, ["bias"] = l.BiasIh is not null },
            c => new LSTMCell(c.GetInt32("inputSize"), c.GetInt32("hiddenSize"), c.GetBoolean("bias", true)),
            c => CheckCell(c, gates: 4));
        RegisterBuiltIn<GRUCell>("GRUCell",
            g => new JsonObject { ["inputSize"] = g.InputSize, ["hiddenSize"] = g.HiddenSize, ["bias"] = g.BiasIh is not null },
            c => new GRUCell(c.GetInt32("inputSize"), c.GetInt32("hiddenSize"), c.GetBoolean("bias", true)),
            c => CheckCell(c, gates: 3));

        RegisterBuiltIn<Conv1d>("Conv1d",
            l => new JsonObject
            {
                ["inChannels"] = l.InChannels,
                ["outChannels"] = l.OutChannels,
                ["kernelSize"] = l.KernelSize,
                ["stride"] = l.Stride,
                ["padding"] = l.Padding,
                ["dilation"] = l.Dilation,
                ["groups"] = l.Groups,
                ["bias"] = l.Bias is not null,
            },
            c => new Conv1d(c.GetInt32("inChannels"), c.GetInt32("outChannels"), c.GetInt32("kernelSize"), c.GetInt32("stride", 1),
                c.GetInt32("padding", 0), c.GetInt32("dilation", 1), c.GetInt32("groups", 1), c.GetBoolean("bias", true)),
            c =>
            {
                var limits = c.Limits;
                int inChannels = c.GetInt32("inChannels"), outChannels = c.GetInt32("outChannels"), groups = c.GetInt32("groups", 1);
                int kernel = c.GetInt32("kernelSize");
                c.CheckLimit("inChannels", inChannels, limits.MaxChannels, nameof(ModelLoadLimits.MaxChannels));
                c.CheckLimit("outChannels", outChannels, limits.MaxChannels, nameof(ModelLoadLimits.MaxChannels));
                c.CheckLimit("kernelSize", kernel, limits.MaxKernelSize, nameof(ModelLoadLimits.MaxKernelSize));
                c.CheckLimit("stride", c.GetInt32("stride", 1), limits.MaxStride, nameof(ModelLoadLimits.MaxStride));
                c.CheckLimit("padding", c.GetInt32("padding", 0), limits.MaxPadding, nameof(ModelLoadLimits.MaxPadding));
                c.CheckLimit("dilation", c.GetInt32("dilation", 1), limits.MaxDilation, nameof(ModelLoadLimits.MaxDilation));
                bool bias = c.GetBoolean("bias", true);
                if (groups < 1) throw new ArgumentException($"groups must be positive, got {groups}");
                return Elements(outChannels, inChannels / groups, kernel) + (bias ? Math.Max(outChannels, 0) : 0);
            });
    }

    static JsonObject DescribeRecurrent(RNNBase r, bool withNonlinearity)
    {
        var json = new JsonObject
        {
            ["inputSize"] = r.InputSize,
            ["hiddenSize"] = r.HiddenSize,
            ["numLayers"] = r.NumLayers,
        };
        if (withNonlinearity) json["nonlinearity"] = ((RNN)r).Nonlinearity;
        json["bias"] = r.HasBias;
        json["batchFirst"] = r.BatchFirst;
        json["dropout"] = r.Dropout;
        json["bidirectional"] = r.Bidirectional;
        if (r.ProjSize > 0) json["projSize"] = r.ProjSize;
        return json;
    }

    static string NonlinearityOf(ModuleConfig c) => c.Has("nonlinearity") ? c.GetString("nonlinearity") : "tanh";

    // Parameter elements of a recurrent stack: per layer and direction G·H·(layer input + H) weights and 2·G·H biases.
    static long CheckRecurrent(ModuleConfig c, int gates)
    {
        int input = Features(c, "inputSize"), hidden = Features(c, "hiddenSize");
        int layers = c.GetInt32("numLayers", 1);
        c.CheckLimit("numLayers", layers, c.Limits.MaxLayers, nameof(ModelLoadLimits.MaxLayers));
        bool bias = c.GetBoolean("bias", true), bidirectional = c.GetBoolean("bidirectional", false);
        c.GetBoolean("batchFirst", false);
        c.GetDouble("dropout", 0);
        // An LSTM's projection: weight_hr [P, H] per layer and direction, and the recurrent width P instead of H.
        int proj = c.GetOptionalInt32("projSize") is null ? 0 : Features(c, "projSize");
        int width = proj > 0 ? proj : hidden;
        int directions = bidirectional ? 2 : 1;
        long total = 0;
        for (int layer = 0; layer < Math.Max(layers, 0); layer++)
        {
            long layerInput = layer == 0 ? input : (long)width * directions;
            long one = Saturating(Elements(gates, hidden), Math.Max(layerInput, 0) + Math.Max(width, 0)) + (bias ? Elements(2, gates, hidden) : 0)
                + (proj > 0 ? Elements(proj, hidden) : 0);
            total = Math.Min(long.MaxValue / 2, total) + Math.Min(long.MaxValue / 4, Saturating(one, directions));
        }
        return total;
    }

    static long CheckCell(ModuleConfig c, int gates)
    {
        int input = Features(c, "inputSize"), hidden = Features(c, "hiddenSize");
        bool bias = c.GetBoolean("bias", true);
        return Elements(gates, hidden, input) + Elements(gates, hidden, hidden) + (bias ? Elements(2, gates, hidden) : 0);
    }

    static long Saturating(long a, long b) => a == 0 || b == 0 ? 0 : a > long.MaxValue / b ? long.MaxValue : a * b;
}
