using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuralCore.Backends.Cpu;

/// <summary>
/// Row-major single/double precision GEMM: C = alpha * op(A) * op(B) + beta * C.
/// </summary>
/// <remarks>
/// Both entry points forward to one generic implementation (<see cref="GemmDriver{T, TVec, TOps}"/> +
/// <see cref="GemmMicroKernel"/>), instantiated for the widest vector ISA available at run time:
/// 512-bit (AVX-512: 8 x 32 float / 8 x 16 double tiles), 256-bit (AVX2 + FMA: 6 x 16 / 6 x 8) and
/// otherwise 128-bit (SSE/NEON or software: 6 x 8 / 6 x 4). The <c>Vector*.IsHardwareAccelerated</c> checks
/// are JIT-time constants, so the dispatch costs nothing.
/// </remarks>
internal static unsafe class CpuGemm
{
    [ThreadStatic]
    private static int t_maxVectorBits;

    /// <summary>
    /// Caps the vector width (in bits: 512, 256 or 128) of the kernels chosen for GEMMs started on the
    /// calling thread; 0 (the default) means no cap. Tests lower it to exercise the fallback kernels on wide
    /// hardware. Thread-static so that it cannot change the results of GEMMs other threads are running.
    /// </summary>
    internal static int MaxVectorBits
    {
        get => t_maxVectorBits;
        set => t_maxVectorBits = value;
    }

    /// <summary>
    /// Row-major: C[i*ldc + j] = alpha * sum_p opA[i,p]*opB[p,j] + beta * C[i*ldc + j], where
    /// opA[i,p] = transA ? a[p*lda + i] : a[i*lda + p] and opB[p,j] = transB ? b[j*ldb + p] : b[p*ldb + j].
    /// When k == 0 the result is beta*C; when beta == 0, C is not read (NaN in C does not leak).
    /// </summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
        => Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>Double precision counterpart of <see cref="Sgemm"/>; same layout and semantics.</summary>
    public static void Dgemm(bool transA, bool transB, int m, int n, int k, double alpha, double* a, int lda, double* b, int ldb, double beta, double* c, int ldc)
        => Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    private static void Gemm<T>(bool transA, bool transB, int m, int n, int k, T alpha, T* a, int lda, T* b, int ldb, T beta, T* c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (m == 0 || n == 0)
        {
            return;
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(ldc, n);
        if (k > 0)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(lda, transA ? m : k);
            ArgumentOutOfRangeException.ThrowIfLessThan(ldb, transB ? k : n);
        }

        int maxBits = t_maxVectorBits == 0 ? int.MaxValue : t_maxVectorBits;
        if (Vector512.IsHardwareAccelerated && maxBits >= 512)
        {
            GemmDriver<T, Vector512<T>, GemmSimd512<T>>.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }
        else if (Vector256.IsHardwareAccelerated && Fma.IsSupported && maxBits >= 256)
        {
            GemmDriver<T, Vector256<T>, GemmSimd256<T>>.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }
        else
        {
            GemmDriver<T, Vector128<T>, GemmSimd128<T>>.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }
    }
}
