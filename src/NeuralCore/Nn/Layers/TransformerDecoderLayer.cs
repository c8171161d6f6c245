namespace NeuralCore.Nn;

/// <summary>
/// One transformer decoder block, as <c>nn.TransformerDecoderLayer</c> (same child names): self-attention
/// (<c>self_attn</c>), cross-attention over the encoder's output (<c>multihead_attn</c>) and a feed-forward network,
/// each with a residual connection and a LayerNorm (<c>norm1</c>–<c>norm3</c>), post-norm or pre-norm.
/// Shape: target [T, B, dModel] and memory [S, B, dModel] (or batch first) → the target's shape.
/// </summary>
public sealed class TransformerDecoderLayer : Module
{
    /// <summary>Creates the block (parameters as <see cref="TransformerEncoderLayer"/>).</summary>
    /// <exception cref="ArgumentException">The activation is unknown or the sizes do not fit.</exception>
    public TransformerDecoderLayer(int dModel, int nhead, int dimFeedforward = 2048, double dropout = 0.1, string activation = "relu",
        double layerNormEps = 1e-5, bool batchFirst = false, bool normFirst = false, bool bias = true, bool rotary = false)
    {
        Settings = new TransformerLayerSettings(dModel, nhead, dimFeedforward, dropout, activation, layerNormEps, batchFirst, normFirst, bias, rotary);
        Settings.Validate(nameof(TransformerDecoderLayer));
        RegisterModules(
            ("self_attn", new MultiheadAttention(dModel, nhead, dropout, bias, batchFirst, rotary)),
            ("multihead_attn", new MultiheadAttention(dModel, nhead, dropout, bias, batchFirst)),
            ("linear1", new Linear(dModel, dimFeedforward, bias)),
            ("dropout", new Dropout(dropout)),
            ("linear2", new Linear(dimFeedforward, dModel, bias)),
            ("norm1", new LayerNorm([dModel], layerNormEps)),
            ("norm2", new LayerNorm([dModel], layerNormEps)),
            ("norm3", new LayerNorm([dModel], layerNormEps)),
            ("dropout1", new Dropout(dropout)),
            ("dropout2", new Dropout(dropout)),
            ("dropout3", new Dropout(dropout)));
    }

    /// <summary>The constructor's settings.</summary>
    public TransformerLayerSettings Settings { get; }

    T Child<T>(string name) where T : Module => (T)NamedChildren().First(c => c.Name == name).Module;

    /// <summary>A decoder block needs the encoder's output: call <see cref="Forward(Tensor, Tensor, Tensor?, Tensor?, Tensor?, Tensor?, bool)"/>.</summary>
    /// <exception cref="InvalidOperationException">Always: there is no memory to attend to.</exception>
    public override Tensor Forward(Tensor x) =>
        throw new InvalidOperationException("TransformerDecoderLayer: Forward needs the encoder output; call Forward(tgt, memory, ...).");

    /// <summary>Runs the block.</summary>
    /// <param name="tgt">The target sequence.</param>
    /// <param name="memory">The encoder's output.</param>
    /// <param name="tgtMask">Self-attention mask (Bool true = not allowed, or additive).</param>
    /// <param name="memoryMask">Cross-attention mask.</param>
    /// <param name="tgtKeyPaddingMask">Bool [B, T], true at padded target positions.</param>
    /// <param name="memoryKeyPaddingMask">Bool [B, S], true at padded memory positions.</param>
    /// <param name="tgtIsCausal">Causal self-attention.</param>
    public Tensor Forward(Tensor tgt, Tensor memory, Tensor? tgtMask = null, Tensor? memoryMask = null,
        Tensor? tgtKeyPaddingMask = null, Tensor? memoryKeyPaddingMask = null, bool tgtIsCausal = false)
    {
        ArgumentNullException.ThrowIfNull(tgt);
        ArgumentNullException.ThrowIfNull(memory);
        var x = tgt;
        LayerNorm n1 = Child<LayerNorm>("norm1"), n2 = Child<LayerNorm>("norm2"), n3 = Child<LayerNorm>("norm3");
        if (Settings.NormFirst)
        {
            x = x + SelfBlock(n1.Forward(x), tgtMask, tgtKeyPaddingMask, tgtIsCausal);
            x = x + CrossBlock(n2.Forward(x), memory, memoryMask, memoryKeyPaddingMask);
            return x + FeedForward(n3.Forward(x));
        }
        x = n1.Forward(x + SelfBlock(x, tgtMask, tgtKeyPaddingMask, tgtIsCausal));
        x = n2.Forward(x + CrossBlock(x, memory, memoryMask, memoryKeyPaddingMask));
        return n3.Forward(x + FeedForward(x));
    }

    Tensor SelfBlock(Tensor x, Tensor? mask, Tensor? padding, bool causal) =>
        Child<Dropout>("dropout1").Forward(Child<MultiheadAttention>("self_attn").Forward(x, x, x, padding, mask, causal));

    Tensor CrossBlock(Tensor x, Tensor memory, Tensor? mask, Tensor? padding) =>
        Child<Dropout>("dropout2").Forward(Child<MultiheadAttention>("multihead_attn").Forward(x, memory, memory, padding, mask));

    Tensor FeedForward(Tensor x)
    {
        var h = TransformerLayerSettings.Activate(Child<Linear>("linear1").Forward(x), Settings.Activation);
        return Child<Dropout>("dropout3").Forward(Child<Linear>("linear2").Forward(Child<Dropout>("dropout").Forward(h)));
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => Settings.ToString();
}
