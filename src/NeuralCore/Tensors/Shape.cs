using System.Collections;
using System.Text;

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
            if (s > int.MaxValue) throw new ArgumentException($"{op}: size {s} in {Format(sizes)} exceeds {int.MaxValue}.");
            dims[i] = (int)s;
            total = s == 0 || total == 0 ? 0 : checked(total * s);
            if (total > int.MaxValue) throw new ArgumentException($"{op}: shape {Format(sizes)} has more than {int.MaxValue} elements.");
        }
        return dims;
    }

    internal static long Product(ReadOnlySpan<int> dims)
    {
        long p = 1;
        foreach (var d in dims) p *= d;
        return p;
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
    internal static int[] Broadcast(int[] a, int[] b, string op)
    {
        if (BroadcastsTo(b, a)) return a;
        if (BroadcastsTo(a, b)) return b;
        int n = Math.Max(a.Length, b.Length);
        var r = new int[n];
        for (int i = 0; i < n; i++)
        {
            int da = i < n - a.Length ? 1 : a[i - (n - a.Length)];
            int db = i < n - b.Length ? 1 : b[i - (n - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {Format(a)} and {Format(b)} cannot be broadcast together (dimension {i}: {da} vs {db}).");
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
