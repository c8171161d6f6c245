using System.Globalization;

namespace NeuralCore.Nn;

/// <summary>
/// Multi-head attention, as <c>nn.MultiheadAttention</c>, with PyTorch's parameter layout and names so weights
/// interchange through safetensors: <c>in_proj_weight</c> [3E, E] (query, key and value projections stacked),
/// <c>in_proj_bias</c> [3E] and <c>out_proj</c> (a <see cref="Linear"/> E → E). When keys or values have their own
/// widths (<c>kdim</c>, <c>vdim</c> other than E), the projections are separate, as PyTorch's
/// <c>q_proj_weight</c> [E, E], <c>k_proj_weight</c> [E, kdim] and <c>v_proj_weight</c> [E, vdim], with no
/// <c>in_proj_weight</c>. Attention itself is <see cref="Functional.ScaledDotProductAttention"/>, so on the CPU it
/// runs the fused kernel; <see cref="ForwardWithWeights"/> forms the weights and returns them, as PyTorch's
/// <c>need_weights=True</c>.
/// <para>
/// Masks follow PyTorch's module convention, which is the opposite of the functional one for Bool masks:
/// <c>keyPaddingMask</c> [B, Lk] is true at keys to ignore; a Bool <c>attnMask</c> ([Lq, Lk] or [B·H, Lq, Lk]) is
/// true where attention is not allowed; a floating one is added to the scores.
/// </para>
/// Shape: query [Lq, B, E], key [Lk, B, kdim] and value [Lk, B, vdim], or batch first ([B, L, ·]) with
/// <c>batchFirst</c>; the output has the query's shape.
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
    /// <param name="kdim">Feature width of the keys; E when null.</param>
    /// <param name="vdim">Feature width of the values; E when null.</param>
    /// <exception cref="ArgumentException">E is not divisible by numHeads, or a size is not positive.</exception>
    public MultiheadAttention(int embedDim, int numHeads, double dropout = 0, bool bias = true, bool batchFirst = false, bool rotary = false,
        int? kdim = null, int? vdim = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(embedDim);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numHeads);
        if (embedDim % numHeads != 0)
            throw new ArgumentException($"MultiheadAttention: embedDim {embedDim} must be divisible by numHeads {numHeads}.");
        if (!(dropout >= 0 && dropout <= 1)) throw new ArgumentOutOfRangeException(nameof(dropout), $"MultiheadAttention: dropout must be in [0, 1], got {dropout}.");
        if (kdim is <= 0) throw new ArgumentOutOfRangeException(nameof(kdim), $"MultiheadAttention: kdim must be positive, got {kdim}.");
        if (vdim is <= 0) throw new ArgumentOutOfRangeException(nameof(vdim), $"MultiheadAttention: vdim must be positive, got {vdim}.");
        ShapeMath.RequireTensor("MultiheadAttention", [3L * embedDim, embedDim], DType.Float32, Device.Cpu, "in_proj_weight");
        EmbedDim = embedDim;
        KDim = kdim ?? embedDim;
        VDim = vdim ?? embedDim;
        NumHeads = numHeads;
        HeadDim = embedDim / numHeads;
        Dropout = dropout;
        BatchFirst = batchFirst;
        if (rotary) Rotary = new RotaryEmbedding(HeadDim);
        if (SameEmbedDim) RegisterParameter("in_proj_weight", Tensor.Zeros(3L * embedDim, embedDim));
        else
        {
            RegisterParameter("q_proj_weight", Tensor.Zeros(embedDim, embedDim));
            RegisterParameter("k_proj_weight", Tensor.Zeros(embedDim, KDim));
            RegisterParameter("v_proj_weight", Tensor.Zeros(embedDim, VDim));
        }
        if (bias) RegisterParameter("in_proj_bias", Tensor.Zeros(3L * embedDim));
        RegisterModule("out_proj", new Linear(embedDim, embedDim, bias));
        ResetParameters();
    }

    /// <summary>Model width E.</summary>
    public int EmbedDim { get; }

    /// <summary>Feature width of the keys (E unless set).</summary>
    public int KDim { get; }

    /// <summary>Feature width of the values (E unless set).</summary>
    public int VDim { get; }

    /// <summary>Whether keys and values are E wide, so the projections are stacked in <see cref="InProjWeight"/> (PyTorch's <c>_qkv_same_embed_dim</c>).</summary>
    public bool SameEmbedDim => KDim == EmbedDim && VDim == EmbedDim;

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

    /// <summary>Stacked query, key and value projections [3E, E]; null when <see cref="SameEmbedDim"/> is false.</summary>
    public Tensor? InProjWeight => GetParameter("in_proj_weight");

    /// <summary>The query projection [E, E] when the projections are separate (<see cref="SameEmbedDim"/> false), else null.</summary>
    public Tensor? QProjWeight => GetParameter("q_proj_weight");

    /// <summary>The key projection [E, kdim] when the projections are separate, else null.</summary>
    public Tensor? KProjWeight => GetParameter("k_proj_weight");

    /// <summary>The value projection [E, vdim] when the projections are separate, else null.</summary>
    public Tensor? VProjWeight => GetParameter("v_proj_weight");

    /// <summary>Stacked projection biases [3E], or null.</summary>
    public Tensor? InProjBias => GetParameter("in_proj_bias");

    /// <summary>The output projection.</summary>
    public Linear OutProj => (Linear)NamedChildren().First(c => c.Name == "out_proj").Module;

    /// <summary>Xavier-uniform in-projection (each separate projection on its own), zero biases, as PyTorch.</summary>
    public void ResetParameters()
    {
        if (InProjWeight is Tensor w) Init.XavierUniform(w);
        else
        {
            Init.XavierUniform(QProjWeight!);
            Init.XavierUniform(KProjWeight!);
            Init.XavierUniform(VProjWeight!);
        }
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
        bool isCausal = false, AttentionCache? cache = null) =>
        Attend(query, key, value, keyPaddingMask, attnMask, isCausal, cache, weights: null).Output;

    /// <summary>
    /// As <see cref="Forward(Tensor, Tensor, Tensor, Tensor?, Tensor?, bool, AttentionCache?)"/>, also returning the
    /// attention weights, as PyTorch's <c>need_weights=True</c>: the softmax over the keys (after dropout while
    /// training, as PyTorch; the same mask as <c>Forward</c> draws for the same generator state), averaged over the heads ([B, Lq, Lk]) or per head ([B, H, Lq, Lk]) with
    /// <paramref name="averageAttnWeights"/> false. The weights take an [Lq, Lk] matrix per head, so this runs the
    /// composed attention instead of the fused kernel; both take part in autograd.
    /// </summary>
    /// <param name="query">Queries.</param>
    /// <param name="key">Keys.</param>
    /// <param name="value">Values.</param>
    /// <param name="keyPaddingMask">Bool [B, Lk], true at keys to ignore; or floating, added.</param>
    /// <param name="attnMask">Bool (true = not allowed) or floating (added) [Lq, Lk] or [B·H, Lq, Lk].</param>
    /// <param name="averageAttnWeights">Average the weights over the heads (PyTorch's default).</param>
    /// <param name="isCausal">Query i sees keys j ≤ i (of the keys given plus those cached).</param>
    /// <param name="cache">Key/value cache, as in <c>Forward</c>.</param>
    /// <returns>The output (the query's shape) and the weights.</returns>
    /// <exception cref="ArgumentException">Shapes do not fit (the message names them).</exception>
    public (Tensor Output, Tensor Weights) ForwardWithWeights(Tensor query, Tensor key, Tensor value, Tensor? keyPaddingMask = null,
        Tensor? attnMask = null, bool averageAttnWeights = true, bool isCausal = false, AttentionCache? cache = null)
    {
        var (output, weights) = Attend(query, key, value, keyPaddingMask, attnMask, isCausal, cache, weights: averageAttnWeights);
        return (output, weights!);
    }

    // weights: null to use the fused attention and return no weights; true / false to return them averaged / per head.
    (Tensor Output, Tensor? Weights) Attend(Tensor query, Tensor key, Tensor value, Tensor? keyPaddingMask, Tensor? attnMask,
        bool isCausal, AttentionCache? cache, bool? weights)
    {
        const string op = nameof(MultiheadAttention);
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        if (query.Dim != 3 || key.Dim != 3 || value.Dim != 3 || query.Shape[^1] != EmbedDim || key.Shape[^1] != KDim || value.Shape[^1] != VDim)
            throw new ArgumentException(
                $"{op}: query, key and value must be 3-d with {EmbedDim}, {KDim} and {VDim} features, got {query.Shape}, {key.Shape}, {value.Shape}.");
        bool self = ReferenceEquals(query, key) && ReferenceEquals(key, value) && SameEmbedDim;
        Tensor q = BatchFirst ? query : query.Transpose(0, 1);
        Tensor k = self ? q : BatchFirst ? key : key.Transpose(0, 1);
        Tensor v = self ? q : BatchFirst ? value : value.Transpose(0, 1);
        long b = q.Shape[0], lq = q.Shape[1], lk = k.Shape[1];
        if (k.Shape[0] != b || v.Shape[0] != b || v.Shape[1] != lk)
            throw new ArgumentException($"{op}: query {query.Shape}, key {key.Shape} and value {value.Shape} disagree on the batch or key length.");

        Tensor qp, kp, vp;
        if (self)
        {
            var qkv = Functional.Linear(q, InProjWeight!, InProjBias);
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
        double dropout = IsTraining ? Dropout : 0;
        Tensor attended;
        Tensor? returned = null;
        if (weights is bool average)
        {
            var w = Functional.AttentionWeights(qh, kh, mask, causal, scale: null);
            w = Functional.DropAttentionWeights(w, dropout);
            attended = w.MatMul(vh);
            returned = average ? w.Mean(1) : w;
        }
        else attended = Functional.ScaledDotProductAttention(qh, kh, vh, mask, dropout, causal);
        var merged = attended.Transpose(1, 2).Reshape(b, lq, EmbedDim);
        var y = OutProj.Forward(merged);
        return (BatchFirst ? y : y.Transpose(0, 1), returned);
    }

    Tensor Project(Tensor x, int part)
    {
        var w = InProjWeight?.Narrow(0, part * EmbedDim, EmbedDim) ?? (part switch { 0 => QProjWeight, 1 => KProjWeight, _ => VProjWeight })!;
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
        $"embedDim: {EmbedDim}, numHeads: {NumHeads}, dropout: {Dropout}, bias: {InProjBias is not null}, batchFirst: {BatchFirst}, rotary: {Rotary is not null}{(SameEmbedDim ? "" : $", kdim: {KDim}, vdim: {VDim}")}");
}
