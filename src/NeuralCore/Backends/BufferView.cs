namespace NeuralCore.Backends;

/// <summary>
/// A strided window onto a <see cref="Storage"/>: element (i0, i1, ...) lives at
/// <c>Offset + Σ ik·Strides[k]</c>. Strides may be 0 (broadcast) and need not be increasing.
/// Every backend kernel receives its operands in this form.
/// </summary>
public readonly struct BufferView
{
    /// <summary>Creates a view.</summary>
    public BufferView(Storage storage, int[] shape, int[] strides, int offset)
    {
        Storage = storage;
        Shape = shape;
        Strides = strides;
        Offset = offset;
    }

    /// <summary>The memory.</summary>
    public Storage Storage { get; }

    /// <summary>Sizes per dimension.</summary>
    public int[] Shape { get; }

    /// <summary>Element strides per dimension.</summary>
    public int[] Strides { get; }

    /// <summary>Element offset of the first element.</summary>
    public int Offset { get; }

    /// <summary>Element type.</summary>
    public DType DType => Storage.DType;

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>Total number of elements.</summary>
    public int Count => (int)ShapeMath.Product(Shape);

    /// <summary>True when elements are laid out densely in row-major order.</summary>
    public bool IsContiguous => ShapeMath.IsContiguous(Shape, Strides);

    /// <summary>A contiguous view over a whole storage, shaped <paramref name="shape"/>.</summary>
    public static BufferView Contiguous(Storage storage, int[] shape) => new(storage, shape, ShapeMath.ContiguousStrides(shape), 0);

    /// <summary>The same memory seen with another shape and strides (for broadcasting and kernels).</summary>
    public BufferView With(int[] shape, int[] strides) => new(Storage, shape, strides, Offset);
}

