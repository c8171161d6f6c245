namespace NeuralCore.Testing;

/// <summary>The memory layout a sample tensor is presented in; every non-contiguous layout is a view of a larger tensor.</summary>
public enum SampleLayout
{
    /// <summary>Dense row-major.</summary>
    Contiguous,
    /// <summary>The last two dimensions transposed (a view of the swapped shape).</summary>
    Transposed,
    /// <summary>Every dimension narrowed from a tensor two larger, starting at 1 (non-zero offset, gaps between rows).</summary>
    Narrowed,
    /// <summary>The first dimension larger than 1 expanded from size 1 (stride 0, repeated elements).</summary>
    Expanded,
    /// <summary>A rotation of the dimensions (the last dimension has the largest stride).</summary>
    Permuted,
}
