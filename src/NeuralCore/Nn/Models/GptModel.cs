using System.Globalization;

namespace NeuralCore.Nn;

/// <summary>How a <see cref="GptModel"/> encodes positions.</summary>
public enum PositionEncoding
{
    /// <summary>A learned table of absolute positions (GPT-2).</summary>
    Learned,
    /// <summary>Fixed sinusoids added to the token embeddings.</summary>
    Sinusoidal,
    /// <summary>Rotary embeddings applied to queries and keys in every layer.</summary>
    Rotary,
}

/// <summary>
/// A decoder-only transformer language model in the GPT-2 layout: token embeddings (<c>wte</c>), positions
/// (<c>wpe</c> when learned), dropout, a stack of pre-norm causal blocks with a final LayerNorm (<c>blocks</c>, see
/// <see cref="TransformerEncoder"/>), and an output projection that reuses the token embedding matrix (weight
/// tying) or has its own weight (<c>lm_head</c>). Every weight starts from N(0, 0.02²) and every bias at zero, as GPT-2.
/// Shape: tokens (Int64 or Int32) [B, L] with L ≤ contextLength → logits [B, L, vocabSize].
/// </summary>
public sealed partial class GptModel : Module, Text.ICausalLanguageModel
{
    readonly Embedding wte;
    readonly Module? wpe;
    readonly Dropout drop;
    readonly TransformerEncoder blocks;
    readonly Linear? head;

    /// <summary>Creates the model.</summary>
    /// <param name="vocabSize">Number of token ids.</param>
    /// <param name="contextLength">The longest sequence the model reads.</param>
    /// <param name="dModel">Model width.</param>
    /// <param name="nhead">Attention heads per layer.</param>
    /// <param name="numLayers">Number of blocks.</param>
    /// <param name="dimFeedforward">Hidden width of the feed-forward networks (4·dModel when null).</param>
    /// <param name="dropout">Dropout probability.</param>
    /// <param name="positions">How positions are encoded.</param>
    /// <param name="tieWeights">Whether the output projection reuses the token embeddings.</param>
    /// <exception cref="ArgumentException">A size is not positive or dModel is not divisible by nhead.</exception>
    public GptModel(int vocabSize, int contextLength, int dModel = 128, int nhead = 4, int numLayers = 4, int? dimFeedforward = null,
        double dropout = 0.1, PositionEncoding positions = PositionEncoding.Learned, bool tieWeights = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(contextLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numLayers);
        if (!Enum.IsDefined(positions)) throw new ArgumentOutOfRangeException(nameof(positions), positions, "GptModel: unknown position encoding.");
        VocabSize = vocabSize;
        ContextLength = contextLength;
        DModel = dModel;
        Nhead = nhead;
        NumLayers = numLayers;
        DimFeedforward = dimFeedforward ?? 4 * dModel;
        DropoutP = dropout;
        Positions = positions;
        TieWeights = tieWeights;
        wte = new Embedding(vocabSize, dModel);
        RegisterModule("wte", wte);
        if (positions == PositionEncoding.Learned) wpe = new LearnedPositionalEmbedding(contextLength, dModel);
        else if (positions == PositionEncoding.Sinusoidal) wpe = new SinusoidalPositionalEncoding(dModel, contextLength);
        if (wpe is not null) RegisterModule("wpe", wpe);
        drop = new Dropout(dropout);
        RegisterModule("drop", drop);
        var block = new TransformerEncoderLayer(dModel, nhead, DimFeedforward, dropout, "gelu", 1e-5, batchFirst: true, normFirst: true,
            rotary: positions == PositionEncoding.Rotary);
        blocks = new TransformerEncoder(block, numLayers, new LayerNorm(dModel));
        RegisterModule("blocks", blocks);
        if (!tieWeights)
        {
            head = new Linear(dModel, vocabSize, bias: false);
            RegisterModule("lm_head", head);
        }
        ResetParameters();
    }

    /// <summary>Number of token ids.</summary>
    public int VocabSize { get; }

    /// <summary>The longest sequence the model reads.</summary>
    public int ContextLength { get; }

    /// <summary>Model width.</summary>
    public int DModel { get; }

    /// <summary>Attention heads per layer.</summary>
    public int Nhead { get; }

    /// <summary>Number of blocks.</summary>
    public int NumLayers { get; }

    /// <summary>Hidden width of the feed-forward networks.</summary>
    public int DimFeedforward { get; }

    /// <summary>Dropout probability.</summary>
    public double DropoutP { get; }

    /// <summary>How positions are encoded.</summary>
    public PositionEncoding Positions { get; }

    /// <summary>Whether the output projection reuses the token embeddings.</summary>
    public bool TieWeights { get; }

    /// <summary>GPT-2's initialisation: weights from N(0, 0.02²), biases zero, LayerNorms at (1, 0).</summary>
    public void ResetParameters()
    {
        foreach (var (name, p) in NamedParameters())
        {
            if (name.Contains("norm", StringComparison.Ordinal)) continue;
            if (p.Dim >= 2) Init.Normal(p, 0, 0.02);
            else Init.Zeros(p);
        }
    }

    /// <summary>An empty key/value cache for generation, one entry per block, for up to <paramref name="capacity"/> positions.</summary>
    public KeyValueCache NewCache(int? capacity = null) => new(NumLayers, capacity ?? ContextLength);

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Forward(x, null);

    /// <summary>
    /// Logits for every position of <paramref name="tokens"/>. With a <paramref name="cache"/> the tokens continue the
    /// cached sequence: only their positions are computed, and their keys and values are added to the cache.
    /// </summary>
    /// <exception cref="ArgumentException">tokens is not [B, L] of integers, or the sequence would exceed the context length.</exception>
    public Tensor Forward(Tensor tokens, KeyValueCache? cache)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Dim != 2) throw new ArgumentException($"GptModel: tokens must be [B, L], got {tokens.Shape}.");
        long past = cache?.Length ?? 0, len = tokens.Shape[1];
        if (past + len > ContextLength)
            throw new ArgumentException($"GptModel: {past} cached plus {len} new tokens exceed the context length {ContextLength}.");
        var x = wte.Forward(tokens);
        x = wpe switch
        {
            LearnedPositionalEmbedding l => l.Forward(x, past),
            SinusoidalPositionalEncoding s => s.Forward(x, past),
            _ => x,
        };
        x = blocks.Forward(drop.Forward(x), null, null, isCausal: true, cache);
        return head is null ? Functional.Linear(x, wte.Weight) : head.Forward(x);
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture,
        $"vocabSize: {VocabSize}, contextLength: {ContextLength}, dModel: {DModel}, nhead: {Nhead}, numLayers: {NumLayers}, positions: {Positions}, tieWeights: {TieWeights}");
}
