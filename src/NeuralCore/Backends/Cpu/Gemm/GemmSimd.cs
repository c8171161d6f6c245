using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NeuralCore.Backends.Cpu;

/// <summary>
/// The handful of vector operations the GEMM micro-kernel needs, abstracted over vector width so that a
/// single kernel/driver implementation (<see cref="GemmMicroKernel"/>, <see cref="GemmDriver{T, TVec, TOps}"/>)
/// serves float and double at 512, 256 and 128 bits. Implementations are structs with static abstract
/// members, so the JIT specialises and inlines every call: the generated loop is the same as hand-written
/// <c>Vector512&lt;float&gt;</c> code.
/// </summary>
/// <typeparam name="T">Element type (float or double).</typeparam>
/// <typeparam name="TVec">Vector type holding <see cref="Lanes"/> elements.</typeparam>
internal unsafe interface IGemmSimd<T, TVec>
    where T : unmanaged
    where TVec : unmanaged
{
    /// <summary>Elements per vector. The micro-tile is <see cref="Rows"/> x (2 * Lanes).</summary>
    static abstract int Lanes { get; }

    /// <summary>
    /// Micro-tile height MR (at most <see cref="GemmMicroKernel.MaxRows"/>). The 2*MR accumulators + 2 B
    /// vectors + 1 broadcast must fit in the architectural register file: AVX-512 has 32 registers
    /// (MR = 8: 16 + 3 = 19), AVX2/SSE have 16 (MR = 6: 12 + 3 = 15).
    /// </summary>
    static abstract int Rows { get; }

    static abstract TVec Zero { get; }

    static abstract TVec Load(T* source);

    static abstract void Store(T* destination, TVec value);

    static abstract TVec Broadcast(T value);

    static abstract TVec Multiply(TVec left, TVec right);

    /// <summary>a * b + c with a single rounding (IEEE fusedMultiplyAdd), like <c>T.FusedMultiplyAdd</c>.</summary>
    static abstract TVec FusedMultiplyAdd(TVec a, TVec b, TVec c);
}

/// <summary>AVX-512 (or any 512-bit accelerated) implementation.</summary>
internal readonly unsafe struct GemmSimd512<T> : IGemmSimd<T, Vector512<T>>
    where T : unmanaged
{
    public static int Lanes => Vector512<T>.Count;

    public static int Rows => 8;

    public static Vector512<T> Zero => Vector512<T>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Load(T* source) => Vector512.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(T* destination, Vector512<T> value) => value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Broadcast(T value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Multiply(Vector512<T> left, Vector512<T> right) => left * right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> FusedMultiplyAdd(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        // typeof(T) checks are JIT-time constants for value types; only one branch survives.
        if (typeof(T) == typeof(float))
        {
            return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        }

        if (typeof(T) == typeof(double))
        {
            return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        }

        throw new NotSupportedException();
    }
}

/// <summary>AVX2+FMA implementation (16 registers, hence MR = 6).</summary>
internal readonly unsafe struct GemmSimd256<T> : IGemmSimd<T, Vector256<T>>
    where T : unmanaged
{
    public static int Lanes => Vector256<T>.Count;

    public static int Rows => 6;

    public static Vector256<T> Zero => Vector256<T>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Load(T* source) => Vector256.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(T* destination, Vector256<T> value) => value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Broadcast(T value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Multiply(Vector256<T> left, Vector256<T> right) => left * right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> FusedMultiplyAdd(Vector256<T> a, Vector256<T> b, Vector256<T> c)
    {
        if (typeof(T) == typeof(float))
        {
            return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        }

        if (typeof(T) == typeof(double))
        {
            return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        }

        throw new NotSupportedException();
    }
}

/// <summary>
/// Portable 128-bit implementation: SSE/NEON where accelerated, otherwise the runtime's software fallback
/// (still exact: <c>Vector128.FusedMultiplyAdd</c> is always a true fused operation).
/// </summary>
internal readonly unsafe struct GemmSimd128<T> : IGemmSimd<T, Vector128<T>>
    where T : unmanaged
{
    public static int Lanes => Vector128<T>.Count;

    public static int Rows => 6;

    public static Vector128<T> Zero => Vector128<T>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Load(T* source) => Vector128.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(T* destination, Vector128<T> value) => value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Broadcast(T value) => Vector128.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Multiply(Vector128<T> left, Vector128<T> right) => left * right;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> FusedMultiplyAdd(Vector128<T> a, Vector128<T> b, Vector128<T> c)
    {
        if (typeof(T) == typeof(float))
        {
            return Vector128.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        }

        if (typeof(T) == typeof(double))
        {
            return Vector128.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        }

        throw new NotSupportedException();
    }
}
