using System.Globalization;

namespace NeuralCore.Nn;

/// <summary>
/// Learned absolute positions: adds row p of <see cref="Weight"/> [maxLength, embeddingDim] (initialised from
/// N(0, 0.02²), as GPT-2) to the vector at position p. Shape: [*, L, embeddingDim] → the same, L ≤ maxLength.
/// </summary>
public sealed class LearnedPositionalEmbedding : Module
{
    /// <summary>Creates the table.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public LearnedPositionalEmbedding(int maxLength, int embeddingDim)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(embeddingDim);
        ShapeMath.RequireTensor(nameof(LearnedPositionalEmbedding), [maxLength, embeddingDim], DType.Float32, Device.Cpu, "the weight");
        MaxLength = maxLength;
        EmbeddingDim = embeddingDim;
        RegisterParameter("weight", Tensor.Zeros(maxLength, embeddingDim));
        ResetParameters();
    }

    /// <summary>The longest sequence it can encode.</summary>
    public int MaxLength { get; }

    /// <summary>Length of each vector.</summary>
    public int EmbeddingDim { get; }

    /// <summary>The table [maxLength, embeddingDim].</summary>
    public Tensor Weight => GetParameter("weight")!;

    /// <summary>Re-draws the table from N(0, 0.02²).</summary>
    public void ResetParameters() => Init.Normal(Weight, 0, 0.02);

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Forward(x, 0);

    /// <summary>Adds the positions start .. start + L − 1 (for a continuation after <paramref name="start"/> cached tokens).</summary>
    /// <exception cref="ArgumentException">x is not [*, L, embeddingDim], or start + L exceeds maxLength.</exception>
    public Tensor Forward(Tensor x, long start)
    {
        long len = PositionalChecks.Length(x, EmbeddingDim, start, MaxLength, nameof(LearnedPositionalEmbedding));
        return x + Weight.Narrow(0, start, len);
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => $"maxLength: {MaxLength}, embeddingDim: {EmbeddingDim}";
}

/// <summary>
/// Fixed sinusoidal positions of "Attention Is All You Need" (see <see cref="Functional.SinusoidalPositions"/>), added
/// to the input; the table is a non-persistent buffer, so it is not saved. Shape: [*, L, embeddingDim] → the same.
/// </summary>
public sealed class SinusoidalPositionalEncoding : Module
{
    /// <summary>Creates the encoding for sequences of up to <paramref name="maxLength"/> positions.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive or embeddingDim is odd.</exception>
    public SinusoidalPositionalEncoding(int embeddingDim, int maxLength = 5000)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        if (embeddingDim <= 0 || embeddingDim % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(embeddingDim), $"SinusoidalPositionalEncoding: embeddingDim must be even and positive, got {embeddingDim}.");
        ShapeMath.RequireTensor(nameof(SinusoidalPositionalEncoding), [maxLength, embeddingDim], DType.Float32, Device.Cpu, "the table");
        EmbeddingDim = embeddingDim;
        MaxLength = maxLength;
        RegisterBuffer("pe", Functional.SinusoidalPositions(maxLength, embeddingDim), persistent: false);
    }

    /// <summary>The longest sequence it can encode.</summary>
    public int MaxLength { get; }

    /// <summary>Length of each vector.</summary>
    public int EmbeddingDim { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Forward(x, 0);

    /// <summary>Adds the positions start .. start + L − 1.</summary>
    /// <exception cref="ArgumentException">x is not [*, L, embeddingDim], or start + L exceeds maxLength.</exception>
    public Tensor Forward(Tensor x, long start)
    {
        long len = PositionalChecks.Length(x, EmbeddingDim, start, MaxLength, nameof(SinusoidalPositionalEncoding));
        var pe = GetBuffer("pe")!.Narrow(0, start, len);
        return x + (pe.DType == x.DType ? pe : pe.To(x.DType));
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => $"embeddingDim: {EmbeddingDim}, maxLength: {MaxLength}";
}

/// <summary>
/// Rotary position embedding (RoPE) as a module without parameters: rotates pairs of features of queries and keys
/// by position-dependent angles (see <see cref="Functional.ApplyRotaryEmbedding"/>). Shape: [..., L, dim] → the same.
/// </summary>
public sealed class RotaryEmbedding : Module
{
    /// <summary>Creates the embedding for head size <paramref name="dim"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">dim is not even and positive, or theta is not positive.</exception>
    public RotaryEmbedding(int dim, double theta = 10000)
    {
        if (dim <= 0 || dim % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(dim), $"RotaryEmbedding: dim must be even and positive, got {dim}.");
        if (!(theta > 0) || double.IsInfinity(theta))
            throw new ArgumentOutOfRangeException(nameof(theta), $"RotaryEmbedding: theta must be positive and finite, got {theta}.");
        Dim = dim;
        Theta = theta;
    }

    /// <summary>The feature size rotated (the head size).</summary>
    public int Dim { get; }

    /// <summary>The base of the angle frequencies.</summary>
    public double Theta { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Forward(x, 0);

    /// <summary>Rotates x [..., L, dim] as positions start .. start + L − 1.</summary>
    /// <exception cref="ArgumentException">x's last dimension is not dim.</exception>
    public Tensor Forward(Tensor x, long start)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Dim < 2 || x.Shape[^1] != Dim)
            throw new ArgumentException($"RotaryEmbedding: input must be [..., L, {Dim}], got {x.Shape}.");
        return Functional.ApplyRotaryEmbedding(x, start, Theta);
    }

    /// <inheritdoc />
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture, $"dim: {Dim}, theta: {Theta}");
}

/// <summary>Shape checks shared by the positional layers.</summary>
internal static class PositionalChecks
{
    /// <summary>Returns L for x [*, L, dim] after checking start + L ≤ maxLength.</summary>
    public static long Length(Tensor x, int dim, long start, int maxLength, string op)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Dim < 2 || x.Shape[^1] != dim)
            throw new ArgumentException($"{op}: input must be [*, L, {dim}], got {x.Shape}.");
        long len = x.Shape[^2];
        if (start < 0 || start + len > maxLength)
            throw new ArgumentException($"{op}: positions {start} to {start + len - 1} exceed maxLength {maxLength}.");
        return len;
    }
}
