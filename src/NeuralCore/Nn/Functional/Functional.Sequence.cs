namespace NeuralCore.Nn;

// Building blocks of sequence models: embeddings, positions, RMSNorm and the GELU/SiLU activations. All are
// compositions of tensor ops, so they run on every device and take their gradients from the op rules.
public static partial class Functional
{
    /// <summary>
    /// GELU, as <c>F.gelu</c>: the exact form x·Φ(x) when <paramref name="approximate"/> is "none", or the tanh
    /// approximation 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) when it is "tanh".
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="approximate"/> is neither "none" nor "tanh".</exception>
    public static Tensor Gelu(Tensor x, string approximate)
    {
        ArgumentNullException.ThrowIfNull(x);
        return approximate switch
        {
            "none" => x.Gelu(),
            "tanh" => x * 0.5 * (1 + ((x + x.Square() * x * 0.044715) * Math.Sqrt(2 / Math.PI)).Tanh()),
            _ => throw new ArgumentException($"Gelu: approximate must be \"none\" or \"tanh\", got \"{approximate}\".", nameof(approximate)),
        };
    }

    /// <summary>SiLU (swish), as <c>F.silu</c>: x·sigmoid(x).</summary>
    public static Tensor Silu(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x * x.Sigmoid();
    }

    /// <summary>
    /// Root-mean-square normalisation, as <c>F.rms_norm</c>: x / √(mean(x²) + eps) over the trailing
    /// <c>normalizedShape.Length</c> dimensions, times <paramref name="weight"/> when given. With no
    /// <paramref name="eps"/> the machine epsilon of x's dtype is used, as PyTorch.
    /// Shape: x [*, normalizedShape]; the output has x's shape.
    /// </summary>
    /// <exception cref="ArgumentException">x's trailing dimensions are not normalizedShape, or the weight has another shape.</exception>
    public static Tensor RmsNorm(Tensor x, long[] normalizedShape, Tensor? weight = null, double? eps = null)
    {
        const string op = nameof(RmsNorm);
        CheckNormalizedShape(op, x, normalizedShape, weight);
        int k = normalizedShape.Length;
        double e = eps ?? (x.DType == DType.Float64 ? 2.220446049250313e-16 : 1.1920928955078125e-07);
        if (!(e >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"{op}: eps must be non-negative, got {e}.");
        var dims = Enumerable.Range(x.Dim - k, k).ToArray();
        var y = x * (x.Square().Mean(dims, keepDim: true) + e).Rsqrt();
        return weight is null ? y : y * weight;
    }

    /// <summary>
    /// Looks up rows of an embedding table, as <c>F.embedding</c>: out[..., :] = weight[input[...], :].
    /// Positions holding <paramref name="paddingIdx"/> pass no gradient to the table. With <paramref name="maxNorm"/>,
    /// the rows referenced by <paramref name="input"/> whose L2 norm exceeds it are first rescaled in place to norm
    /// maxNorm (no gradient recorded), as PyTorch does. The table's gradient is dense.
    /// Shape: input (Int64 or Int32) [*]; weight [V, E]; the output is [*, E].
    /// </summary>
    /// <exception cref="ArgumentException">The index is not an integer tensor, the table is not 2-d, or an index is outside [0, V).</exception>
    /// <exception cref="ArgumentOutOfRangeException">paddingIdx is outside [−V, V), or maxNorm is not positive.</exception>
    public static Tensor Embedding(Tensor input, Tensor weight, long? paddingIdx = null, double? maxNorm = null)
    {
        const string op = nameof(Embedding);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        if (input.DType is not (DType.Int64 or DType.Int32))
            throw new ArgumentException($"{op}: input must hold indices (Int64 or Int32), got {input.DType}.");
        if (weight.Dim != 2) throw new ArgumentException($"{op}: weight must be [numEmbeddings, embeddingDim], got {weight.Shape}.");
        long v = weight.Shape[0];
        long? pad = paddingIdx is long p ? CheckPaddingIdx(p, v, op) : null;
        var flat = input.Flatten();
        if (maxNorm is double mn)
        {
            if (!(mn > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), $"{op}: maxNorm must be positive, got {mn}.");
            Renorm(weight, flat, mn, op);
        }
        var rows = weight.IndexSelect(0, flat);
        if (pad is long pi && weight.RequiresGrad)
        {
            var isPad = flat.Eq(pi).Unsqueeze(1);
            rows = Tensor.Where(isPad, rows.Detach(), rows);
        }
        return rows.Reshape([.. input.Shape.ToArray(), weight.Shape[1]]);
    }

    static long CheckPaddingIdx(long paddingIdx, long numEmbeddings, string op)
    {
        if (paddingIdx < -numEmbeddings || paddingIdx >= numEmbeddings)
            throw new ArgumentOutOfRangeException(nameof(paddingIdx), $"{op}: paddingIdx {paddingIdx} is outside [{-numEmbeddings}, {numEmbeddings}).");
        return paddingIdx < 0 ? paddingIdx + numEmbeddings : paddingIdx;
    }

    // Rescales, in place and without a graph, the referenced rows whose norm exceeds maxNorm (each row once).
    static void Renorm(Tensor weight, Tensor flatIndex, double maxNorm, string op)
    {
        long v = weight.Shape[0];
        var seen = new SortedSet<long>();
        foreach (long i in flatIndex.To(DType.Int64).ToArray<long>())
        {
            if (i < 0 || i >= v) throw new ArgumentException($"{op}: index {i} is out of range for {v} embeddings.");
            seen.Add(i);
        }
        if (seen.Count == 0) return;
        using (Tensor.NoGrad())
        {
            var unique = Tensor.FromArray(seen.ToArray(), seen.Count).To(weight.Device);
            var norms = weight.IndexSelect(0, unique).To(DType.Float64).Square().Sum(1).Sqrt().ToArray<double>();
            int j = 0;
            foreach (long i in seen)
            {
                // PyTorch's renorm: rows over the bound are scaled by maxNorm / (norm + 1e-7); the others are untouched.
                if (norms[j] > maxNorm) weight.Select(0, i).Mul_(maxNorm / (norms[j] + 1e-7));
                j++;
            }
        }
    }

    /// <summary>
    /// The sinusoidal position table of "Attention Is All You Need": pe[p, 2i] = sin(p / 10000^(2i/d)),
    /// pe[p, 2i + 1] = cos(p / 10000^(2i/d)), for positions <paramref name="start"/> to start + length − 1.
    /// Shape: [length, dim] (Float32).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">length, start or dim is negative, or dim is odd.</exception>
    public static Tensor SinusoidalPositions(long length, int dim, long start = 0, Device? device = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        if (dim < 0 || dim % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(dim), $"SinusoidalPositions: dim must be even and non-negative, got {dim}.");
        var angles = Angles(start, length, dim, 10000);
        // Interleave sin and cos: [L, d/2, 2] viewed as [L, d]; computed in Float64, stored as Float32.
        var pe = Tensor.Stack([angles.Sin(), angles.Cos()], 2).Reshape(length, dim).To(DType.Float32);
        return device is Device d && d != pe.Device ? pe.To(d) : pe;
    }

    // angle[p, i] = p / base^(2i/d) for positions start..start+length−1 and i < d/2, as Float64.
    static Tensor Angles(long start, long length, int dim, double theta)
    {
        int half = dim / 2;
        var freq = new double[half];
        for (int i = 0; i < half; i++) freq[i] = Math.Pow(theta, -2.0 * i / dim);
        var data = new double[checked(length * half)];
        for (long p = 0; p < length; p++)
            for (int i = 0; i < half; i++) data[p * half + i] = (start + p) * freq[i];
        return Tensor.FromArray(data, length, half);
    }

    /// <summary>
    /// Rotary position embedding (RoPE) in the rotate-half layout of GPT-NeoX and Llama: for x [..., L, D] with D even,
    /// the pairs (x[..., i], x[..., i + D/2]) at position p = <paramref name="start"/> + t are rotated by the angle
    /// p·θ^(−2i/D). Applied to queries and keys, it makes their dot products depend on relative positions only.
    /// </summary>
    /// <exception cref="ArgumentException">x has fewer than 2 dimensions or an odd last dimension.</exception>
    public static Tensor ApplyRotaryEmbedding(Tensor x, long start = 0, double theta = 10000)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Dim < 2 || x.Shape[^1] % 2 != 0)
            throw new ArgumentException($"ApplyRotaryEmbedding: input must be [..., L, D] with D even, got {x.Shape}.");
        if (!x.DType.IsFloatingPoint()) throw new ArgumentException($"ApplyRotaryEmbedding: input must be floating point, got {x.DType}.");
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        if (!(theta > 0)) throw new ArgumentOutOfRangeException(nameof(theta), $"ApplyRotaryEmbedding: theta must be positive, got {theta}.");
        long len = x.Shape[^2];
        int d = (int)x.Shape[^1], half = d / 2;
        var angles = Angles(start, len, d, theta);
        Tensor cos = angles.Cos().To(x.DType).To(x.Device), sin = angles.Sin().To(x.DType).To(x.Device);
        var x1 = x.Narrow(-1, 0, half);
        var x2 = x.Narrow(-1, half, half);
        return Tensor.Cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1);
    }
}
