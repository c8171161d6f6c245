namespace NeuralCore;

/// <summary>
/// One entry of a tensor indexer: an integer (selects and removes a dimension) or a C# range (narrows it).
/// Built implicitly: <c>t[1.., 2]</c>, <c>t[^1]</c>, <c>t[.., 0..3]</c>.
/// </summary>
public readonly struct TensorIndex
{
    readonly Index index;
    readonly Range range;

    TensorIndex(Index index, Range range, bool isRange)
    {
        this.index = index;
        this.range = range;
        IsRange = isRange;
    }

    /// <summary>True for a range, false for a single index.</summary>
    public bool IsRange { get; }

    /// <summary>A single index from the start.</summary>
    public static implicit operator TensorIndex(int index) => FromLong(index);

    /// <summary>A single index from the start (negative counts from the end, as in PyTorch).</summary>
    public static implicit operator TensorIndex(long index) => FromLong(index);

    /// <summary>A single index, possibly from the end (<c>^1</c>).</summary>
    public static implicit operator TensorIndex(Index index) => new(index, default, false);

    /// <summary>A range of indices.</summary>
    public static implicit operator TensorIndex(Range range) => new(default, range, true);

    static TensorIndex FromLong(long i)
    {
        if (i > int.MaxValue || i < -(long)int.MaxValue) throw new ArgumentOutOfRangeException(nameof(i), $"Index {i} is out of range.");
        return new(i < 0 ? Index.FromEnd((int)-i) : Index.FromStart((int)i), default, false);
    }

    internal Tensor Apply(Tensor t, ref int dim)
    {
        if (dim >= t.Dim)
            throw new ArgumentException($"Indexer: too many indices for a tensor of shape {t.Shape}.");
        int size = (int)t.Shape[dim];
        if (IsRange)
        {
            int start = range.Start.GetOffset(size), end = range.End.GetOffset(size);
            if (start < 0 || end > size || start > end)
                throw new ArgumentOutOfRangeException(nameof(range), $"Indexer: range {range} is out of bounds for dimension {dim} of size {size} (shape {t.Shape}).");
            return t.Narrow(dim++, start, end - start);
        }
        int at = index.GetOffset(size);
        if (at < 0 || at >= size)
            throw new ArgumentOutOfRangeException(nameof(index), $"Indexer: index {index} is out of range for dimension {dim} of size {size} (shape {t.Shape}).");
        return t.Select(dim, at);
    }
}
