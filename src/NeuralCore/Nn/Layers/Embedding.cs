using System.Globalization;

namespace NeuralCore.Nn;

/// <summary>
/// A lookup table of learned vectors, as <c>nn.Embedding</c>: index i maps to row i of <see cref="Weight"/>
/// (initialised from N(0, 1); the padding row, if any, starts at zero and receives no gradient).
/// Shape: indices (Int64 or Int32) [*] → [*, embeddingDim].
/// </summary>
public sealed class Embedding : Module
{
    /// <summary>Creates the table.</summary>
    /// <param name="numEmbeddings">Number of rows (the vocabulary size).</param>
    /// <param name="embeddingDim">Length of each vector.</param>
    /// <param name="paddingIdx">A row that starts at zero and is never updated by gradients (negative counts from the end).</param>
    /// <param name="maxNorm">When set, rows looked up with a larger L2 norm are rescaled to it in place.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, paddingIdx is out of range, or maxNorm is not positive.</exception>
    public Embedding(int numEmbeddings, int embeddingDim, long? paddingIdx = null, double? maxNorm = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numEmbeddings);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(embeddingDim);
        if (paddingIdx is long p && (p < -numEmbeddings || p >= numEmbeddings))
            throw new ArgumentOutOfRangeException(nameof(paddingIdx), $"Embedding: paddingIdx {p} is outside [{-numEmbeddings}, {numEmbeddings}).");
        if (maxNorm is double m && !(m > 0))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), $"Embedding: maxNorm must be positive, got {m}.");
        ShapeMath.RequireTensor("Embedding", [numEmbeddings, embeddingDim], DType.Float32, Device.Cpu, "the weight");
        NumEmbeddings = numEmbeddings;
        EmbeddingDim = embeddingDim;
        PaddingIdx = paddingIdx is long pi && pi < 0 ? pi + numEmbeddings : paddingIdx;
        MaxNorm = maxNorm;
        RegisterParameter("weight", Tensor.Zeros(numEmbeddings, embeddingDim));
        ResetParameters();
    }

    /// <summary>Number of rows.</summary>
    public int NumEmbeddings { get; }

    /// <summary>Length of each vector.</summary>
    public int EmbeddingDim { get; }

    /// <summary>The padding row (non-negative), or null.</summary>
    public long? PaddingIdx { get; }

    /// <summary>The norm bound of looked-up rows, or null.</summary>
    public double? MaxNorm { get; }

    /// <summary>The table [numEmbeddings, embeddingDim].</summary>
    public Tensor Weight => GetParameter("weight")!;

    /// <summary>Re-draws the table from N(0, 1) and zeroes the padding row.</summary>
    public void ResetParameters()
    {
        Init.Normal(Weight);
        if (PaddingIdx is long p)
            using (Tensor.NoGrad()) Weight.Select(0, p).Zero_();
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor x) => Functional.Embedding(x, Weight, PaddingIdx, MaxNorm);

    /// <inheritdoc />
    protected override string ExtraRepr() => string.Create(CultureInfo.InvariantCulture,
        $"numEmbeddings: {NumEmbeddings}, embeddingDim: {EmbeddingDim}")
        + (PaddingIdx is long p ? $", paddingIdx: {p}" : "")
        + (MaxNorm is double m ? string.Create(CultureInfo.InvariantCulture, $", maxNorm: {m}") : "");
}
