namespace NeuralCore.Vision;

/// <summary>The contents of an IDX file of unsigned bytes: its dimensions and its row-major data.</summary>
public sealed class IdxArray
{
    internal IdxArray(string filePath, int[] dims, byte[] data)
    {
        FilePath = filePath;
        Dims = dims;
        Data = data;
    }

    /// <summary>The file read.</summary>
    public string FilePath { get; }

    /// <summary>The dimension sizes, outermost first (for images [N, rows, columns]; for labels [N]).</summary>
    public IReadOnlyList<int> Dims { get; }

    /// <summary>The elements in row-major order; its length is the product of <see cref="Dims"/>.</summary>
    public byte[] Data { get; }
}
