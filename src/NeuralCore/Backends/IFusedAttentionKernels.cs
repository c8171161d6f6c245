namespace NeuralCore.Backends;

/// <summary>
/// Optional backend capability: scaled dot-product attention as one tiled pass (FlashAttention's scheme). The
/// forward streams the keys in blocks with an online softmax and keeps only the output and each query row's
/// log Σ exp; the backward recomputes the attention weights block by block from those. Neither ever holds an
/// [Lq, Lk] matrix, so memory grows linearly with the sequence length.
/// <c>Functional.ScaledDotProductAttention</c> uses it when the query's backend implements it; otherwise it composes
/// MatMul, Softmax and the same dropout mask, which works on every device. Dropout (<see cref="AttentionDropout"/>)
/// is applied inside the kernels: the forward and the backward compute each weight's keep-or-drop from a counter-based
/// generator, so no mask is stored either.
/// </summary>
/// <remarks>
/// Shapes: query [B, H, Lq, D], key [B, H, Lk, D], value [B, H, Lk, Dv], an optional additive mask viewed as
/// [B, H, Lq, Lk] (any strides, 0 where broadcast; −∞ removes a key), output [B, H, Lq, Dv] and log Σ exp
/// [B, H, Lq]. Query, key, value and gradOutput may have any strides except a unit stride in the last dimension;
/// outputs and gradients are dense and fully overwritten. All floating operands share one dtype (Float32 or
/// Float64). A causal pass lets query i see keys j ≤ i (the top-left alignment of PyTorch's <c>is_causal</c>).
/// A query row that sees no key gives output 0, log Σ exp −∞ and zero gradients.
/// </remarks>
public interface IFusedAttentionKernels
{
    /// <summary>
    /// output[b, h, i] = Σ_j softmax_j(scale·q_i·k_j + mask[i, j])·z_ij·v_j and logSumExp[b, h, i] = log Σ_j exp(scale·q_i·k_j + mask[i, j]),
    /// with z_ij the dropout factor of weight (b, h, i, j) (<see cref="AttentionDropout.Factor"/>; 1 without dropout).
    /// </summary>
    /// <exception cref="ArgumentException">Shapes, dtypes or layouts do not fit (the message names them).</exception>
    void AttentionForward(BufferView query, BufferView key, BufferView value, BufferView? mask, bool causal, double scale,
        AttentionDropout dropout, BufferView output, BufferView logSumExp);

    /// <summary>
    /// Gradients of <see cref="AttentionForward"/> with respect to query, key and value, from the forward's output and
    /// log Σ exp and the output's gradient: with P recomputed and Z the forward's dropout factors, dV = (P∘Z)ᵀ·dO,
    /// dS = P∘(Z∘(dO·Vᵀ) − rowsum(dO∘O)), dQ = scale·dS·K, dK = scale·dSᵀ·Q.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes, dtypes or layouts do not fit (the message names them).</exception>
    void AttentionBackward(BufferView query, BufferView key, BufferView value, BufferView? mask, bool causal, double scale,
        AttentionDropout dropout, BufferView output, BufferView logSumExp, BufferView gradOutput, BufferView gradQuery, BufferView gradKey, BufferView gradValue);
}
