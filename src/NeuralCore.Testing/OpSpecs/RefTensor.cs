namespace NeuralCore.Testing;

/// <summary>
/// A deliberately simple row-major array of doubles with a shape and a dtype, for writing reference
/// implementations as plain loops that are obviously correct. It has no views and no SIMD: every helper walks
/// multi-indices one element at a time. Integer and Bool values are stored as exact doubles.
/// </summary>
public sealed class RefTensor
{
    /// <summary>Creates a reference tensor; <paramref name="data"/> is row-major and must match the shape.</summary>
    /// <exception cref="ArgumentException">The data length differs from the shape's element count.</exception>
    public RefTensor(double[] data, int[] shape, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        if (data.Length != Count(shape))
            throw new ArgumentException($"RefTensor: {data.Length} values do not fill shape [{string.Join(", ", shape)}].");
        Data = data;
        Shape = shape;
        DType = dtype;
    }

    /// <summary>The elements in row-major order.</summary>
    public double[] Data { get; }

    /// <summary>The sizes of the dimensions.</summary>
    public int[] Shape { get; }

    /// <summary>The dtype the result should have (PyTorch's rule for the op).</summary>
    public DType DType { get; }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>Number of elements.</summary>
    public int NumElements => Data.Length;

    /// <summary>Reads a tensor's elements (in logical row-major order, whatever its strides) into a reference tensor.</summary>
    public static RefTensor FromTensor(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var shape = Array.ConvertAll(tensor.Shape.ToArray(), s => (int)s);
        return new RefTensor(tensor.ToArray<double>(), shape, tensor.DType);
    }

    /// <summary>A tensor whose element at each multi-index is <paramref name="value"/>(index).</summary>
    public static RefTensor Generate(int[] shape, DType dtype, Func<int[], double> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var data = new double[Count(shape)];
        for (int i = 0; i < data.Length; i++) data[i] = value(Unravel(i, shape));
        return new RefTensor(data, shape, dtype);
    }

    /// <summary>A 0-d tensor holding <paramref name="value"/>.</summary>
    public static RefTensor Scalar(double value, DType dtype) => new([value], [], dtype);

    /// <summary>Product of the sizes (1 for a 0-d shape).</summary>
    public static int Count(int[] shape)
    {
        int n = 1;
        foreach (var s in shape) n *= s;
        return n;
    }

    /// <summary>The multi-index of row-major position <paramref name="flat"/> in <paramref name="shape"/>.</summary>
    public static int[] Unravel(int flat, int[] shape)
    {
        var index = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            index[d] = flat % shape[d];
            flat /= shape[d];
        }
        return index;
    }

    /// <summary>The row-major position of <paramref name="index"/> in <paramref name="shape"/>.</summary>
    public static int Ravel(int[] index, int[] shape)
    {
        int flat = 0;
        for (int d = 0; d < shape.Length; d++) flat = flat * shape[d] + index[d];
        return flat;
    }

    /// <summary>The element at a multi-index.</summary>
    public double this[params int[] index] => Data[Ravel(index, Shape)];

    /// <summary>
    /// The element this tensor contributes at <paramref name="outIndex"/> of a broadcast result: leading
    /// result dimensions are dropped and dimensions of size 1 read index 0 (NumPy broadcasting).
    /// </summary>
    public double AtBroadcast(int[] outIndex)
    {
        int lead = outIndex.Length - Rank;
        var index = new int[Rank];
        for (int d = 0; d < Rank; d++) index[d] = Shape[d] == 1 ? 0 : outIndex[lead + d];
        return this[index];
    }

    /// <summary>The broadcast shape of several shapes, as NumPy/PyTorch define it.</summary>
    /// <exception cref="ArgumentException">The shapes do not broadcast.</exception>
    public static int[] BroadcastShape(params int[][] shapes)
    {
        int rank = shapes.Max(s => s.Length);
        var result = new int[rank];
        for (int d = 0; d < rank; d++)
        {
            int size = 1;
            foreach (var s in shapes)
            {
                int k = d - (rank - s.Length);
                if (k < 0 || s[k] == 1) continue;
                if (size != 1 && size != s[k]) throw new ArgumentException("RefTensor: shapes do not broadcast.");
                size = s[k];
            }
            result[d] = size;
        }
        return result;
    }

    /// <summary>Applies <paramref name="f"/> to every element; the result has <paramref name="dtype"/> (values rounded to it).</summary>
    public RefTensor Map(Func<double, double> f, DType dtype) =>
        new RefTensor(Array.ConvertAll(Data, v => f(v)), Shape, dtype).RoundTo(dtype);

    /// <summary>Applies <paramref name="f"/> pairwise with broadcasting; the result has <paramref name="dtype"/>.</summary>
    public static RefTensor Zip(RefTensor a, RefTensor b, Func<double, double, double> f, DType dtype)
    {
        var shape = BroadcastShape(a.Shape, b.Shape);
        return Generate(shape, dtype, i => f(a.AtBroadcast(i), b.AtBroadcast(i))).RoundTo(dtype);
    }

    /// <summary>
    /// Reduces over <paramref name="dims"/> (all dimensions when null; negative dims count from the end):
    /// <paramref name="f"/> receives the reduced elements of each output position in row-major order.
    /// </summary>
    public RefTensor Reduce(int[]? dims, bool keepDim, Func<List<double>, double> f, DType dtype)
    {
        var reduced = new bool[Rank];
        if (dims is null) Array.Fill(reduced, true);
        else if (Rank > 0) foreach (var d in dims) reduced[d < 0 ? d + Rank : d] = true;
        var outShape = new List<int>();
        for (int d = 0; d < Rank; d++)
            if (!reduced[d]) outShape.Add(Shape[d]);
            else if (keepDim) outShape.Add(1);
        var shape = outShape.ToArray();
        var groups = new List<double>[Count(shape)];
        for (int g = 0; g < groups.Length; g++) groups[g] = [];
        for (int i = 0; i < NumElements; i++)
        {
            var index = Unravel(i, Shape);
            var outIndex = new List<int>();
            for (int d = 0; d < Rank; d++)
                if (!reduced[d]) outIndex.Add(index[d]);
                else if (keepDim) outIndex.Add(0);
            groups[Ravel(outIndex.ToArray(), shape)].Add(Data[i]);
        }
        return new RefTensor(Array.ConvertAll(groups, g => f(g)), shape, dtype).RoundTo(dtype);
    }

    /// <summary>
    /// Converts every element to <paramref name="dtype"/> as a cast does: floating to integer truncates toward
    /// zero, integers wrap to their width (two's complement), anything non-zero becomes Bool true.
    /// </summary>
    public RefTensor Cast(DType dtype) => new(Array.ConvertAll(Data, v => CastValue(v, dtype)), Shape, dtype);

    /// <summary>One value converted as <see cref="Cast"/> does.</summary>
    public static double CastValue(double v, DType dtype) => dtype switch
    {
        DType.Bool => v != 0 ? 1 : 0,
        DType.UInt8 => (byte)(long)Math.Truncate(v),
        DType.Int32 => (int)(long)Math.Truncate(v),
        DType.Int64 => (long)Math.Truncate(v),
        DType.Float32 => (float)v,
        _ => v,
    };

    // Integer results of exact arithmetic wrap like the hardware does; floating results stay unrounded so the
    // comparison's tolerance, not an extra rounding here, decides.
    RefTensor RoundTo(DType dtype) => dtype.IsFloatingPoint() ? this : Cast(dtype);

    /// <summary>The same elements with another shape (row-major order kept).</summary>
    public RefTensor Reshape(int[] shape) => new(Data, shape, DType);
}
