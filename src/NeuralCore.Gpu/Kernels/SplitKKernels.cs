using ILGPU;

namespace NeuralCore.Gpu.Kernels;

/// <summary>
/// The summing pass of a split-K GEMM: S partial C matrices, dense [S, batch, M, N] (slice stride
/// <see cref="SliceStride"/> = batch·M·N), summed into the strided C.
/// </summary>
internal struct SliceSum
{
    public int M, N, Slices, SliceStride, Accumulate;
    public int COffset, CBatch, CRow, CCol;
}

/// <summary>
/// Second pass of split-K (<see cref="GemmArgs"/>): each thread sums one output's partials in slice order 0, 1, …,
/// S − 1 and stores (or adds) the total into C. The order is fixed, so results do not depend on scheduling
/// (no atomics); adjacent threads read adjacent partials.
/// </summary>
internal static class SplitKKernels
{
    /// <summary>C[b, i, j] (+)= Σ_s parts[s, b, i, j], for i the flat index (b, i, j) of the dense partials.</summary>
    public static void SumSlices<T, N>(Index1D i, ArrayView<T> parts, ArrayView<T> c, SliceSum p)
        where T : unmanaged where N : struct, INumeric<T>
    {
        var n = default(N);
        T sum = parts[i];
        for (int s = 1; s < p.Slices; s++)
            sum = n.Add(sum, parts[i + s * p.SliceStride]);
        int col = i % p.N, t = i / p.N;
        int row = t % p.M, batch = t / p.M;
        int at = p.COffset + batch * p.CBatch + row * p.CRow + col * p.CCol;
        c[at] = p.Accumulate != 0 ? n.Add(c[at], sum) : sum;
    }
}
