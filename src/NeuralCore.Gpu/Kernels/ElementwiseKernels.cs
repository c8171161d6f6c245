using ILGPU;

namespace NeuralCore.Gpu.Kernels;

/// <summary>
/// Elementwise kernels, one thread per output element, generic over element types and an op struct. Every
/// operand is a whole-buffer view plus its strides, so non-contiguous and broadcast (stride 0) operands are read
/// in place. After host-side coalescing a dense operand has rank 1 and consecutive threads touch consecutive
/// addresses (coalesced loads and stores).
/// </summary>
internal static class ElementwiseKernels
{
    /// <summary>d = fn(x): unary ops, dtype conversions and copies.</summary>
    public static void Map<TIn, TOut, TFn>(Index1D i, ArrayView<TIn> x, ArrayView<TOut> d, Shape8 shape, Strides8 sx, Strides8 sd, TFn fn)
        where TIn : unmanaged where TOut : unmanaged where TFn : struct, IMapFn<TIn, TOut>
    {
        var c = shape.Decompose(i);
        d[sd.At(c)] = fn.Apply(x[sx.At(c)]);
    }

    /// <summary>d = fn(x, y) with both operands broadcast to the output shape.</summary>
    public static void Binary<T, TOut, TFn>(Index1D i, ArrayView<T> x, ArrayView<T> y, ArrayView<TOut> d,
        Shape8 shape, Strides8 sx, Strides8 sy, Strides8 sd, TFn fn)
        where T : unmanaged where TOut : unmanaged where TFn : struct, IBinaryFn<T, TOut>
    {
        var c = shape.Decompose(i);
        d[sd.At(c)] = fn.Apply(x[sx.At(c)], y[sy.At(c)]);
    }

    /// <summary>d = cond ? x : y with a Bool (byte) condition.</summary>
    public static void Where<T>(Index1D i, ArrayView<byte> cond, ArrayView<T> x, ArrayView<T> y, ArrayView<T> d,
        Shape8 shape, Strides8 sc, Strides8 sx, Strides8 sy, Strides8 sd)
        where T : unmanaged
    {
        var c = shape.Decompose(i);
        d[sd.At(c)] = cond[sc.At(c)] != 0 ? x[sx.At(c)] : y[sy.At(c)];
    }

    /// <summary>d = value.</summary>
    public static void Fill<T>(Index1D i, ArrayView<T> d, Shape8 shape, Strides8 sd, T value) where T : unmanaged
    {
        d[sd.At(shape.Decompose(i))] = value;
    }
}
