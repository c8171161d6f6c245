using System.Text.Json.Nodes;
using NeuralCore.Nn;

namespace NeuralCore.Serialization;

public static partial class ModuleConfigs
{
    // Settings use the constructor parameter names; (height, width) pairs are [h, w] arrays. Layers with
    // parameters reserve their element count before they allocate it.
    static void RegisterBuiltIns()
    {
        Register<Sequential>("Sequential",
            s => new JsonObject { ["layers"] = new JsonArray(s.Select(l => (JsonNode)Describe(l)).ToArray()) },
            c => new Sequential([.. c.GetModules("layers")]));

        Register<Linear>("Linear",
            l => new JsonObject { ["inFeatures"] = l.InFeatures, ["outFeatures"] = l.OutFeatures, ["bias"] = l.Bias is not null },
            c =>
            {
                int inFeatures = c.GetInt32("inFeatures"), outFeatures = c.GetInt32("outFeatures");
                bool bias = c.GetBoolean("bias", true);
                c.ReserveParameters(Elements(inFeatures, outFeatures));
                if (bias) c.ReserveParameters(Math.Max(outFeatures, 0));
                return new Linear(inFeatures, outFeatures, bias);
            });

        Register<Dense>("Dense",
            d => new JsonObject
            {
                ["units"] = d.Units,
                ["activation"] = d.ActivationFunction.ToString(),
                ["useBias"] = d.UseBias,
                ["inFeatures"] = d.InFeatures,
            },
            c =>
            {
                int units = c.GetInt32("units");
                var activation = c.GetEnum("activation", Activation.None);
                bool useBias = c.GetBoolean("useBias", true);
                if (c.GetOptionalInt32("inFeatures") is not int inFeatures) return new Dense(units, activation, useBias);
                c.ReserveParameters(Elements(inFeatures, units));
                if (useBias) c.ReserveParameters(Math.Max(units, 0));
                return new Dense(inFeatures, units, activation, useBias);
            });

        Register<Flatten>("Flatten",
            f => new JsonObject { ["startDim"] = f.StartDim, ["endDim"] = f.EndDim },
            c => new Flatten(c.GetInt32("startDim", 1), c.GetInt32("endDim", -1)));

        Register<Dropout>("Dropout", d => new JsonObject { ["p"] = d.P }, c => new Dropout(c.GetDouble("p", 0.5)!.Value));

        Register<ReLU>("ReLU", _ => [], _ => new ReLU());
        Register<Sigmoid>("Sigmoid", _ => [], _ => new Sigmoid());
        Register<Tanh>("Tanh", _ => [], _ => new Tanh());
        Register<GELU>("GELU", _ => [], _ => new GELU());
        Register<Softplus>("Softplus", _ => [], _ => new Softplus());
        Register<LeakyReLU>("LeakyReLU", l => new JsonObject { ["negativeSlope"] = l.NegativeSlope },
            c => new LeakyReLU(c.GetDouble("negativeSlope", 0.01)!.Value));
        Register<ELU>("ELU", e => new JsonObject { ["alpha"] = e.Alpha }, c => new ELU(c.GetDouble("alpha", 1.0)!.Value));
        Register<Softmax>("Softmax", s => new JsonObject { ["dim"] = s.DimIndex }, c => new Softmax(c.GetInt32("dim", -1)));
        Register<LogSoftmax>("LogSoftmax", s => new JsonObject { ["dim"] = s.DimIndex }, c => new LogSoftmax(c.GetInt32("dim", -1)));

        RegisterConvolutionAndPooling();
        RegisterNormalization();
    }

    static JsonArray Pair((int H, int W) v) => [v.H, v.W];

    // Element count of a parameter shape for ReserveParameters: saturates instead of overflowing, and counts a
    // shape with a negative size as 0 (the layer's constructor rejects it).
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

    static void RegisterConvolutionAndPooling()
    {
        Register<Conv2d>("Conv2d",
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
            },
            c =>
            {
                int inChannels = c.GetInt32("inChannels"), outChannels = c.GetInt32("outChannels"), groups = c.GetInt32("groups", 1);
                var kernel = c.GetPair("kernelSize");
                bool bias = c.GetBoolean("bias", true);
                if (groups < 1) throw new ArgumentException($"groups must be positive, got {groups}");
                c.ReserveParameters(Elements(outChannels, inChannels / groups, kernel.H, kernel.W));
                if (bias) c.ReserveParameters(Math.Max(outChannels, 0));
                return new Conv2d(inChannels, outChannels, kernel, c.GetPair("stride", (1, 1)), c.GetPair("padding", (0, 0)),
                    c.GetPair("dilation", (1, 1)), groups, bias);
            });

        Register<MaxPool2d>("MaxPool2d",
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
            });

        Register<AvgPool2d>("AvgPool2d",
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
            });

        Register<AdaptiveAvgPool2d>("AdaptiveAvgPool2d",
            p => new JsonObject { ["outputSize"] = Pair(p.OutputSize) },
            c => new AdaptiveAvgPool2d(c.GetPair("outputSize")));
    }

    static void RegisterNormalization()
    {
        Register<BatchNorm1d>("BatchNorm1d", DescribeBatchNorm,
            c => CreateBatchNorm(c, (n, eps, momentum, affine, track) => new BatchNorm1d(n, eps, momentum, affine, track)));
        Register<BatchNorm2d>("BatchNorm2d", DescribeBatchNorm,
            c => CreateBatchNorm(c, (n, eps, momentum, affine, track) => new BatchNorm2d(n, eps, momentum, affine, track)));

        Register<LayerNorm>("LayerNorm",
            l => new JsonObject
            {
                ["normalizedShape"] = new JsonArray(l.NormalizedShape.Select(d => (JsonNode)(int)d).ToArray()),
                ["eps"] = l.Eps,
                ["elementwiseAffine"] = l.Weight is not null,
            },
            c =>
            {
                var shape = c.GetInt32Array("normalizedShape");
                bool affine = c.GetBoolean("elementwiseAffine", true);
                c.ReserveParameters(affine ? Elements([2, .. shape]) : 0);
                return new LayerNorm(shape, c.GetDouble("eps", 1e-5)!.Value, affine);
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

    static T CreateBatchNorm<T>(ModuleConfig c, Func<int, double, double?, bool, bool, T> create) where T : BatchNormBase
    {
        int n = c.GetInt32("numFeatures");
        bool affine = c.GetBoolean("affine", true), track = c.GetBoolean("trackRunningStats", true);
        // An explicit null momentum means a cumulative average; an absent one PyTorch's default 0.1.
        double? momentum = c.Json.TryGetProperty("momentum", out _) ? c.GetDouble("momentum", null) : 0.1;
        c.ReserveParameters((affine ? 2L * Math.Max(n, 0) : 0) + (track ? 2L * Math.Max(n, 0) + 1 : 0));
        return create(n, c.GetDouble("eps", 1e-5)!.Value, momentum, affine, track);
    }
}
