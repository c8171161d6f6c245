using NeuralCore.Autograd;
using NeuralCore.Autograd.Rules;
using NeuralCore.Backends;
using NeuralCore.Profiling;

namespace NeuralCore.Nn;

public static partial class Functional
{
    /// <summary>
    /// Scaled dot-product attention, as <c>F.scaled_dot_product_attention</c>:
    /// softmax(q·kᵀ·scale + mask)·v over the last two dimensions.
    /// <para>
    /// <paramref name="attnMask"/> is either Bool (true: the query may attend to the key) or floating point (added to
    /// the scores; −∞ removes a key), broadcastable to [..., Lq, Lk]. <paramref name="isCausal"/> lets query i see keys
    /// j ≤ i (top-left aligned, as PyTorch); it may be combined with a mask. A query row that sees no key gives 0 (as
    /// PyTorch's safe softmax). <paramref name="dropoutP"/> drops attention weights (pass 0 outside training).
    /// </para>
    /// <para>
    /// Where the device offers <see cref="IFusedAttentionKernels"/> (the CPU and ILGPU backends do), one fused, tiled
    /// kernel runs forward and backward with memory linear in the sequence length (no [Lq, Lk] matrix); else the op is
    /// composed of MatMul and Softmax. A floating mask that requires gradients, or <paramref name="dropoutP"/> = 1,
    /// takes the composed path.
    /// </para>
    /// <para>
    /// Dropout draws one <see cref="AttentionDropout"/> from <see cref="Rng.Default"/> per call: both paths drop
    /// exactly the same weights for the same generator state, and the fused backward recomputes the mask instead of
    /// storing it.
    /// </para>
    /// Shape: query [..., Lq, D], key [..., Lk, D], value [..., Lk, Dv] with equal leading dimensions (at most two);
    /// the result is [..., Lq, Dv].
    /// </summary>
    /// <param name="query">Queries.</param>
    /// <param name="key">Keys.</param>
    /// <param name="value">Values.</param>
    /// <param name="attnMask">Optional Bool or additive mask.</param>
    /// <param name="dropoutP">Dropout probability on the attention weights.</param>
    /// <param name="isCausal">Apply a causal mask.</param>
    /// <param name="scale">Score scale; 1/√D when null.</param>
    /// <exception cref="ArgumentException">Shapes, dtypes or devices do not fit (the message names them), or the mask does not broadcast.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dropoutP"/> is outside [0, 1] or the scale is not finite.</exception>
    public static Tensor ScaledDotProductAttention(Tensor query, Tensor key, Tensor value, Tensor? attnMask = null,
        double dropoutP = 0, bool isCausal = false, double? scale = null)
    {
        const string op = nameof(ScaledDotProductAttention);
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        if (!(dropoutP >= 0 && dropoutP <= 1))
            throw new ArgumentOutOfRangeException(nameof(dropoutP), $"{op}: dropoutP must be in [0, 1], got {dropoutP}.");
        int r = query.Dim;
        if (r < 2 || r > 4 || key.Dim != r || value.Dim != r)
            throw new ArgumentException($"{op}: query, key and value must have the same rank, 2 to 4 ([..., L, D]); got {query.Shape}, {key.Shape}, {value.Shape}.");
        if (!query.DType.IsFloatingPoint() || key.DType != query.DType || value.DType != query.DType)
            throw new ArgumentException($"{op}: query, key and value must share a floating dtype, got {query.DType}, {key.DType}, {value.DType}.");
        if (key.Device != query.Device || value.Device != query.Device)
            throw new ArgumentException($"{op}: query, key and value must be on one device, got {query.Device}, {key.Device}, {value.Device}.");
        for (int d = 0; d < r - 2; d++)
        {
            if (key.Shape[d] != query.Shape[d] || value.Shape[d] != query.Shape[d])
                throw new ArgumentException($"{op}: the leading dimensions of query {query.Shape}, key {key.Shape} and value {value.Shape} must be equal.");
        }
        if (key.Shape[r - 1] != query.Shape[r - 1] || value.Shape[r - 2] != key.Shape[r - 2])
            throw new ArgumentException($"{op}: query {query.Shape}, key {key.Shape} and value {value.Shape} do not fit [..., Lq, D], [..., Lk, D], [..., Lk, Dv].");
        long lq = query.Shape[r - 2], lk = key.Shape[r - 2], dHead = query.Shape[r - 1];
        double s = scale ?? (dHead > 0 ? 1 / Math.Sqrt(dHead) : 1);
        if (!double.IsFinite(s)) throw new ArgumentOutOfRangeException(nameof(scale), $"{op}: scale must be finite, got {s}.");

        Tensor? additive = attnMask is null ? null : AdditiveMask(attnMask, query, lq, lk, op);
        if (dropoutP < 1 && query.Backend is IFusedAttentionKernels kernels && (additive is null || !additive.RequiresGrad))
            return FusedAttention(kernels, query, key, value, additive, isCausal, s, DrawDropout(dropoutP, query, lk));
        return ComposedAttention(query, key, value, additive, dropoutP, isCausal, s);
    }

    // One dropout per call over the [..., Lq, Lk] weights (none when p is 0).
    static AttentionDropout DrawDropout(double p, Tensor query, long lk)
    {
        if (p == 0) return AttentionDropout.None;
        long n = lk;
        for (int d = 0; d < query.Dim - 1; d++) n *= query.Shape[d];
        return AttentionDropout.Draw(p, n);
    }

    /// <summary>
    /// The composed attention (MatMul, safe softmax, the dropout mask of <see cref="AttentionDropout"/>, MatMul) over
    /// checked operands and an additive mask: the reference the fused kernels are held to, drawing the same dropout.
    /// </summary>
    internal static Tensor ComposedAttention(Tensor query, Tensor key, Tensor value, Tensor? additive, double dropoutP, bool isCausal, double scale)
    {
        int r = query.Dim;
        long lq = query.Shape[r - 2], lk = key.Shape[r - 2];
        if (lk == 0)
        {
            var empty = query.Shape.ToArray();
            empty[^1] = value.Shape[r - 1];
            return Tensor.Zeros(empty, query.DType, query.Device);
        }
        var weights = DropAttentionWeights(SoftmaxWeights(query, key, additive, isCausal, scale, nameof(ScaledDotProductAttention)), dropoutP);
        return weights.MatMul(value);
    }

    /// <summary>
    /// Dropout on attention weights [..., Lq, Lk] with the mask the fused kernels use (one <see cref="AttentionDropout"/>
    /// drawn from <see cref="Rng.Default"/>); p = 1 zeroes them.
    /// </summary>
    internal static Tensor DropAttentionWeights(Tensor weights, double p)
    {
        if (p == 0) return weights;
        if (p >= 1) return weights * 0;
        long lq = weights.Shape[^2], lk = weights.Shape[^1], rows = weights.NumElements / Math.Max(1, lq * lk);
        var dropout = DrawDropout(p, weights, lk);
        var factors = dropout.Factors((int)rows, 1, (int)lq, (int)lk, weights.DType, weights.Device).Reshape(weights.Shape.ToArray());
        return weights * factors;
    }

    /// <summary>
    /// The attention weights softmax(q·kᵀ·scale + mask) [..., Lq, Lk] of the composed path, for callers that return
    /// them (<see cref="MultiheadAttention.ForwardWithWeights"/>); masks as in <see cref="ScaledDotProductAttention"/>.
    /// The operands are [B, H, L, D] as the layer forms them.
    /// </summary>
    internal static Tensor AttentionWeights(Tensor query, Tensor key, Tensor? attnMask, bool isCausal, double? scale)
    {
        const string op = nameof(ScaledDotProductAttention);
        long lq = query.Shape[^2], lk = key.Shape[^2], dHead = query.Shape[^1];
        var additive = attnMask is null ? null : AdditiveMask(attnMask, query, lq, lk, op);
        if (lk == 0)
        {
            var empty = query.Shape.ToArray();
            empty[^1] = 0;
            return Tensor.Zeros(empty, query.DType, query.Device);
        }
        return SoftmaxWeights(query, key, additive, isCausal, scale ?? (dHead > 0 ? 1 / Math.Sqrt(dHead) : 1), op);
    }

    static Tensor SoftmaxWeights(Tensor query, Tensor key, Tensor? additive, bool isCausal, double scale, string op)
    {
        long lq = query.Shape[^2], lk = key.Shape[^2];
        var scores = query.MatMul(key.Transpose(-1, -2)) * scale;
        if (additive is not null) scores = scores + additive;
        if (isCausal) scores = scores + AdditiveMask(CausalMask(lq, lk, query.Device), query, lq, lk, op);
        // The safe softmax: a row whose every score is −∞ gets weights 0 (and zero gradients) instead of NaN.
        var dead = scores.Max(-1, keepDim: true).Eq(double.NegativeInfinity);
        return Tensor.Where(dead, 0.0, Tensor.Where(dead, 0.0, scores).Softmax(-1));
    }

    /// <summary>
    /// The causal mask as PyTorch's <c>is_causal</c>: a Bool [Lq, Lk] tensor, true where key j ≤ query i.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative.</exception>
    public static Tensor CausalMask(long queryLength, long keyLength, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(queryLength);
        ArgumentOutOfRangeException.ThrowIfNegative(keyLength);
        var rows = Tensor.Arange(0, queryLength, 1, DType.Int64).Reshape(queryLength, 1);
        var cols = Tensor.Arange(0, keyLength, 1, DType.Int64).Reshape(1, keyLength);
        var m = cols.Le(rows);
        return device is Device d && d != m.Device ? m.To(d) : m;
    }

    /// <summary>
    /// A key padding mask from sequence lengths: Bool [B, maxLength], true at padded positions (index ≥ length), the
    /// convention of <c>key_padding_mask</c> in <see cref="MultiheadAttention"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A length is negative or exceeds <paramref name="maxLength"/>.</exception>
    public static Tensor PaddingMask(long[] lengths, long maxLength, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);
        foreach (long len in lengths)
        {
            if (len < 0 || len > maxLength)
                throw new ArgumentException($"PaddingMask: length {len} is outside [0, {maxLength}].", nameof(lengths));
        }
        var len2 = Tensor.FromArray(lengths, lengths.Length, 1);
        var m = Tensor.Arange(0, maxLength, 1, DType.Int64).Reshape(1, maxLength).Ge(len2);
        return device is Device d && d != m.Device ? m.To(d) : m;
    }

    // A Bool mask becomes 0 / −∞ in the query's dtype; a floating one is used as given (in the query's dtype).
    static Tensor AdditiveMask(Tensor mask, Tensor query, long lq, long lk, string op)
    {
        if (mask.Device != query.Device)
            throw new ArgumentException($"{op}: the mask is on {mask.Device}, the query on {query.Device}.");
        if (mask.Dim > query.Dim)
            throw new ArgumentException($"{op}: the mask {mask.Shape} has more dimensions than the query {query.Shape}.");
        var target = query.Shape.ToArray();
        target[^1] = lk;
        target[^2] = lq;
        for (int i = 0; i < mask.Dim; i++)
        {
            long m = mask.Shape[mask.Dim - 1 - i], t = target[target.Length - 1 - i];
            if (m != 1 && m != t)
                throw new ArgumentException($"{op}: the mask {mask.Shape} does not broadcast to the scores' shape {ShapeMath.Format(target)}.");
        }
        if (mask.DType == DType.Bool)
        {
            var zero = Tensor.Zeros(mask.Shape.ToArray(), query.DType, query.Device);
            return Tensor.Where(mask, zero, double.NegativeInfinity);
        }
        if (!mask.DType.IsFloatingPoint())
            throw new ArgumentException($"{op}: the mask must be Bool or floating point, got {mask.DType}.");
        return mask.DType == query.DType ? mask : mask.To(query.DType);
    }

    // The fused kernel sees [B, H, L, D] operands: rank-2 and rank-3 inputs get unit leading dimensions (views).
    static Tensor FusedAttention(IFusedAttentionKernels kernels, Tensor query, Tensor key, Tensor value, Tensor? mask, bool causal, double scale,
        AttentionDropout dropout)
    {
        int r = query.Dim;
        Tensor q = To4d(query), k = To4d(key), v = To4d(value);
        var qs = q.Shape;
        long b = qs[0], h = qs[1], lq = qs[2], lk = k.Shape[2], dv = v.Shape[3];
        Tensor? m = null;
        if (mask is not null)
        {
            var ms = new long[4];
            Array.Fill(ms, 1L);
            for (int i = 0; i < mask.Dim; i++) ms[4 - mask.Dim + i] = mask.Shape[i];
            // Leading dimensions of a lower-rank query were inserted at the front of [B, H]: put the mask's there too.
            if (r == 3) (ms[0], ms[1]) = (ms[1], 1);
            m = mask.Reshape(ms).Expand(b, h, lq, lk);
        }
        var output = Tensor.Empty([(int)b, (int)h, (int)lq, (int)dv], q.DType, q.Backend, nameof(ScaledDotProductAttention));
        var lse = Tensor.Empty([(int)b, (int)h, (int)lq], q.DType, q.Backend, nameof(ScaledDotProductAttention));
        kernels.AttentionForward(q.Buf, k.Buf, v.Buf, m?.Buf, causal, scale, dropout, output.Buf, lse.Buf);
        FlopCosts.Add("scaled_dot_product_attention", FlopCosts.AttentionForward(q.Buf.Shape, v.Buf.Shape));
        var y = Engine.Record(output, AttentionRules.ScaledDotProduct, m is null ? [q, k, v] : [q, k, v, m],
            ints: AttentionRules.Ints(causal, dropout), a: scale, b: dropout.P, saved: lse, saveOutput: true);
        if (r == 4) return y;
        var outShape = query.Shape.ToArray();
        outShape[^1] = dv;
        return y.Reshape(outShape);

        Tensor To4d(Tensor t)
        {
            var u = r switch { 2 => t.Unsqueeze(0).Unsqueeze(0), 3 => t.Unsqueeze(1), _ => t };
            return u.Shape[3] <= 1 || u.Buf.Strides[3] == 1 ? u : u.Contiguous();
        }
    }
}
