namespace NeuralCore.Backends.Cpu.Kernels;

/// <summary>A unary elementwise op: a scalar definition plus an optional dense-span path.</summary>
internal interface IUnaryKernel<T> where T : unmanaged
{
    T Apply(T x);

    /// <summary>Computes a dense run with SIMD; returns false when only the scalar path exists.</summary>
    bool TrySpan(ReadOnlySpan<T> x, Span<T> destination);
}

/// <summary>A binary elementwise op from (T, T) to <typeparamref name="TResult"/>.</summary>
internal interface IBinaryKernel<T, TResult> where T : unmanaged where TResult : unmanaged
{
    TResult Apply(T x, T y);

    /// <summary>Dense x and y. Returns false when only the scalar path exists.</summary>
    bool TrySpan(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<TResult> destination);

    /// <summary>Dense x, scalar y.</summary>
    bool TrySpanScalar(ReadOnlySpan<T> x, T y, Span<TResult> destination);

    /// <summary>Scalar x, dense y.</summary>
    bool TryScalarSpan(T x, ReadOnlySpan<T> y, Span<TResult> destination);
}
