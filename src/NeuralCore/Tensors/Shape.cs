using System.Collections;
using System.Text;
using NeuralCore.Backends;

namespace NeuralCore;

/// <summary>
/// The sizes of a tensor's dimensions. Immutable; <c>ToString()</c> prints <c>[3, 4]</c>.
/// </summary>
public readonly struct Shape : IReadOnlyList<long>, IEquatable<Shape>
{
    readonly int[]? dims;

    internal Shape(int[] dims) => this.dims = dims;

    /// <summary>Creates a shape from sizes.</summary>
    /// <exception cref="ArgumentException">A size is negative or exceeds what one tensor can hold.</exception>
    public Shape(params long[] sizes) => dims = ShapeMath.ToDims(sizes, "Shape");

    internal int[] Dims => dims ?? [];

    /// <summary>Size of dimension <paramref name="dim"/>; negative values count from the end.</summary>
    public long this[int dim] => Dims[ShapeMath.NormalizeDim(dim, Count, "Shape")];

    /// <summary>Number of dimensions.</summary>
    public int Count => Dims.Length;

    /// <summary>Total number of elements (1 for a 0-d shape).</summary>
    public long NumElements => ShapeMath.Product(Dims);

    /// <summary>The sizes as an array.</summary>
    public long[] ToArray()
    {
        var d = Dims;
        var r = new long[d.Length];
        for (int i = 0; i < d.Length; i++) r[i] = d[i];
        return r;
    }

    /// <inheritdoc />
    public IEnumerator<long> GetEnumerator()
    {
        foreach (var d in Dims) yield return d;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public bool Equals(Shape other) => Dims.AsSpan().SequenceEqual(other.Dims);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in Dims) h.Add(d);
        return h.ToHashCode();
    }

    /// <summary>Equality of sizes.</summary>
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);

    /// <summary>Inequality of sizes.</summary>
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);

    /// <summary>Prints like <c>[3, 4]</c>; a 0-d shape prints <c>[]</c>.</summary>
    public override string ToString() => ShapeMath.Format(Dims);
}

/// <summary>Shape and stride arithmetic shared by tensors and backends.</summary>
internal static class ShapeMath
{
    internal static int[] ToDims(ReadOnlySpan<long> sizes, string op)
    {
        var dims = new int[sizes.Length];
        long total = 1;
        for (int i = 0; i < sizes.Length; i++)
        {
            long s = sizes[i];
            if (s < 0) throw new ArgumentException($"{op}: negative size {s} in {Format(sizes)}.");
            if (s > int.MaxValue)
                throw new ArgumentException($"{op}: size {s} in {Format(sizes)} exceeds {int.MaxValue}, the limit per dimension and per tensor (TensorLimits.MaxElements).");
            dims[i] = (int)s;
            total = MulSaturating(total, s);
        }
        // A zero anywhere makes the tensor empty, whatever the other sizes multiply to.
        if (total > TensorLimits.MaxElements)
            throw new ArgumentException($"{op}: shape {Format(sizes)} has more than {TensorLimits.MaxElements} elements, the limit per tensor (TensorLimits.MaxElements).");
        return dims;
    }

    /// <summary>The element count of a shape whose sizes are already validated (every tensor's shape fits <see cref="TensorLimits.MaxElements"/>).</summary>
    internal static long Product(ReadOnlySpan<int> dims)
    {
        long p = 1;
        foreach (var d in dims) p *= d;
        return p;
    }

    /// <summary>
    /// The element count of a computed shape, in 64-bit and saturating at <see cref="long.MaxValue"/> instead of
    /// overflowing, so it can be compared with a limit; 0 when any size is 0. Sizes must be non-negative.
    /// </summary>
    internal static long CheckedProduct(ReadOnlySpan<int> dims)
    {
        long p = 1;
        foreach (var d in dims)
        {
            if (d == 0) return 0;
            p = MulSaturating(p, d);
        }
        return p;
    }

    /// <inheritdoc cref="CheckedProduct(ReadOnlySpan{int})"/>
    internal static long CheckedProduct(ReadOnlySpan<long> sizes)
    {
        long p = 1;
        foreach (var s in sizes)
        {
            if (s == 0) return 0;
            p = MulSaturating(p, s);
        }
        return p;
    }

    /// <summary>a · b for non-negative operands, saturating at <see cref="long.MaxValue"/>.</summary>
    internal static long MulSaturating(long a, long b) =>
        a == 0 || b == 0 ? 0 : a > long.MaxValue / b ? long.MaxValue : a * b;

    /// <summary>
    /// Checks that a shape an op is about to produce has at most <see cref="TensorLimits.MaxElements"/> elements
    /// and every size fits 32 bits; otherwise throws an <see cref="ArgumentException"/> naming
    /// <paramref name="op"/>, the shape, the limit and <paramref name="inputs"/> (a description of the operands).
    /// </summary>
    internal static void RequireElements(string op, ReadOnlySpan<long> shape, string inputs)
    {
        if (!FitsElements(shape)) throw TooManyElements(op, shape, inputs);
    }

    /// <summary>True when every size is in [0, int.MaxValue] and the element count is at most <see cref="TensorLimits.MaxElements"/>.</summary>
    internal static bool FitsElements(ReadOnlySpan<long> shape)
    {
        foreach (var s in shape) if (s < 0 || s > int.MaxValue) return false;
        return CheckedProduct(shape) <= TensorLimits.MaxElements;
    }

    /// <summary>True when the element count of <paramref name="dims"/> is at most <see cref="TensorLimits.MaxElements"/>.</summary>
    internal static bool FitsElements(ReadOnlySpan<int> dims)
    {
        foreach (var d in dims) if (d < 0) return false;
        return CheckedProduct(dims) <= TensorLimits.MaxElements;
    }

    /// <summary>The exception for a result shape over <see cref="TensorLimits.MaxElements"/>.</summary>
    internal static ArgumentException TooManyElements(string op, ReadOnlySpan<long> shape, string inputs)
    {
        long count = CheckedProduct(shape);
        string n = count == long.MaxValue ? "more than 2^63" : count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var s in shape)
            if (s > int.MaxValue)
                return new ArgumentException($"{op}: the result shape {Format(shape)} has a size above {int.MaxValue} "
                    + $"(the limit per dimension and per tensor, TensorLimits.MaxElements = {TensorLimits.MaxElements} elements); {inputs}.");
        return new ArgumentException($"{op}: the result shape {Format(shape)} would have {n} elements, more than the limit of "
            + $"{TensorLimits.MaxElements} elements per tensor (TensorLimits.MaxElements); {inputs}.");
    }

    /// <inheritdoc cref="TooManyElements(string, ReadOnlySpan{long}, string)"/>
    internal static ArgumentException TooManyElements(string op, ReadOnlySpan<int> dims, string inputs)
    {
        Span<long> wide = dims.Length <= 16 ? stackalloc long[dims.Length] : new long[dims.Length];
        for (int i = 0; i < dims.Length; i++) wide[i] = dims[i];
        return TooManyElements(op, wide, inputs);
    }

    /// <summary>
    /// Checks that a tensor of <paramref name="dims"/> and <paramref name="dtype"/> fits the element limit and
    /// what <paramref name="backend"/> can allocate (<see cref="IBackend.MaxAllocationBytes"/>), before
    /// anything is allocated. The one check every tensor allocation goes through.
    /// </summary>
    /// <exception cref="ArgumentException">Too many elements or bytes; the message names <paramref name="op"/>, the shape and the limit.</exception>
    internal static long RequireAllocation(string op, ReadOnlySpan<int> dims, DType dtype, IBackend backend)
    {
        if (!FitsElements(dims)) throw TooManyElements(op, dims, $"dtype {dtype}");
        long count = Product(dims);
        RequireBytes(op, count, dtype, backend, Format(dims));
        return count;
    }

    /// <summary>
    /// Checks that a tensor of <paramref name="shape"/> and <paramref name="dtype"/> could be created on
    /// <paramref name="device"/> (element and byte limits), with a message naming <paramref name="op"/> and
    /// <paramref name="what"/>; used by layers before they create their parameters.
    /// </summary>
    internal static void RequireTensor(string op, ReadOnlySpan<long> shape, DType dtype, Device device, string what)
    {
        RequireElements(op, shape, what);
        RequireBytes(op, CheckedProduct(shape), dtype, BackendRegistry.For(device), $"{what} {Format(shape)}");
    }

    /// <summary>
    /// Checks that <paramref name="count"/> elements of <paramref name="dtype"/> fit one allocation of
    /// <paramref name="backend"/>; <paramref name="what"/> describes the request (a shape, a workspace).
    /// </summary>
    internal static void RequireBytes(string op, long count, DType dtype, IBackend backend, string what)
    {
        long bytes = MulSaturating(count, dtype.SizeOf());
        if (bytes > backend.MaxAllocationBytes)
            throw new ArgumentException($"{op}: {what} of {dtype} needs {bytes} bytes, more than the {backend.MaxAllocationBytes} bytes "
                + $"one {backend.Name} allocation can hold (TensorLimits.MaxBytes({backend.Device})).");
    }

    /// <summary>
    /// Output length of a convolution along one axis, in 64-bit (every argument may be up to
    /// <see cref="int.MaxValue"/>): (size + 2·pad − dilation·(kernel − 1) − 1) / stride + 1, or 0 when the dilated
    /// kernel does not fit the padded input. <paramref name="stride"/> must be at least 1.
    /// </summary>
    internal static long ConvOutputSize(long size, long kernel, long stride, long pad, long dilation)
    {
        long span = size + 2 * pad - dilation * (kernel - 1) - 1;
        return span < 0 ? 0 : span / stride + 1;
    }

    /// <summary>
    /// Output length of a pooling along one axis, in 64-bit (PyTorch's pooling_output_shape): with ceil mode, a last
    /// window that would start in the right padding is dropped; 0 when the window does not fit.
    /// <paramref name="stride"/> must be at least 1.
    /// </summary>
    internal static long PoolOutputSize(long size, long kernel, long stride, long pad, bool ceil)
    {
        long span = size + 2 * pad - kernel;
        if (span < 0) return 0;
        long o = (ceil ? (span + stride - 1) / stride : span / stride) + 1;
        if (ceil && (o - 1) * stride >= size + pad) o--;
        return o;
    }

    /// <summary>A computed size as an int dimension, or an <see cref="ArgumentException"/> naming <paramref name="op"/> and <paramref name="what"/>.</summary>
    internal static int ToDim(long size, string op, string what)
    {
        if (size > int.MaxValue)
            throw new ArgumentException($"{op}: {what} {size} exceeds {int.MaxValue}, the limit per dimension and per tensor (TensorLimits.MaxElements).");
        return (int)size;
    }

    internal static int[] ContiguousStrides(ReadOnlySpan<int> dims)
    {
        if (dims.Length == 0) return [];
        var strides = new int[dims.Length];
        int s = 1;
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= Math.Max(dims[i], 1);
        }
        return strides;
    }

    static readonly int[][] zeroStrides = [.. Enumerable.Range(0, 9).Select(n => new int[n])];

    /// <summary>All-zero strides of length <paramref name="rank"/> (a 0-d value broadcast to any shape); shared, never mutate.</summary>
    internal static int[] ZeroStrides(int rank) => rank < zeroStrides.Length ? zeroStrides[rank] : new int[rank];

    /// <summary>True when <paramref name="strides"/> are exactly what <see cref="ContiguousStrides"/> gives for <paramref name="dims"/>.</summary>
    internal static bool IsRowMajor(ReadOnlySpan<int> dims, ReadOnlySpan<int> strides)
    {
        int s = 1;
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            if (strides[i] != s) return false;
            s *= Math.Max(dims[i], 1);
        }
        return true;
    }

    internal static bool IsContiguous(ReadOnlySpan<int> dims, ReadOnlySpan<int> strides)
    {
        int expected = 1;
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            if (dims[i] == 1) continue;
            if (dims[i] == 0) return true;
            if (strides[i] != expected) return false;
            expected *= dims[i];
        }
        return true;
    }

    internal static int NormalizeDim(int dim, int rank, string op)
    {
        int r = Math.Max(rank, 1);
        if (dim < -r || dim >= r)
            throw new ArgumentOutOfRangeException(nameof(dim), $"{op}: dimension {dim} is out of range for a tensor with {rank} dimension(s) (expected in [{-r}, {r - 1}]).");
        return dim < 0 ? dim + r : dim;
    }

    /// <summary>The broadcast shape of two shapes, as NumPy: align right, sizes equal or one of them 1.</summary>
    /// <remarks>When the result equals one of the inputs, that input's array is returned (shape arrays are never mutated).</remarks>
    /// <exception cref="ArgumentException">The shapes do not broadcast, or the result exceeds <see cref="TensorLimits.MaxElements"/>.</exception>
    internal static int[] Broadcast(int[] a, int[] b, string op)
    {
        var r = TryBroadcast(a, b, out int bad);
        if (r is null)
        {
            int n = Math.Max(a.Length, b.Length);
            int da = bad < n - a.Length ? 1 : a[bad - (n - a.Length)], db = bad < n - b.Length ? 1 : b[bad - (n - b.Length)];
            throw new ArgumentException($"{op}: shapes {Format(a)} and {Format(b)} cannot be broadcast together (dimension {bad}: {da} vs {db}).");
        }
        if (!ReferenceEquals(r, a) && !ReferenceEquals(r, b) && !FitsElements(r))
            throw TooManyElements(op, r, $"broadcasting {Format(a)} and {Format(b)}");
        return r;
    }

    /// <summary>The broadcast shape, or null with the first mismatching (aligned) dimension in <paramref name="badDim"/>; no limit check.</summary>
    internal static int[]? TryBroadcast(int[] a, int[] b, out int badDim)
    {
        badDim = -1;
        if (BroadcastsTo(b, a)) return a;
        if (BroadcastsTo(a, b)) return b;
        int n = Math.Max(a.Length, b.Length);
        var r = new int[n];
        for (int i = 0; i < n; i++)
        {
            int da = i < n - a.Length ? 1 : a[i - (n - a.Length)];
            int db = i < n - b.Length ? 1 : b[i - (n - b.Length)];
            if (da != db && da != 1 && db != 1)
            {
                badDim = i;
                return null;
            }
            r[i] = da == 1 ? db : da;
        }
        return r;
    }

    static bool BroadcastsTo(int[] from, int[] to)
    {
        if (ReferenceEquals(from, to)) return true;
        int lead = to.Length - from.Length;
        if (lead < 0) return false;
        for (int i = 0; i < from.Length; i++)
            if (from[i] != 1 && from[i] != to[lead + i]) return false;
        return true;
    }

    internal static string Format(ReadOnlySpan<int> dims)
    {
        Span<long> wide = dims.Length <= 16 ? stackalloc long[dims.Length] : new long[dims.Length];
        for (int i = 0; i < dims.Length; i++) wide[i] = dims[i];
        return Format(wide);
    }

    internal static string Format(ReadOnlySpan<long> dims)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < dims.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(dims[i]);
        }
        return sb.Append(']').ToString();
    }
}
