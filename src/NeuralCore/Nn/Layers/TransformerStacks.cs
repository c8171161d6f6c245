namespace NeuralCore.Nn;

/// <summary>
/// A stack of <see cref="TransformerEncoderLayer"/>s, as <c>nn.TransformerEncoder</c>: <c>numLayers</c> copies of the
/// given layer (settings and initial weights, as PyTorch's deep copy) under <c>layers.0</c> …, and an optional final
/// <c>norm</c>. Shape: as the layer.
/// </summary>
public sealed class TransformerEncoder : Module
{
    readonly TransformerEncoderLayer[] layers;

    /// <summary>Creates the stack.</summary>
    /// <param name="encoderLayer">The layer copied numLayers times.</param>
    /// <param name="numLayers">Number of layers.</param>
    /// <param name="norm">Optional final normalisation.</param>
    /// <exception cref="ArgumentOutOfRangeException">numLayers is not positive.</exception>
    public TransformerEncoder(TransformerEncoderLayer encoderLayer, int numLayers, LayerNorm? norm = null)
    {
        ArgumentNullException.ThrowIfNull(encoderLayer);
        layers = TransformerStack.Copies(encoderLayer, encoderLayer.Settings, numLayers, s => new TransformerEncoderLayer(s.DModel,
            s.Nhead, s.DimFeedforward, s.Dropout, s.Activation, s.LayerNormEps, s.BatchFirst, s.NormFirst, s.Bias, s.Rotary));
        RegisterModule("layers", new Sequential(layers));
        if (norm is not null) RegisterModule("norm", norm);
        Norm = norm;
    }

    /// <summary>The layers, in order.</summary>
    public IReadOnlyList<TransformerEncoderLayer> Layers => layers;

    /// <summary>The final normalisation, or null.</summary>
    public LayerNorm? Norm { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Forward(x, null);

    /// <summary>Runs every layer with the same masks, then the final norm.</summary>
    /// <param name="src">The sequence.</param>
    /// <param name="mask">Attention mask (Bool true = not allowed, or additive).</param>
    /// <param name="srcKeyPaddingMask">Bool [B, L], true at padded positions.</param>
    /// <param name="isCausal">Causal self-attention.</param>
    /// <param name="cache">One attention cache per layer, for generation.</param>
    /// <exception cref="ArgumentException">The cache has another number of layers.</exception>
    public Tensor Forward(Tensor src, Tensor? mask, Tensor? srcKeyPaddingMask = null, bool isCausal = false, KeyValueCache? cache = null)
    {
        if (cache is not null && cache.Count != layers.Length)
            throw new ArgumentException($"TransformerEncoder: the cache has {cache.Count} layers, the stack {layers.Length}.");
        var x = src;
        for (int i = 0; i < layers.Length; i++) x = layers[i].Forward(x, mask, srcKeyPaddingMask, isCausal, cache?[i]);
        return Norm is null ? x : Norm.Forward(x);
    }
}

/// <summary>
/// A stack of <see cref="TransformerDecoderLayer"/>s, as <c>nn.TransformerDecoder</c>: copies of the given layer under
/// <c>layers.0</c> … and an optional final <c>norm</c>.
/// </summary>
public sealed class TransformerDecoder : Module
{
    readonly TransformerDecoderLayer[] layers;

    /// <summary>Creates the stack.</summary>
    /// <param name="decoderLayer">The layer copied numLayers times.</param>
    /// <param name="numLayers">Number of layers.</param>
    /// <param name="norm">Optional final normalisation.</param>
    /// <exception cref="ArgumentOutOfRangeException">numLayers is not positive.</exception>
    public TransformerDecoder(TransformerDecoderLayer decoderLayer, int numLayers, LayerNorm? norm = null)
    {
        ArgumentNullException.ThrowIfNull(decoderLayer);
        layers = TransformerStack.Copies(decoderLayer, decoderLayer.Settings, numLayers, s => new TransformerDecoderLayer(s.DModel,
            s.Nhead, s.DimFeedforward, s.Dropout, s.Activation, s.LayerNormEps, s.BatchFirst, s.NormFirst, s.Bias, s.Rotary));
        RegisterModule("layers", new Sequential(layers));
        if (norm is not null) RegisterModule("norm", norm);
        Norm = norm;
    }

    /// <summary>The layers, in order.</summary>
    public IReadOnlyList<TransformerDecoderLayer> Layers => layers;

    /// <summary>The final normalisation, or null.</summary>
    public LayerNorm? Norm { get; }

    /// <summary>A decoder needs the encoder's output: call <see cref="Forward(Tensor, Tensor, Tensor?, Tensor?, Tensor?, Tensor?, bool)"/>.</summary>
    /// <exception cref="InvalidOperationException">Always: there is no memory to attend to.</exception>
    public override Tensor Forward(Tensor x) =>
        throw new InvalidOperationException("TransformerDecoder: Forward needs the encoder output; call Forward(tgt, memory, ...).");

    /// <summary>Runs every layer, then the final norm (arguments as <see cref="TransformerDecoderLayer"/>).</summary>
    public Tensor Forward(Tensor tgt, Tensor memory, Tensor? tgtMask = null, Tensor? memoryMask = null,
        Tensor? tgtKeyPaddingMask = null, Tensor? memoryKeyPaddingMask = null, bool tgtIsCausal = false)
    {
        var x = tgt;
        foreach (var layer in layers) x = layer.Forward(x, memory, tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask, tgtIsCausal);
        return Norm is null ? x : Norm.Forward(x);
    }
}

// What both stacks do at construction: numLayers fresh layers with the template's settings, each loaded with the
// template's weights (PyTorch's deep copy).
static class TransformerStack
{
    internal static T[] Copies<T>(T template, TransformerLayerSettings settings, int numLayers, Func<TransformerLayerSettings, T> create)
        where T : Module
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numLayers);
        var state = template.StateDict();
        var layers = new T[numLayers];
        for (int i = 0; i < numLayers; i++)
        {
            layers[i] = create(settings);
            layers[i].LoadStateDict(state);
        }
        return layers;
    }
}
