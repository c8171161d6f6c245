using System.Runtime.CompilerServices;
using NeuralCore.Backends;

namespace NeuralCore.Profiling;

/// <summary>
/// The FLOP cost of each backend kernel, reported to the active <see cref="FlopCounter"/>s by the tensor code that
/// dispatches the kernel. One method per kernel family; each returns at once when no counter is active. The
/// conventions are those of docs/energy.md.
/// </summary>
internal static class FlopCosts
{
    static readonly string[] UnaryNames = Names<UnaryOp>();
    static readonly string[] BinaryNames = Names<BinaryOp>();
    static readonly string[] ReduceNames = Names<ReduceOp>();

    // "LeakyRelu" → "leaky_relu", "ArgMax" → "argmax" (the names PyTorch's aten ops use).
    static string[] Names<T>() where T : struct, Enum =>
        Enum.GetValues<T>().Select(v => Snake(v.ToString())).ToArray();

    static string Snake(string name) => name switch
    {
        "ArgMax" => "argmax",
        "ArgMin" => "argmin",
        _ => string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString())),
    };

    /// <summary>The counter name of a unary op (<c>"relu"</c>, <c>"leaky_relu"</c>, ...).</summary>
    public static string Name(UnaryOp op) => UnaryNames[(int)op];

    /// <summary>The counter name of a binary op (<c>"add"</c>, <c>"relu_backward"</c>, ...).</summary>
    public static string Name(BinaryOp op) => BinaryNames[(int)op];

    /// <summary>The counter name of a reduction (<c>"sum"</c>, <c>"argmax"</c>, ...).</summary>
    public static string Name(ReduceOp op) => ReduceNames[(int)op];

    /// <summary>Elementwise unary op: 1 FLOP per output element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Unary(UnaryOp op, BufferView destination)
    {
        if (FlopCounter.AnyActive) FlopCounter.Add(Name(op), destination.Count);
    }

    /// <summary>Elementwise binary op (comparisons included): 1 FLOP per output element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Binary(BinaryOp op, BufferView destination)
    {
        if (FlopCounter.AnyActive) FlopCounter.Add(Name(op), destination.Count);
    }

    /// <summary>Select: 1 FLOP per output element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Where(BufferView destination)
    {
        if (FlopCounter.AnyActive) FlopCounter.Add("where", destination.Count);
    }

    /// <summary>Reduction: 1 FLOP per input element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Reduce(ReduceOp op, BufferView input)
    {
        if (FlopCounter.AnyActive) FlopCounter.Add(Name(op), input.Count);
    }

    /// <summary>Scatter-add and index-add: 1 FLOP (an add) per source element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate(string op, BufferView source)
    {
        if (FlopCounter.AnyActive) FlopCounter.Add(op, source.Count);
    }

    /// <summary>Batched matrix product [B, M, K]·[B, K, N]: 2·B·M·N·K.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MatMul(long batch, long m, long n, long k)
    {
        if (FlopCounter.AnyActive) FlopCounter.Add("matmul", 2 * batch * m * n * k);
    }

    /// <summary>
    /// 2·N·O·OH·OW·(C/groups)·kH·kW for the convolution named <paramref name="op"/>: the forward, the input gradient
    /// and the weight gradient each do this many multiply-adds (×2).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Conv2d(string op, int[] inputShape, int[] weightShape, int[] outputShape)
    {
        if (FlopCounter.AnyActive) FlopCounter.Add(op, Conv2dFlops(weightShape, outputShape));
    }

    /// <summary>The multiply-add count ×2 of a convolution with weight [O, C/g, kH, kW] and output [N, O, OH, OW].</summary>
    public static long Conv2dFlops(int[] weightShape, int[] outputShape) =>
        2L * outputShape[0] * outputShape[1] * outputShape[2] * outputShape[3] * weightShape[1] * weightShape[2] * weightShape[3];

    /// <summary>Pooling (forward and average-pool backward): kH·kW FLOPs per output element of the forward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Pool(string op, int[] pooledShape, Pool2dParams p)
    {
        if (FlopCounter.AnyActive) FlopCounter.Add(op, (long)pooledShape[0] * pooledShape[1] * pooledShape[2] * pooledShape[3] * p.KernelH * p.KernelW);
    }

    /// <summary>A kernel whose cost is already known: <paramref name="flops"/> FLOPs under <paramref name="op"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Add(string op, long flops)
    {
        if (FlopCounter.AnyActive) FlopCounter.Add(op, flops);
    }

    /// <summary>
    /// Fused attention forward over query [B, H, Lq, D] and value [B, H, Lk, Dv]: per (query, key) pair the score
    /// (2·D), the softmax (4: scale, max, exp, sum) and the weighted value (2·Dv). Causal masking is not discounted.
    /// </summary>
    public static long AttentionForward(int[] q, int[] v) => (long)q[0] * q[1] * q[2] * v[2] * (2L * q[3] + 2L * v[3] + 4);

    /// <summary>
    /// Fused attention backward: per pair the recomputed score (2·D) and weight (3), dV (2·Dv), dP (2·Dv), dS (2), dQ
    /// (2·D + 1) and dK (2·D); per query row the rowsum of dO∘O (2·Dv).
    /// </summary>
    public static long AttentionBackward(int[] q, int[] v)
    {
        long rows = (long)q[0] * q[1] * q[2];
        return rows * v[2] * (6L * q[3] + 4L * v[3] + 6) + rows * 2L * v[3];
    }

    /// <summary>Fused cross-entropy forward over [N, C] logits: 4 per logit (max, subtract, exp, add) and 3 per row (log, subtract, the mean's add).</summary>
    public static long CrossEntropyForward(int[] logits) => (long)logits[0] * (4L * logits[1] + 3);

    /// <summary>Fused cross-entropy backward: 4 per logit (subtract, exp, subtract the one-hot, scale) and 1 per row (the scale).</summary>
    public static long CrossEntropyBackward(int[] logits) => (long)logits[0] * (4L * logits[1] + 1);

    static int Terms(in FusedGradientTerms t) =>
        (t.GradSign != 1 ? 1 : 0) + (t.L1 != 0 ? 2 : 0) + (t.L2Factor != 0 ? 2 : 0) + (t.CoupledDecay != 0 ? 2 : 0);

    /// <summary>
    /// Fused Adam per element: the first moment (3), second moment (4), denominator (3), step (2) and parameter
    /// update (2), plus 2 per active penalty term, 1 for a sign flip (maximize) and 1 for AMSGrad's maximum.
    /// </summary>
    public static long Adam(long elements, in FusedAdamParams p, bool amsgrad) =>
        elements * (14 + Terms(p.Terms) + (amsgrad ? 1 : 0));

    /// <summary>
    /// Fused SGD per element: the update w − lr·e (2), plus 2 per active penalty term, 1 for a sign flip, 3 for the
    /// momentum buffer (0 on its first step, which copies) and 2 for Nesterov.
    /// </summary>
    public static long Sgd(long elements, in FusedSgdParams p, bool hasBuffer) =>
        elements * (2 + Terms(p.Terms) + (hasBuffer && !p.InitializeBuffer ? 3 : 0) + (hasBuffer && p.Nesterov ? 2 : 0));
}
