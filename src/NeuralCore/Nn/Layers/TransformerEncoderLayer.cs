using System.Globalization;

namespace NeuralCore.Nn;

/// <summary>
/// One transformer encoder block, as <c>nn.TransformerEncoderLayer</c> (same child names, so state dicts match):
/// self-attention (<c>self_attn</c>) and a feed-forward network (<c>linear1</c>, activation, <c>dropout</c>,
/// <c>linear2</c>), each with a residual connection and a LayerNorm (<c>norm1</c>, <c>norm2</c>), placed after the
/// residual (post-norm, the default) or before the sublayer (<c>normFirst</c>, pre-norm, as GPT-2).
/// With a causal mask and a cache it is also the block of a decoder-only language model.
/// Shape: [L, B, dModel], or [B, L, dModel] with <c>batchFirst</c> → the same.
/// </summary>
public sealed class TransformerEncoderLayer : Module
{
    /// <summary>Creates the block.</summary>
    /// <param name="dModel">Model width.</param>
    /// <param name="nhead">Number of attention heads.</param>
    /// <param name="dimFeedforward">Hidden width of the feed-forward network.</param>
    /// <param name="dropout">Dropout probability (attention weights, feed-forward and residual branches).</param>
    /// <param name="activation">"relu" or "gelu".</param>
    /// <param name="layerNormEps">LayerNorm epsilon.</param>
    /// <param name="batchFirst">Inputs are [B, L, dModel].</param>
    /// <param name="normFirst">Pre-norm instead of post-norm.</param>
    /// <param name="bias">Whether the linear layers and the attention projections have biases (the LayerNorms always do).</param>
    /// <param name="rotary">Rotary position embedding in the self-attention.</param>
    /// <exception cref="ArgumentException">The activation is unknown or the sizes do not fit.</exception>
    public TransformerEncoderLayer(int dModel, int nhead, int dimFeedforward = 2048, double dropout = 0.1, string activation = "relu",
        double layerNormEps = 1e-5, bool batchFirst = false, bool normFirst = false, bool bias = true, bool rotary = false)
    {
        Settings = new TransformerLayerSettings(dModel, nhead, dimFeedforward, dropout, activation, layerNormEps, batchFirst, normFirst, bias, rotary);
        Settings.Validate(nameof(TransformerEncoderLayer));
        RegisterModules(
            ("self_attn", new MultiheadAttention(dModel, nhead, dropout, bias, batchFirst, rotary)),
            ("linear1", new Linear(dModel, dimFeedforward, bias)),
            ("dropout", new Dropout(dropout)),
            ("linear2", new Linear(dimFeedforward, dModel, bias)),
            ("norm1", new LayerNorm([dModel], layerNormEps)),
            ("norm2", new LayerNorm([dModel], layerNormEps)),
            ("dropout1", new Dropout(dropout)),
            ("dropout2", new Dropout(dropout)));
    }

    /// <summary>The constructor's settings.</summary>
    public TransformerLayerSettings Settings { get; }

    /// <summary>The self-attention.</summary>
    public MultiheadAttention SelfAttn => Child<MultiheadAttention>("self_attn");

    T Child<T>(string name) where T : Module => (T)NamedChildren().First(c => c.Name == name).Module;

    /// <summary>The block with no mask.</summary>
    public override Tensor Forward(Tensor x) => Forward(x, null, null, false, null);

    /// <summary>Runs the block.</summary>
    /// <param name="src">The sequence.</param>
    /// <param name="srcMask">Attention mask (see <see cref="MultiheadAttention"/>: Bool true = not allowed).</param>
    /// <param name="srcKeyPaddingMask">Bool [B, L], true at padded positions.</param>
    /// <param name="isCausal">Causal self-attention.</param>
    /// <param name="cache">Keys and values of earlier positions, for generation.</param>
    public Tensor Forward(Tensor src, Tensor? srcMask, Tensor? srcKeyPaddingMask = null, bool isCausal = false, AttentionCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(src);
        var x = src;
        LayerNorm n1 = Child<LayerNorm>("norm1"), n2 = Child<LayerNorm>("norm2");
        if (Settings.NormFirst)
        {
            x = x + SelfAttention(n1.Forward(x), srcMask, srcKeyPaddingMask, isCausal, cache);
            return x + FeedForward(n2.Forward(x));
        }
        x = n1.Forward(x + SelfAttention(x, srcMask, srcKeyPaddingMask, isCausal, cache));
        return n2.Forward(x + FeedForward(x));
    }

    Tensor SelfAttention(Tensor x, Tensor? mask, Tensor? padding, bool causal, AttentionCache? cache) =>
        Child<Dropout>("dropout1").Forward(SelfAttn.Forward(x, x, x, padding, mask, causal, cache));

    Tensor FeedForward(Tensor x)
    {
        var h = TransformerLayerSettings.Activate(Child<Linear>("linear1").Forward(x), Settings.Activation);
        return Child<Dropout>("dropout2").Forward(Child<Linear>("linear2").Forward(Child<Dropout>("dropout").Forward(h)));
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => Settings.ToString();
}

/// <summary>The settings shared by <see cref="TransformerEncoderLayer"/> and <see cref="TransformerDecoderLayer"/>.</summary>
/// <param name="DModel">Model width.</param>
/// <param name="Nhead">Number of attention heads.</param>
/// <param name="DimFeedforward">Hidden width of the feed-forward network.</param>
/// <param name="Dropout">Dropout probability.</param>
/// <param name="Activation">"relu" or "gelu".</param>
/// <param name="LayerNormEps">LayerNorm epsilon.</param>
/// <param name="BatchFirst">Inputs are [B, L, dModel].</param>
/// <param name="NormFirst">Pre-norm instead of post-norm.</param>
/// <param name="Bias">Whether linear layers and attention projections have biases.</param>
/// <param name="Rotary">Rotary position embedding in the self-attention.</param>
public sealed record TransformerLayerSettings(int DModel, int Nhead, int DimFeedforward, double Dropout, string Activation,
    double LayerNormEps, bool BatchFirst, bool NormFirst, bool Bias, bool Rotary)
{
    internal void Validate(string op)
    {
        if (Activation is not ("relu" or "gelu"))
            throw new ArgumentException($"{op}: activation must be \"relu\" or \"gelu\", got \"{Activation}\".");
        if (DModel <= 0 || Nhead <= 0 || DimFeedforward <= 0)
            throw new ArgumentException($"{op}: dModel, nhead and dimFeedforward must be positive, got {DModel}, {Nhead}, {DimFeedforward}.");
        if (!(LayerNormEps >= 0)) throw new ArgumentException($"{op}: layerNormEps must be non-negative, got {LayerNormEps}.");
    }

    internal static Tensor Activate(Tensor x, string activation) => activation == "gelu" ? x.Gelu() : x.Relu();

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"dModel: {DModel}, nhead: {Nhead}, dimFeedforward: {DimFeedforward}, dropout: {Dropout}, activation: {Activation}, normFirst: {NormFirst}, batchFirst: {BatchFirst}");
}
