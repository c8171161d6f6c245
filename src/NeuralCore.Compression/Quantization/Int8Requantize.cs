using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NeuralCore.Compression;

/// <summary>
/// The element-wise halves of int8 inference: the GEMM epilogue (int32 accumulators to float or uint8, see
/// <see cref="Int8Epilogue"/>) and the quantization of float activations to uint8. Each has a vector path (portable
/// Vector256 arithmetic) and a scalar path that perform the same IEEE operations in the same order, so both give
/// identical bits.
/// </summary>
internal static unsafe class Int8Requantize
{
    /// <summary>
    /// Finishes <paramref name="acc"/> (the raw sums of columns <paramref name="col0"/>.. of one row) and writes them
    /// to <c>c + offset + j·columnStride</c>.
    /// </summary>
    public static void Row(ReadOnlySpan<int> acc, int col0, int[] columnSums, int zeroPoint, in Int8Epilogue e, Int8OutputKind kind,
        void* c, long offset, long columnStride, bool scalar)
    {
        int j = 0;
        if (!scalar && columnStride != 1 && kind == Int8OutputKind.Float)
        {
            // A strided float output (the convolution's NCHW): the vector arithmetic, then scattered stores.
            float* lane = stackalloc float[8];
            fixed (int* accp = acc)
            fixed (int* sums = columnSums)
            fixed (float* scale = e.Scale)
            fixed (float* bias = e.Bias)
            {
                var zp = Vector256.Create(zeroPoint);
                float* o = (float*)c + offset;
                for (; j + 8 <= acc.Length; j += 8)
                {
                    var corrected = Vector256.Load(accp + j) - zp * Vector256.Load(sums + col0 + j);
                    var y = Vector256.ConvertToSingle(corrected) * Vector256.Load(scale + col0 + j);
                    if (bias != null) y += Vector256.Load(bias + col0 + j);
                    if (e.Relu) y = Vector256.Max(y, Vector256<float>.Zero);
                    y.Store(lane);
                    for (int t = 0; t < 8; t++) o[(j + t) * columnStride] = lane[t];
                }
            }
        }
        else if (!scalar && columnStride == 1)
        {
            fixed (int* accp = acc)
            fixed (int* sums = columnSums)
            fixed (float* scale = e.Scale)
            fixed (float* bias = e.Bias)
            {
                var zp = Vector256.Create(zeroPoint);
                for (; j + 8 <= acc.Length; j += 8)
                {
                    var corrected = Vector256.Load(accp + j) - zp * Vector256.Load(sums + col0 + j);
                    if (kind == Int8OutputKind.Int32)
                    {
                        corrected.Store((int*)c + offset + j);
                        continue;
                    }
                    var y = Vector256.ConvertToSingle(corrected) * Vector256.Load(scale + col0 + j);
                    if (bias != null) y += Vector256.Load(bias + col0 + j);
                    if (e.Relu) y = Vector256.Max(y, Vector256<float>.Zero);
                    if (kind == Int8OutputKind.Float)
                    {
                        y.Store((float*)c + offset + j);
                        continue;
                    }
                    var q = Vector256.Round(y * Vector256.Create(e.OutputInverseScale)) + Vector256.Create((float)e.OutputZeroPoint);
                    q = Vector256.Min(Vector256.Max(q, Vector256<float>.Zero), Vector256.Create(255f));
                    StoreBytes(Vector256.ConvertToInt32(q), (byte*)c + offset + j);
                }
            }
        }
        for (; j < acc.Length; j++)
        {
            int corrected = acc[j] - zeroPoint * columnSums[col0 + j];
            long at = offset + j * columnStride;
            if (kind == Int8OutputKind.Int32)
            {
                ((int*)c)[at] = corrected;
                continue;
            }
            float y = Finish(corrected, col0 + j, e);
            if (kind == Int8OutputKind.Float) ((float*)c)[at] = y;
            else ((byte*)c)[at] = ToUInt8(y, e.OutputInverseScale, e.OutputZeroPoint);
        }
    }

    // Eight int32 values already clamped to [0, 255], narrowed (exactly) and stored as eight bytes.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreBytes(Vector256<int> values, byte* destination)
    {
        var shorts = Vector256.Narrow(values, values);
        var bytes = Vector256.Narrow(shorts, shorts);
        *(long*)destination = bytes.AsInt64().GetElement(0);
    }

    /// <summary>The float value of one corrected accumulator: scale, bias, ReLU.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Finish(int corrected, int column, in Int8Epilogue e)
    {
        float y = (float)corrected * e.Scale![column];
        if (e.Bias is not null) y += e.Bias[column];
        if (e.Relu) y = MathF.Max(y, 0f);
        return y;
    }

    /// <summary><c>clamp(round(y · inverseScale) + zeroPoint, 0, 255)</c>, rounding half to even.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte ToUInt8(float y, float inverseScale, int zeroPoint)
    {
        float q = MathF.Round(y * inverseScale) + zeroPoint;
        q = MathF.Min(MathF.Max(q, 0f), 255f);
        return (byte)(int)q;
    }

    /// <summary>
    /// Quantizes <paramref name="count"/> floats to uint8 written <paramref name="stride"/> bytes apart (a channels-last
    /// image row from a channel plane), with the same arithmetic as <see cref="QuantizeRows"/>.
    /// </summary>
    public static void QuantizeStrided(float* source, int count, byte* destination, int stride, float inverseScale, int zeroPoint, bool scalar)
    {
        int j = 0;
        if (!scalar)
        {
            var inv = Vector256.Create(inverseScale);
            var zp = Vector256.Create((float)zeroPoint);
            var hi = Vector256.Create(255f);
            byte* lane = stackalloc byte[8];
            for (; j + 8 <= count; j += 8)
            {
                var v = Vector256.Round(Vector256.Load(source + j) * inv) + zp;
                v = Vector256.Min(Vector256.Max(v, Vector256<float>.Zero), hi);
                if (stride == 1)
                {
                    StoreBytes(Vector256.ConvertToInt32(v), destination + j);
                    continue;
                }
                StoreBytes(Vector256.ConvertToInt32(v), lane);
                byte* d = destination + (long)j * stride;
                for (int t = 0; t < 8; t++) d[(long)t * stride] = lane[t];
            }
        }
        for (; j < count; j++) destination[(long)j * stride] = ToUInt8(source[j], inverseScale, zeroPoint);
    }

    /// <summary>
    /// Quantizes <paramref name="rows"/> rows of <paramref name="cols"/> floats (source stride <paramref name="cols"/>) to
    /// uint8 rows of stride <paramref name="ldq"/>, the <c>ldq − cols</c> padding bytes set to the zero point. NaN becomes 0.
    /// </summary>
    public static void QuantizeRows(ReadOnlySpan<float> x, int rows, int cols, float inverseScale, int zeroPoint, Span<byte> q, int ldq, bool scalar)
    {
        for (int r = 0; r < rows; r++)
        {
            var src = x.Slice(r * cols, cols);
            var dst = q.Slice(r * ldq, ldq);
            int j = 0;
            if (!scalar)
            {
                fixed (float* s = src)
                fixed (byte* d = dst)
                {
                    var inv = Vector256.Create(inverseScale);
                    var zp = Vector256.Create((float)zeroPoint);
                    var hi = Vector256.Create(255f);
                    for (; j + 8 <= cols; j += 8)
                    {
                        var v = Vector256.Round(Vector256.Load(s + j) * inv) + zp;
                        v = Vector256.Min(Vector256.Max(v, Vector256<float>.Zero), hi);
                        StoreBytes(Vector256.ConvertToInt32(v), d + j);
                    }
                }
            }
            for (; j < cols; j++) dst[j] = ToUInt8(src[j], inverseScale, zeroPoint);
            dst[cols..].Fill((byte)zeroPoint);
        }
    }
}
