using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NeuralCore.Backends.Cpu.Kernels;

/// <summary>
/// d = x &gt; 0 ? g : 0 (<see cref="BinaryOp.ReluBackward"/>; g is the incoming gradient, x the ReLU's input or
/// output), in one pass with no mask tensor.
/// </summary>
/// <remarks>
/// The vector path compares x with zero (false for NaN and for −0, as the scalar comparison) and ANDs the
/// all-ones/all-zeros lanes with g, which selects g bit for bit or gives +0 exactly as the scalar path does.
/// It uses the widest vector the CPU accelerates (512, 256 or 128 bits) and finishes the remainder with the
/// scalar definition. Elements are independent, so the output may alias g.
/// </remarks>
internal readonly struct ReluBackwardKernel<T> : IBinaryKernel<T, T> where T : unmanaged, INumber<T>
{
    public T Apply(T g, T x) => x > T.Zero ? g : T.Zero;

    public bool TrySpan(ReadOnlySpan<T> g, ReadOnlySpan<T> x, Span<T> d)
    {
        ref T gr = ref MemoryMarshal.GetReference(g);
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T dr = ref MemoryMarshal.GetReference(d);
        int n = d.Length, i = 0;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var mask = Vector512.GreaterThan(Vector512.LoadUnsafe(ref xr, (nuint)i), Vector512<T>.Zero);
                (mask & Vector512.LoadUnsafe(ref gr, (nuint)i)).StoreUnsafe(ref dr, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var mask = Vector256.GreaterThan(Vector256.LoadUnsafe(ref xr, (nuint)i), Vector256<T>.Zero);
                (mask & Vector256.LoadUnsafe(ref gr, (nuint)i)).StoreUnsafe(ref dr, (nuint)i);
            }
        }
        else if (Vector128.IsHardwareAccelerated && Vector128<T>.IsSupported)
        {
            for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
            {
                var mask = Vector128.GreaterThan(Vector128.LoadUnsafe(ref xr, (nuint)i), Vector128<T>.Zero);
                (mask & Vector128.LoadUnsafe(ref gr, (nuint)i)).StoreUnsafe(ref dr, (nuint)i);
            }
        }
        for (; i < n; i++) Unsafe.Add(ref dr, i) = Apply(Unsafe.Add(ref gr, i), Unsafe.Add(ref xr, i));
        return true;
    }

    public bool TrySpanScalar(ReadOnlySpan<T> g, T x, Span<T> d)
    {
        if (x > T.Zero) g.CopyTo(d);
        else d.Clear();
        return true;
    }

    public bool TryScalarSpan(T g, ReadOnlySpan<T> x, Span<T> d)
    {
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T dr = ref MemoryMarshal.GetReference(d);
        int n = d.Length, i = 0;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            var gv = Vector512.Create(g);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                (Vector512.GreaterThan(Vector512.LoadUnsafe(ref xr, (nuint)i), Vector512<T>.Zero) & gv).StoreUnsafe(ref dr, (nuint)i);
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            var gv = Vector256.Create(g);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                (Vector256.GreaterThan(Vector256.LoadUnsafe(ref xr, (nuint)i), Vector256<T>.Zero) & gv).StoreUnsafe(ref dr, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref dr, i) = Apply(g, Unsafe.Add(ref xr, i));
        return true;
    }
}
