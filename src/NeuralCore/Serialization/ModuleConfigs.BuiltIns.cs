using System.Text.Json;
using System.Text.Json.Nodes;
using NeuralCore.Nn;

namespace NeuralCore.Serialization;

public static partial class ModuleConfigs
{
    // Settings use the constructor parameter names; (height, width) pairs are [h, w] arrays. Each built-in layer
    // registers, beside its factory, a check that holds its sizes to the load limits and returns the parameter and
    // buffer elements it will allocate; loading runs the checks on the whole architecture before building anything.
    static void RegisterBuiltIns()
    {
        RegisterBuiltIn<Sequential>("Sequential",
            s => new JsonObject { ["layers"] = new JsonArray(s.Select(l => (JsonNode)Describe(l)).ToArray()) },
            c => new Sequential([.. c.GetModules("layers")]),
            c =>
            {
                c.CheckModules("layers");
                return 0;
            });

        RegisterBuiltIn<Linear>("Linear",
            l => new JsonObject { ["inFeatures"] = l.InFeatures, ["outFeatures"] = l.OutFeatures, ["bias"] = l.Bias is not null },
            c => new Linear(c.GetInt32("inFeatures"), c.GetInt32("outFeatures"), c.GetBoolean("bias", true)),
            c => LinearElements(Features(c, "inFeatures"), Features(c, "outFeatures"), c.GetBoolean("bias", true)));

        RegisterBuiltIn<Dense>("Dense",
            d => new JsonObject
            {
                ["units"] = d.Units,
                ["activation"] = d.ActivationFunction.ToString(),
                ["useBias"] = d.UseBias,
                ["inFeatures"] = d.InFeatures,
            }.WithRegularizers(d.KernelRegularizer, d.BiasRegularizer, d.ActivityRegularizer),
            c =>
            {
                int units = c.GetInt32("units");
                var activation = c.GetEnum("activation", Activation.None);
                bool useBias = c.GetBoolean("useBias", true);
                var dense = c.GetOptionalInt32("inFeatures") is int inFeatures
                    ? new Dense(inFeatures, units, activation, useBias)
                    : new Dense(units, activation, useBias);
                (dense.KernelRegularizer, dense.BiasRegularizer, dense.ActivityRegularizer) = c.Regularizers();
                return dense;
            },
            c =>
            {
                int units = Features(c, "units");
                c.GetEnum("activation", Activation.None);
                bool useBias = c.GetBoolean("useBias", true);
                // An unbuilt Dense allocates its weights on its first call, sized by the input: units bounds them then.
                return c.Has("inFeatures") ? LinearElements(Features(c, "inFeatures"), units, useBias) : 0;
            });

        RegisterBuiltIn<Flatten>("Flatten",
            f => new JsonObject { ["startDim"] = f.StartDim, ["endDim"] = f.EndDim },
            c => new Flatten(c.GetInt32("startDim", 1), c.GetInt32("endDim", -1)),
            c =>
            {
                c.GetInt32("startDim", 1);
                c.GetInt32("endDim", -1);
                return 0;
            });

        RegisterBuiltIn<Dropout>("Dropout", d => new JsonObject { ["p"] = d.P }, c => new Dropout(c.GetDouble("p", 0.5)!.Value), NoParameters("p"));

        RegisterBuiltIn<Dropout2d>("Dropout2d", d => new JsonObject { ["p"] = d.P }, c => new Dropout2d(c.GetDouble("p", 0.5)!.Value), NoParameters("p"));
        RegisterBuiltIn<Identity>("Identity", _ => [], _ => new Identity(), NoParameters());

        RegisterBuiltIn<ReLU>("ReLU", _ => [], _ => new ReLU(), NoParameters());
        RegisterBuiltIn<Sigmoid>("Sigmoid", _ => [], _ => new Sigmoid(), NoParameters());
        RegisterBuiltIn<Tanh>("Tanh", _ => [], _ => new Tanh(), NoParameters());
        RegisterBuiltIn<GELU>("GELU", g => new JsonObject { ["approximate"] = g.Approximate },
            c => new GELU(c.Has("approximate") ? c.GetString("approximate") : "none"), NoParameters());
        RegisterBuiltIn<Softplus>("Softplus", _ => [], _ => new Softplus(), NoParameters());
        RegisterBuiltIn<LeakyReLU>("LeakyReLU", l => new JsonObject { ["negativeSlope"] = l.NegativeSlope },
            c => new LeakyReLU(c.GetDouble("negativeSlope", 0.01)!.Value), NoParameters("negativeSlope"));
        RegisterBuiltIn<ELU>("ELU", e => new JsonObject { ["alpha"] = e.Alpha }, c => new ELU(c.GetDouble("alpha", 1.0)!.Value), NoParameters("alpha"));
        RegisterBuiltIn<Softmax>("Softmax", s => new JsonObject { ["dim"] = s.DimIndex }, c => new Softmax(c.GetInt32("dim", -1)), NoParameters(dim: "dim"));
        RegisterBuiltIn<LogSoftmax>("LogSoftmax", s => new JsonObject { ["dim"] = s.DimIndex }, c => new LogSoftmax(c.GetInt32("dim", -1)), NoParameters(dim: "dim"));

        RegisterConvolutionAndPooling();
        RegisterNormalization();
        RegisterSequenceLayers();
        RegisterRecurrentLayers();
    }

    static JsonArray Pair((int H, int W) v) => new(JsonValue.Create(v.H), JsonValue.Create(v.W));

    // The check of a layer without parameters: its settings must have the right types.
    static Func<ModuleConfig, long> NoParameters(string? number = null, string? dim = null) => c =>
    {
        if (number is not null) c.GetDouble(number, 0);
        if (dim is not null) c.GetInt32(dim, -1);
        return 0;
    };

    // A feature count: present, a positive 32-bit integer (the constructor names non-positive ones) and within the limit.
    static int Features(ModuleConfig c, string name)
    {
        int value = c.GetInt32(name);
        c.CheckLimit(name, value, c.Limits.MaxFeatures, nameof(ModelLoadLimits.MaxFeatures));
        return value;
    }

    static long LinearElements(int inFeatures, int outFeatures, bool bias) =>
        Elements(inFeatures, outFeatures) + (bias ? Math.Max(outFeatures, 0) : 0);

    // Element count of a parameter shape: saturates instead of overflowing, and counts a shape with a negative size
    // as 0 (the layer's constructor rejects it).
    static long Elements(params int[] sizes)
    {
        long product = 1;
        foreach (var s in sizes)
        {
            if (s <= 0) return 0;
            product = product > long.MaxValue / s ? long.MaxValue : product * s;
        }
        return product;
    }

    // Kernel, stride and padding of a pooling layer, each within its limit.
    static void CheckPooling(ModuleConfig c)
    {
        var kernel = c.GetPair("kernelSize");
        c.CheckLimit("kernelSize", kernel, c.Limits.MaxKernelSize, nameof(ModelLoadLimits.MaxKernelSize));
        c.CheckLimit("stride", c.GetPair("stride", kernel), c.Limits.MaxStride, nameof(ModelLoadLimits.MaxStride));
        c.CheckLimit("padding", c.GetPair("padding", (0, 0)), c.Limits.MaxPadding, nameof(ModelLoadLimits.MaxPadding));
        c.GetBoolean("ceilMode", false);
    }

    static void RegisterConvolutionAndPooling()
    {
        RegisterBuiltIn<Conv2d>("Conv2d",
            l => new JsonObject
            {
                ["inChannels"] = l.InChannels,
                ["outChannels"] = l.OutChannels,
                ["kernelSize"] = Pair(l.KernelSize),
                ["stride"] = Pair(l.Stride),
                ["padding"] = Pair(l.Padding),
                ["dilation"] = Pair(l.Dilation),
                ["groups"] = l.Groups,
                ["bias"] = l.Bias is not null,
            }.WithRegularizers(l.KernelRegularizer, l.BiasRegularizer, l.ActivityRegularizer),
            c =>
            {
                var conv = new Conv2d(c.GetInt32("inChannels"), c.GetInt32("outChannels"), c.GetPair("kernelSize"), c.GetPair("stride", (1, 1)),
                    c.GetPair("padding", (0, 0)), c.GetPair("dilation", (1, 1)), c.GetInt32("groups", 1), c.GetBoolean("bias", true));
                (conv.KernelRegularizer, conv.BiasRegularizer, conv.ActivityRegularizer) = c.Regularizers();
                return conv;
            },
            c =>
            {
                var limits = c.Limits;
                int inChannels = c.GetInt32("inChannels"), outChannels = c.GetInt32("outChannels"), groups = c.GetInt32("groups", 1);
                c.CheckLimit("inChannels", inChannels, limits.MaxChannels, nameof(ModelLoadLimits.MaxChannels));
                c.CheckLimit("outChannels", outChannels, limits.MaxChannels, nameof(ModelLoadLimits.MaxChannels));
                var kernel = c.GetPair("kernelSize");
                c.CheckLimit("kernelSize", kernel, limits.MaxKernelSize, nameof(ModelLoadLimits.MaxKernelSize));
                c.CheckLimit("stride", c.GetPair("stride", (1, 1)), limits.MaxStride, nameof(ModelLoadLimits.MaxStride));
                c.CheckLimit("padding", c.GetPair("padding", (0, 0)), limits.MaxPadding, nameof(ModelLoadLimits.MaxPadding));
                c.CheckLimit("dilation", c.GetPair("dilation", (1, 1)), limits.MaxDilation, nameof(ModelLoadLimits.MaxDilation));
                bool bias = c.GetBoolean("bias", true);
                if (groups < 1) throw new ArgumentException($"groups must be positive, got {groups}");
                return Elements(outChannels, inChannels / groups, kernel.H, kernel.W) + (bias ? Math.Max(outChannels, 0) : 0);
            });

        RegisterBuiltIn<ConvTranspose2d>("ConvTranspose2d",
            l => new JsonObject
            {
                ["inChannels"] = l.InChannels,
                ["outChannels"] = l.OutChannels,
                ["kernelSize"] = Pair(l.KernelSize),
                ["stride"] = Pair(l.Stride),
                ["padding"] = Pair(l.Padding),
                ["outputPadding"] = Pair(l.OutputPadding),
                ["groups"] = l.Groups,
                ["bias"] = l.Bias is not null,
                ["dilation"] = Pair(l.Dilation),
            },
            c => new ConvTranspose2d(c.GetInt32("inChannels"), c.GetInt32("outChannels"), c.GetPair("kernelSize"), c.GetPair("stride", (1, 1)),
                c.GetPair("padding", (0, 0)), c.GetPair("outputPadding", (0, 0)), c.GetInt32("groups", 1), c.GetBoolean("bias", true),
                c.GetPair("dilation", (1, 1))),
            c =>
            {
                var limits = c.Limits;
                int inChannels = c.GetInt32("inChannels"), outChannels = c.GetInt32("outChannels"), groups = c.GetInt32("groups", 1);
                c.CheckLimit("inChannels", inChannels, limits.MaxChannels, nameof(ModelLoadLimits.MaxChannels));
                c.CheckLimit("outChannels", outChannels, limits.MaxChannels, nameof(ModelLoadLimits.MaxChannels));
                var kernel = c.GetPair("kernelSize");
                c.CheckLimit("kernelSize", kernel, limits.MaxKernelSize, nameof(ModelLoadLimits.MaxKernelSize));
                var stride = c.GetPair("stride", (1, 1));
                c.CheckLimit("stride", stride, limits.MaxStride, nameof(ModelLoadLimits.MaxStride));
                c.CheckLimit("padding", c.GetPair("padding", (0, 0)), limits.MaxPadding, nameof(ModelLoadLimits.MaxPadding));
                c.CheckLimit("outputPadding", c.GetPair("outputPadding", (0, 0)), limits.MaxStride, nameof(ModelLoadLimits.MaxStride));
                c.CheckLimit("dilation", c.GetPair("dilation", (1, 1)), limits.MaxDilation, nameof(ModelLoadLimits.MaxDilation));
                bool bias = c.GetBoolean("bias", true);
                if (groups < 1) throw new ArgumentException($"groups must be positive, got {groups}");
                return Elements(inChannels, outChannels / groups, kernel.H, kernel.W) + (bias ? Math.Max(outChannels, 0) : 0);
            });

        RegisterBuiltIn<Upsample>("Upsample",
            u =>
            {
                var o = new JsonObject { ["mode"] = u.Mode };
                if (u.Size is { } size) o["size"] = Pair(size);
                if (u.ScaleFactor is { } f)
                {
                    o["scaleFactorH"] = f.H;
                    o["scaleFactorW"] = f.W;
                }
                if (u.AlignCorners is { } a) o["alignCorners"] = a;
                return o;
            },
            c => new Upsample(c.Has("size") ? c.GetPair("size") : null,
                c.Has("scaleFactorH") ? (c.GetDouble("scaleFactorH"), c.GetDouble("scaleFactorW")) : null,
                c.GetString("mode"), c.Has("alignCorners") ? c.GetBoolean("alignCorners", false) : null),
            c =>
            {
                if (c.Has("size")) c.CheckLimit("size", c.GetPair("size"), c.Limits.MaxPoolOutputSize, nameof(ModelLoadLimits.MaxPoolOutputSize));
                if (c.Has("scaleFactorH"))
                {
                    c.CheckLimit("scaleFactorH", (long)Math.Ceiling(c.GetDouble("scaleFactorH")), c.Limits.MaxPoolOutputSize, nameof(ModelLoadLimits.MaxPoolOutputSize));
                    c.CheckLimit("scaleFactorW", (long)Math.Ceiling(c.GetDouble("scaleFactorW")), c.Limits.MaxPoolOutputSize, nameof(ModelLoadLimits.MaxPoolOutputSize));
                }
                c.GetString("mode");
                c.GetBoolean("alignCorners", false);
                return 0;
            });

        RegisterBuiltIn<MaxPool2d>("MaxPool2d",
            p => new JsonObject
            {
                ["kernelSize"] = Pair(p.KernelSize),
                ["stride"] = Pair(p.Stride),
                ["padding"] = Pair(p.Padding),
                ["ceilMode"] = p.CeilMode,
            },
            c =>
            {
                var kernel = c.GetPair("kernelSize");
                return new MaxPool2d(kernel, c.GetPair("stride", kernel), c.GetPair("padding", (0, 0)), c.GetBoolean("ceilMode", false));
            },
            c =>
            {
                CheckPooling(c);
                return 0;
            });

        RegisterBuiltIn<AvgPool2d>("AvgPool2d",
            p => new JsonObject
            {
                ["kernelSize"] = Pair(p.KernelSize),
                ["stride"] = Pair(p.Stride),
                ["padding"] = Pair(p.Padding),
                ["countIncludePad"] = p.CountIncludePad,
                ["ceilMode"] = p.CeilMode,
            },
            c =>
            {
                var kernel = c.GetPair("kernelSize");
                return new AvgPool2d(kernel, c.GetPair("stride", kernel), c.GetPair("padding", (0, 0)),
                    c.GetBoolean("countIncludePad", true), c.GetBoolean("ceilMode", false));
            },
            c =>
            {
                CheckPooling(c);
                c.GetBoolean("countIncludePad", true);
                return 0;
            });

        RegisterBuiltIn<AdaptiveAvgPool2d>("AdaptiveAvgPool2d",
            p => new JsonObject { ["outputSize"] = Pair(p.OutputSize) },
            c => new AdaptiveAvgPool2d(c.GetPair("outputSize")),
            c =>
            {
                c.CheckLimit("outputSize", c.GetPair("outputSize"), c.Limits.MaxPoolOutputSize, nameof(ModelLoadLimits.MaxPoolOutputSize));
                return 0;
            });
    }

    static void RegisterNormalization()
    {
        RegisterBuiltIn<BatchNorm1d>("BatchNorm1d", DescribeBatchNorm,
            c => CreateBatchNorm(c, (n, eps, momentum, affine, track) => new BatchNorm1d(n, eps, momentum, affine, track)), CheckBatchNorm);
        RegisterBuiltIn<BatchNorm2d>("BatchNorm2d", DescribeBatchNorm,
            c => CreateBatchNorm(c, (n, eps, momentum, affine, track) => new BatchNorm2d(n, eps, momentum, affine, track)), CheckBatchNorm);

        RegisterBuiltIn<LayerNorm>("LayerNorm",
            l => new JsonObject
            {
                ["normalizedShape"] = new JsonArray(l.NormalizedShape.Select(d => (JsonNode)(int)d).ToArray()),
                ["eps"] = l.Eps,
                ["elementwiseAffine"] = l.Weight is not null,
            },
            c => new LayerNorm(c.GetInt32Array("normalizedShape"), c.GetDouble("eps", 1e-5)!.Value, c.GetBoolean("elementwiseAffine", true)),
            c =>
            {
                if (c.Json.TryGetProperty("normalizedShape", out var shapeJson) && shapeJson.ValueKind == JsonValueKind.Array)
                    c.CheckLimit("normalizedShape (its number of dimensions)", shapeJson.GetArrayLength(), c.Limits.MaxShapeRank, nameof(ModelLoadLimits.MaxShapeRank));
                var shape = c.GetInt32Array("normalizedShape");
                foreach (var d in shape) c.CheckLimit("normalizedShape", d, c.Limits.MaxFeatures, nameof(ModelLoadLimits.MaxFeatures));
                c.GetDouble("eps", 1e-5);
                return c.GetBoolean("elementwiseAffine", true) ? Elements([2, .. shape]) : 0;
            });
    }

    static JsonObject DescribeBatchNorm(BatchNormBase b) => new()
    {
        ["numFeatures"] = b.NumFeatures,
        ["eps"] = b.Eps,
        ["momentum"] = b.Momentum,
        ["affine"] = b.Affine,
        ["trackRunningStats"] = b.TrackRunningStats,
    };

    static long CheckBatchNorm(ModuleConfig c)
    {
        long n = Math.Max(Features(c, "numFeatures"), 0);
        bool affine = c.GetBoolean("affine", true), track = c.GetBoolean("trackRunningStats", true);
        c.GetDouble("eps", 1e-5);
        c.GetDouble("momentum", null);
        return (affine ? 2 * n : 0) + (track ? 2 * n + 1 : 0);
    }

    static T CreateBatchNorm<T>(ModuleConfig c, Func<int, double, double?, bool, bool, T> create) where T : BatchNormBase
    {
        int n = c.GetInt32("numFeatures");
        bool affine = c.GetBoolean("affine", true), track = c.GetBoolean("trackRunningStats", true);
        // An explicit null momentum means a cumulative average; an absent one PyTorch's default 0.1.
        double? momentum = c.Json.TryGetProperty("momentum", out _) ? c.GetDouble("momentum", null) : 0.1;
        return create(n, c.GetDouble("eps", 1e-5)!.Value, momentum, affine, track);
    }
}

/// <summary>Writes a layer's regularizers into its stored configuration (only those that are set).</summary>
internal static class RegularizerConfig
{
    public static System.Text.Json.Nodes.JsonObject WithRegularizers(this System.Text.Json.Nodes.JsonObject config,
        Regularizer? kernel, Regularizer? bias, Regularizer? activity)
    {
        if (kernel is not null) config["kernelRegularizer"] = kernel.ToJson();
        if (bias is not null) config["biasRegularizer"] = bias.ToJson();
        if (activity is not null) config["activityRegularizer"] = activity.ToJson();
        return config;
    }
}
