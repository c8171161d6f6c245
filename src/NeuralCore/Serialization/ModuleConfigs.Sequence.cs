using System.Text.Json.Nodes;
using NeuralCore.Nn;

namespace NeuralCore.Serialization;

// Sequence layers: embeddings, positions, RMSNorm, SiLU, attention, transformer blocks and stacks, GptModel.
public static partial class ModuleConfigs
{
    static void RegisterSequenceLayers()
    {
        RegisterBuiltIn<SiLU>("SiLU", _ => [], _ => new SiLU(), NoParameters());

        RegisterBuiltIn<Embedding>("Embedding",
            e => new JsonObject
            {
                ["numEmbeddings"] = e.NumEmbeddings,
                ["embeddingDim"] = e.EmbeddingDim,
                ["paddingIdx"] = e.PaddingIdx,
                ["maxNorm"] = e.MaxNorm,
            },
            c => new Embedding(c.GetInt32("numEmbeddings"), c.GetInt32("embeddingDim"), c.GetOptionalInt32("paddingIdx"), c.GetDouble("maxNorm", null)),
            c =>
            {
                c.GetOptionalInt32("paddingIdx");
                c.GetDouble("maxNorm", null);
                return Elements(Features(c, "numEmbeddings"), Features(c, "embeddingDim"));
            });

        RegisterBuiltIn<RMSNorm>("RMSNorm",
            l => new JsonObject
            {
                ["normalizedShape"] = new JsonArray(l.NormalizedShape.Select(d => (JsonNode)(int)d).ToArray()),
                ["eps"] = l.Eps,
                ["elementwiseAffine"] = l.Weight is not null,
            },
            c => new RMSNorm(c.GetInt32Array("normalizedShape"), c.GetDouble("eps", null), c.GetBoolean("elementwiseAffine", true)),
            c =>
            {
                var shape = c.GetInt32Array("normalizedShape");
                c.CheckLimit("normalizedShape (its number of dimensions)", shape.Length, c.Limits.MaxShapeRank, nameof(ModelLoadLimits.MaxShapeRank));
                foreach (var d in shape) c.CheckLimit("normalizedShape", d, c.Limits.MaxFeatures, nameof(ModelLoadLimits.MaxFeatures));
                c.GetDouble("eps", null);
                return c.GetBoolean("elementwiseAffine", true) ? Elements(shape) : 0;
            });

        RegisterBuiltIn<LearnedPositionalEmbedding>("LearnedPositionalEmbedding",
            p => new JsonObject { ["maxLength"] = p.MaxLength, ["embeddingDim"] = p.EmbeddingDim },
            c => new LearnedPositionalEmbedding(c.GetInt32("maxLength"), c.GetInt32("embeddingDim")),
            c => Elements(Features(c, "maxLength"), Features(c, "embeddingDim")));

        // The sinusoid table is a non-persistent buffer: it is rebuilt, not loaded, but it is still allocated.
        RegisterBuiltIn<SinusoidalPositionalEncoding>("SinusoidalPositionalEncoding",
            p => new JsonObject { ["embeddingDim"] = p.EmbeddingDim, ["maxLength"] = p.MaxLength },
            c => new SinusoidalPositionalEncoding(c.GetInt32("embeddingDim"), c.GetInt32("maxLength", 5000)),
            c =>
            {
                Features(c, "embeddingDim");
                c.CheckLimit("maxLength", c.GetInt32("maxLength", 5000), c.Limits.MaxFeatures, nameof(ModelLoadLimits.MaxFeatures));
                return 0;
            });

        RegisterBuiltIn<RotaryEmbedding>("RotaryEmbedding",
            r => new JsonObject { ["dim"] = r.Dim, ["theta"] = r.Theta },
            c => new RotaryEmbedding(c.GetInt32("dim"), c.GetDouble("theta", 10000)!.Value),
            c =>
            {
                Features(c, "dim");
                c.GetDouble("theta", 10000);
                return 0;
            });

        RegisterBuiltIn<MultiheadAttention>("MultiheadAttention",
            m => new JsonObject
            {
                ["embedDim"] = m.EmbedDim,
                ["numHeads"] = m.NumHeads,
                ["dropout"] = m.Dropout,
                ["bias"] = m.InProjBias is not null,
                ["batchFirst"] = m.BatchFirst,
                ["rotary"] = m.Rotary is not null,
                ["kdim"] = m.KDim,
                ["vdim"] = m.VDim,
            },
            c =>
            {
                int e = c.GetInt32("embedDim");
                return new MultiheadAttention(e, c.GetInt32("numHeads"), c.GetDouble("dropout", 0)!.Value,
                    c.GetBoolean("bias", true), c.GetBoolean("batchFirst", false), c.GetBoolean("rotary", false),
                    c.GetInt32("kdim", e), c.GetInt32("vdim", e));
            },
            c =>
            {
                int e = Features(c, "embedDim");
                Features(c, "numHeads");
                c.GetDouble("dropout", 0);
                c.GetBoolean("batchFirst", false);
                c.GetBoolean("rotary", false);
                int kdim = c.GetOptionalInt32("kdim") is null ? e : Features(c, "kdim");
                int vdim = c.GetOptionalInt32("vdim") is null ? e : Features(c, "vdim");
                bool bias = c.GetBoolean("bias", true);
                // Separate projections: q_proj_weight and out_proj.weight [E, E], k_proj_weight [E, kdim], v_proj_weight [E, vdim].
                return kdim == e && vdim == e ? AttentionElements(e, bias)
                    : Add(Add(Mul(Elements(e, e), 2), Add(Elements(e, kdim), Elements(e, vdim))), bias ? Elements(4, e) : 0);
            });

        RegisterBuiltIn<TransformerEncoderLayer>("TransformerEncoderLayer",
            l => DescribeLayerSettings(l.Settings),
            c => CreateLayerSettings(c, s => new TransformerEncoderLayer(s.DModel, s.Nhead, s.DimFeedforward, s.Dropout, s.Activation,
                s.LayerNormEps, s.BatchFirst, s.NormFirst, s.Bias, s.Rotary)),
            c => BlockElements(CheckLayerSettings(c), 1));

        RegisterBuiltIn<TransformerDecoderLayer>("TransformerDecoderLayer",
            l => DescribeLayerSettings(l.Settings),
            c => CreateLayerSettings(c, s => new TransformerDecoderLayer(s.DModel, s.Nhead, s.DimFeedforward, s.Dropout, s.Activation,
                s.LayerNormEps, s.BatchFirst, s.NormFirst, s.Bias, s.Rotary)),
            c => BlockElements(CheckLayerSettings(c), 2));

        RegisterBuiltIn<TransformerEncoder>("TransformerEncoder",
            t => StackDescription(t.Layers[0].Settings, t.Layers.Count, t.Norm),
            c => CreateLayerSettings(c, s => new TransformerEncoder(new TransformerEncoderLayer(s.DModel, s.Nhead, s.DimFeedforward, s.Dropout,
                s.Activation, s.LayerNormEps, s.BatchFirst, s.NormFirst, s.Bias, s.Rotary), c.GetInt32("numLayers"), StackNorm(c, s))),
            c => StackElements(c, 1));

        RegisterBuiltIn<TransformerDecoder>("TransformerDecoder",
            t => StackDescription(t.Layers[0].Settings, t.Layers.Count, t.Norm),
            c => CreateLayerSettings(c, s => new TransformerDecoder(new TransformerDecoderLayer(s.DModel, s.Nhead, s.DimFeedforward, s.Dropout,
                s.Activation, s.LayerNormEps, s.BatchFirst, s.NormFirst, s.Bias, s.Rotary), c.GetInt32("numLayers"), StackNorm(c, s))),
            c => StackElements(c, 2));

        RegisterBuiltIn<GptModel>("GptModel",
            g => new JsonObject
            {
                ["vocabSize"] = g.VocabSize,
                ["contextLength"] = g.ContextLength,
                ["dModel"] = g.DModel,
                ["nhead"] = g.Nhead,
                ["numLayers"] = g.NumLayers,
                ["dimFeedforward"] = g.DimFeedforward,
                ["dropout"] = g.DropoutP,
                ["positions"] = g.Positions.ToString(),
                ["tieWeights"] = g.TieWeights,
            },
            c => new GptModel(c.GetInt32("vocabSize"), c.GetInt32("contextLength"), c.GetInt32("dModel"), c.GetInt32("nhead"),
                c.GetInt32("numLayers"), c.GetInt32("dimFeedforward"), c.GetDouble("dropout", 0.1)!.Value,
                c.GetEnum("positions", PositionEncoding.Learned), c.GetBoolean("tieWeights", true)),
            c =>
            {
                int v = Features(c, "vocabSize"), ctx = Features(c, "contextLength"), d = Features(c, "dModel"), ff = Features(c, "dimFeedforward");
                Features(c, "nhead");
                int n = c.GetInt32("numLayers");
                c.CheckLimit("numLayers", n, c.Limits.MaxLayers, nameof(ModelLoadLimits.MaxLayers));
                c.GetDouble("dropout", 0.1);
                var positions = c.GetEnum("positions", PositionEncoding.Learned);
                long elements = Elements(v, d);
                if (positions == PositionEncoding.Learned) elements = Add(elements, Elements(ctx, d));
                if (!c.GetBoolean("tieWeights", true)) elements = Add(elements, Elements(v, d));
                var block = Add(AttentionElements(d, true), Add(LinearElements(d, ff, true), Add(LinearElements(ff, d, true), Elements(4, d))));
                return Add(elements, Add(Mul(block, Math.Max(n, 0)), Elements(2, d)));
            });
    }

    static JsonObject DescribeLayerSettings(TransformerLayerSettings s) => new()
    {
        ["dModel"] = s.DModel,
        ["nhead"] = s.Nhead,
        ["dimFeedforward"] = s.DimFeedforward,
        ["dropout"] = s.Dropout,
        ["activation"] = s.Activation,
        ["layerNormEps"] = s.LayerNormEps,
        ["batchFirst"] = s.BatchFirst,
        ["normFirst"] = s.NormFirst,
        ["bias"] = s.Bias,
        ["rotary"] = s.Rotary,
    };

    static TransformerLayerSettings ReadLayerSettings(ModuleConfig c) => new(c.GetInt32("dModel"), c.GetInt32("nhead"),
        c.GetInt32("dimFeedforward", 2048), c.GetDouble("dropout", 0.1)!.Value, c.Has("activation") ? c.GetString("activation") : "relu",
        c.GetDouble("layerNormEps", 1e-5)!.Value, c.GetBoolean("batchFirst", false), c.GetBoolean("normFirst", false),
        c.GetBoolean("bias", true), c.GetBoolean("rotary", false));

    static T CreateLayerSettings<T>(ModuleConfig c, Func<TransformerLayerSettings, T> create) => create(ReadLayerSettings(c));

    // Validates the settings against the limits; returns them with the sizes checked.
    static TransformerLayerSettings CheckLayerSettings(ModuleConfig c)
    {
        Features(c, "dModel");
        Features(c, "nhead");
        if (c.Has("dimFeedforward")) Features(c, "dimFeedforward");
        return ReadLayerSettings(c);
    }

    static JsonObject StackDescription(TransformerLayerSettings s, int numLayers, LayerNorm? norm)
    {
        var o = DescribeLayerSettings(s);
        o["numLayers"] = numLayers;
        o["norm"] = norm is not null;
        return o;
    }

    static LayerNorm? StackNorm(ModuleConfig c, TransformerLayerSettings s) =>
        c.GetBoolean("norm", false) ? new LayerNorm([s.DModel], s.LayerNormEps) : null;

    static long StackElements(ModuleConfig c, int attentions)
    {
        var s = CheckLayerSettings(c);
        int n = c.GetInt32("numLayers");
        c.CheckLimit("numLayers", n, c.Limits.MaxLayers, nameof(ModelLoadLimits.MaxLayers));
        long total = Mul(BlockElements(s, attentions), Math.Max(n, 0));
        return c.GetBoolean("norm", false) ? Add(total, Elements(2, s.DModel)) : total;
    }

    // A block: its attentions, the two feed-forward linears and one LayerNorm (weight and bias) per sublayer.
    static long BlockElements(TransformerLayerSettings s, int attentions) =>
        Add(Mul(AttentionElements(s.DModel, s.Bias), attentions),
            Add(LinearElements(s.DModel, s.DimFeedforward, s.Bias),
                Add(LinearElements(s.DimFeedforward, s.DModel, s.Bias), Elements(2 * (attentions + 1), s.DModel))));

    // in_proj_weight [3E, E], out_proj.weight [E, E], and the biases [3E] and [E].
    static long AttentionElements(int e, bool bias) => Add(Mul(Elements(e, e), 4), bias ? Elements(4, e) : 0);

    static long Add(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;

    static long Mul(long a, long b) => b != 0 && a > long.MaxValue / b ? long.MaxValue : a * b;
}
