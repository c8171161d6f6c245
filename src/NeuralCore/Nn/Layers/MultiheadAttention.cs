using System.Globalization;

namespace NeuralCore.Nn;

/// <summary>
/// Multi-head attention, as <c>nn.MultiheadAttention</c>, with PyTorch's parameter layout and names so weights
/// interchange through safetensors: <c>in_proj_weight</c> [3E, E] (query, key and value projections stacked),
/// <c>in_proj_bias</c> [3E] and <c>out_proj</c> (a <see cref="Linear"/> E → E). Attention itself is
/// <see cref="Functional.ScaledDotProductAttention"/>, so on the CPU it runs the fused kernel.
/// <para>
/// Masks follow PyTorch's module convention, which is the opposite of the functional one for Bool masks:
/// <c>keyPaddingMask</c> [B, Lk] is true at keys to ignore; a Bool <c>attnMask</c> ([Lq, Lk] or [B·H, Lq, Lk]) is
/// true where attention is not allowed; a floating one is added to the scores. The attention weights are not
/// returned (the fused kernel never forms them).
/// </para>
/// Shape: query [Lq, B, E] and key/value [Lk, B, E], or [B, L, E] with <c>batchFirst</c>; the output has the
/// query's shape.
/// </summary>
public sealed class MultiheadAttention : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="embedDim">Model width E.</param>
    /// <param name="numHeads">Number of heads; must divide E.</param>
    /// <param name="dropout">Dropout on the attention weights during training.</param>
    /// <param name="bias">Whether the projections have biases.</param>
    /// <param name="batchFirst">Inputs are [B, L, E] instead of [L, B, E].</param>
    /// <param name="rotary">Rotary position embedding applied to queries and keys after the head split.</param>
    /// <exception cref="ArgumentException">E is not divisible by numHeads, or a size is not positive.</exception>
    public MultiheadAttention(int embedDim, int numHeads, double dropout = 0, bool bias = true, bool batchFirst = false, bool rotary = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(embedDim);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numHeads);
        if (embedDim % numHeads != 0)
            throw new ArgumentException($"MultiheadAttention: embedDim {embedDim} must be divisible by numHeads {numHeads}.");
        if (!(dropout >= 0 && dropout <= 1)) throw new ArgumentOutOfRangeException(nameof(dropout), $"MultiheadAttention: dropout must be in [0, 1], got {dropout}.");
        ShapeMath.RequireTensor("MultiheadAttention", [3L * embedDim, embedDim], DType.Float32, Device.Cpu, "in_proj_weight");
        EmbedDim = embedDim;
        NumHeads = numHeads;
        HeadDim = embedDim / numHeads;
        Dropout = dropout;
        BatchFirst = batchFirst;
        if (rotary) Rotary = new RotaryEmbedding(HeadDim);
        RegisterParameter("in_proj_weight", Tensor.Zeros(3L * embedDim, embedDim));
        if (bias) RegisterParameter("in_proj_bias", Tensor.Zeros(3L * embedDim));
        RegisterModule("out_proj", new Linear(embedDim, embedDim, bias));
        ResetParameters();
    }

    /// <summary>Model width E.</summary>
    public int EmbedDim { get; }

    /// <summary>Number of heads.</summary>
    public int NumHeads { get; }

    /// <summary>E / numHeads.</summary>
    public int HeadDim { get; }

    /// <summary>Dropout on the attention weights during training.</summary>
    public double Dropout { get; }

    /// <summary>Inputs are [B, L, E].</summary>
    public bool BatchFirst { get; }

    /// <summary>The rotary embedding applied to queries and keys, or null.</summary>
    public RotaryEmbedding? Rotary { get; }

    /// <summary>Stacked query, key and value projections [3E, E].</summary>
    public Tensor InProjWeight => GetParameter("in_proj_weight")!;

    /// <summary>Stacked projection biases [3E], or null.</summary>
    public Tensor? InProjBias => GetParameter("in_proj_bias");

    /// <summary>The output projection.</summary>
    public Linear OutProj => (Linear)NamedChildren().First(c => c.Name == "out_proj").Module;

    /// <summary>Xavier-uniform in-projection, zero biases, as PyTorch.</summary>
    public void ResetParameters()
    {
        Init.XavierUniform(InProjWeight);
        if (InProjBias is Tensor b) Init.Zeros(b);
        if (OutProj.Bias is Tensor ob) Init.Zeros(ob);
    }

    /// <summary>Self-attention over x with no mask.</summary>
    public override Tensor Forward(Tensor x) => Forward(x, x, x);

    /// <summary>Attention of <paramref name="query"/> over <paramref name="key"/> and <paramref name="value"/>.</summary>
    /// <param name="query">Queries.</param>
    /// <param name="key">Keys.</param>
    /// <param name="value">Values.</param>
    /// <param name="keyPaddingMask">Bool [B, Lk], true at keys to ignore; or floating, added.</param>
    /// <param name="attnMask">Bool (true = not allowed) or floating (added) [Lq, Lk] or [B·H, Lq, Lk].</param>
    /// <param name="isCausal">Query i sees keys j ≤ i (of the keys given plus those cached).</param>
    /// <param name="cache">For self-attention at inference: the new keys and values are appended and attention runs
    /// over everything cached, the query continuing at position <see cref="AttentionCache.Length"/>.</param>
    /// <exception cref="ArgumentException">Shapes do not fit (the message names them).</exception>
    public Tensor Forward(Tensor query, Tensor key, Tensor value, Tensor? keyPaddingMask = null, Tensor? attnMask = null,
        bool isCausal = false, AttentionCache? cache = null)
    {
        const string op = nameof(MultiheadAttention);
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        if (query.Dim != 3 || key.Dim != 3 || value.Dim != 3 || query.Shape[^1] != EmbedDim || key.Shape[^1] != EmbedDim || value.Shape[^1] != EmbedDim)
            throw new ArgumentException($"{op}: query, key and value must be 3-d with {EmbedDim} features, got {query.Shape}, {key.Shape}, {value.Shape}.");
        bool self = ReferenceEquals(query, key) && ReferenceEquals(key, value);
        Tensor q = BatchFirst ? query : query.Transpose(0, 1);
        Tensor k = self ? q : BatchFirst ? key : key.Transpose(0, 1);
        Tensor v = self ? q : BatchFirst ? value : value.Transpose(0, 1);
        long b = q.Shape[0], lq = q.Shape[1], lk = k.Shape[1];
        if (k.Shape[0] != b || v.Shape[0] != b || v.Shape[1] != lk)
            throw new ArgumentException($"{op}: query {query.Shape}, key {key.Shape} and value {value.Shape} disagree on the batch or key length.");

        Tensor qp, kp, vp;
        if (self)
        {
            var qkv = Functional.Linear(q, InProjWeight, InProjBias);
            (qp, kp, vp) = (qkv.Narrow(-1, 0, EmbedDim), qkv.Narrow(-1, EmbedDim, EmbedDim), qkv.Narrow(-1, 2 * EmbedDim, EmbedDim));
        }
        else
        {
            qp = Project(q, 0);
            kp = Project(k, 1);
            vp = Project(v, 2);
        }
        Tensor qh = SplitHeads(qp, b, lq), kh = SplitHeads(kp, b, lk), vh = SplitHeads(vp, b, lk);
        long past = cache?.Length ?? 0;
        if (Rotary is not null)
        {
            qh = Rotary.Forward(qh, past);
            kh = Rotary.Forward(kh, past);
        }
        if (cache is not null) (kh, vh) = cache.Append(kh, vh);
        long total = kh.Shape[2];

        Tensor? mask = CombinedMask(keyPaddingMask, attnMask, b, lq, total, q.DType, op);
        bool causal = isCausal;
        if (isCausal && past > 0)
        {
            // Continuing after cached positions: query i (at position past + i) sees keys j ≤ past + i, a bottom-right
            // aligned causal mask; a single new query sees every key and needs none.
            causal = false;
            if (lq > 1)
            {
                var rows = Tensor.Arange(past, past + lq, 1, DType.Int64).Reshape(lq, 1);
                var allowed = Tensor.Arange(0, total, 1, DType.Int64).Reshape(1, total).Le(rows).To(q.Device);
                var extra = Tensor.Where(allowed, Tensor.Zeros([lq, total], q.DType, q.Device), double.NegativeInfinity);
                mask = mask is null ? extra : mask + extra;
            }
        }
        var attended = Functional.ScaledDotProductAttention(qh, kh, vh, mask, IsTraining ? Dropout : 0, causal);
        var merged = attended.Transpose(1, 2).Reshape(b, lq, EmbedDim);
        var y = OutProj.Forward(merged);
        return BatchFirst ? y : y.Transpose(0, 1);
    }

    Tensor Project(Tensor x, int part)
    {
        var w = InProjWeight.Narrow(0, part * EmbedDim, EmbedDim);
        return Functional.Linear(x, w, InProjBias?.Narrow(0, part * EmbedDim, EmbedDim));
    }

    Tensor SplitHeads(Tensor x, long b, long len) => x.Reshape(b, len, NumHeads, HeadDim).Transpose(1, 2);

    // The padding and attention masks as one additive mask broadcasting to [B, H, Lq, Lk] (null when neither is given).
    Tensor? CombinedMask(Tensor? keyPadding, Tensor? attn, long b, long lq, long lk, DType dtype, string op)
    {
        Tensor? mask = null;
        if (keyPadding is not null)
        {
            if (keyPadding.Dim != 2 || keyPadding.Shape[0] != b || keyPadding.Shape[1] != lk)
                throw new ArgumentException($"{op}: keyPaddingMask must be [{b}, {lk}], got {keyPadding.Shape}.");
            mask = Additive(keyPadding, dtype, op).Reshape(b, 1, 1, lk);
        }
        if (attn is not null)
        {
            Tensor a;
            if (attn.Dim == 2 && attn.Shape[0] == lq && attn.Shape[1] == lk) a = Additive(attn, dtype, op);
            else if (attn.Dim == 3 && attn.Shape[0] == b * NumHeads && attn.Shape[1] == lq && attn.Shape[2] == lk)
                a = Additive(attn, dtype, op).Reshape(b, NumHeads, lq, lk);
            else
                throw new ArgumentException($"{op}: attnMask must be [{lq}, {lk}] or [{b * NumHeads}, {lq}, {lk}], got {attn.Shape}.");
            mask = mask is null ? a : mask + a;
        }
        return mask;
    }

    // PyTorch's module convention: a Bool mask is true where attention is NOT allowed.
    static Tensor Additive(Tensor mask, DType dtype, string op)
    {
        if (mask.DType == DType.Bool)
            return Tensor.Where(mask, double.NegativeInfinity, Tensor.Zeros(mask.Shape.ToArray(), dtype, mask.Device));
        if (!mask.DType.IsFloatingPoint()) throw new ArgumentException($"{op}: masks must be Bool or floating point, got {mask.DType}.");
        return mask.DType == dtype ? mask : mask.To(dtype);
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture,
        $"embedDim: {EmbedDim}, numHeads: {NumHeads}, dropout: {Dropout}, bias: {InProjBias is not null}, batchFirst: {BatchFirst}, rotary: {Rotary is not null}");
}
