using System.Numerics;

namespace NeuralCore.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc />
    public void MatMul(BufferView x, BufferView y, BufferView destination)
    {
        switch (x.DType)
        {
            case DType.Float32: MatMulFloat<float>(x, y, destination); break;
            case DType.Float64: MatMulFloat<double>(x, y, destination); break;
            case DType.Int32: MatMulNaive<int>(x, y, destination); break;
            case DType.Int64: MatMulNaive<long>(x, y, destination); break;
            case DType.UInt8: MatMulNaive<byte>(x, y, destination); break;
            default: throw new ArgumentException("MatMul: not defined for Bool tensors.");
        }
    }

    // A [M, K] operand can feed GEMM without a copy when one of its two strides is 1: row-major (ld = row
    // stride) or column-major, i.e. a transposed view (ld = column stride). Anything else is copied once.
    static bool GemmLayout(int rows, int cols, int rowStride, int colStride, out bool transposed, out int ld)
    {
        if (cols == 1 || colStride == 1)
        {
            transposed = false;
            ld = rows == 1 ? Math.Max(cols, 1) : rowStride;
            return ld >= cols;
        }
        if (rows == 1 || rowStride == 1)
        {
            transposed = true;
            ld = colStride;
            return ld >= rows;
        }
        transposed = false;
        ld = 0;
        return false;
    }

    void MatMulFloat<T>(BufferView x, BufferView y, BufferView d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int batch = d.Shape[0], m = d.Shape[1], n = d.Shape[2], k = x.Shape[2];
        if (d.Count == 0) return;
        if (!d.IsContiguous) throw new ArgumentException("MatMul: destination must be contiguous.");
        Storage? xCopy = null, yCopy = null;
        try
        {
            if (!GemmLayout(m, k, x.Strides[1], x.Strides[2], out _, out _)) (x, xCopy) = Densify(x);
            if (!GemmLayout(k, n, y.Strides[1], y.Strides[2], out _, out _)) (y, yCopy) = Densify(y);
            GemmLayout(m, k, x.Strides[1], x.Strides[2], out bool ta, out int lda);
            GemmLayout(k, n, y.Strides[1], y.Strides[2], out bool tb, out int ldb);
            T* xp = Cpu(x).Pointer<T>() + x.Offset, yp = Cpu(y).Pointer<T>() + y.Offset, dp = Cpu(d).Pointer<T>() + d.Offset;

            // A batch of row-major A against one shared B is a single taller GEMM: better blocking, one call.
            if (batch > 1 && y.Strides[0] == 0 && !ta && x.Strides[0] == m * lda && lda == k)
            {
                Gemm(false, tb, batch * m, n, k, xp, lda, yp, ldb, dp, n);
                return;
            }
            for (int b = 0; b < batch; b++)
                Gemm(ta, tb, m, n, k, xp + (long)b * x.Strides[0], lda, yp + (long)b * y.Strides[0], ldb, dp + (long)b * m * n, n);
        }
        finally
        {
            xCopy?.Release();
            yCopy?.Release();
        }
    }

    static void Gemm<T>(bool ta, bool tb, int m, int n, int k, T* a, int lda, T* b, int ldb, T* c, int ldc) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            CpuGemm.Sgemm(ta, tb, m, n, k, 1f, (float*)a, lda, (float*)b, ldb, 0f, (float*)c, ldc);
        else
            CpuGemm.Dgemm(ta, tb, m, n, k, 1.0, (double*)a, lda, (double*)b, ldb, 0.0, (double*)c, ldc);
    }

    (BufferView View, Storage Copy) Densify(BufferView v)
    {
        var s = Allocate(v.DType, v.Count);
        var dense = BufferView.Contiguous(s, v.Shape);
        Copy(v, dense);
        return (dense, s);
    }

    static void MatMulNaive<T>(BufferView x, BufferView y, BufferView d) where T : unmanaged, INumber<T>
    {
        int batch = d.Shape[0], m = d.Shape[1], n = d.Shape[2], k = x.Shape[2];
        Span<T> xs = Span<T>(x), ys = Span<T>(y), ds = Span<T>(d);
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    T acc = T.Zero;
                    int xo = x.Offset + b * x.Strides[0] + i * x.Strides[1], yo = y.Offset + b * y.Strides[0] + j * y.Strides[2];
                    for (int p = 0; p < k; p++) acc += xs[xo + p * x.Strides[2]] * ys[yo + p * y.Strides[1]];
                    ds[d.Offset + (b * m + i) * n + j] = acc;
                }
    }
}
