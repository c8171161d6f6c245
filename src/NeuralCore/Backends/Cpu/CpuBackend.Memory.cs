using System.Numerics;

namespace NeuralCore.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc />
    public void Copy(BufferView source, BufferView destination)
    {
        if (source.DType == destination.DType)
        {
            switch (source.DType.SizeOf())
            {
                case 1: CopySame<byte>(source, destination); break;
                case 4: CopySame<int>(source, destination); break;
                default: CopySame<long>(source, destination); break;
            }
            return;
        }
        switch (source.DType)
        {
            case DType.Float32: CastFrom<float>(source, destination); break;
            case DType.Float64: CastFrom<double>(source, destination); break;
            case DType.Int32: CastFrom<int>(source, destination); break;
            case DType.Int64: CastFrom<long>(source, destination); break;
            default: CastFrom<byte>(source, destination); break;
        }
    }

    static void CopySame<T>(BufferView src, BufferView dst) where T : unmanaged
    {
        var loop = new StridedLoop(dst.Shape, dst, src);
        if (loop.Count == 0) return;
        Span<T> s = Span<T>(src), d = Span<T>(dst);
        Span<int> off = stackalloc int[2];
        int n = loop.Inner, sd = loop.InnerStrides[0], ss = loop.InnerStrides[1];
        for (int r = 0; r < loop.Rows; r++)
        {
            loop.RowOffsets(r, off);
            if (sd == 1 && ss == 1) s.Slice(off[1], n).CopyTo(d.Slice(off[0], n));
            else if (sd == 1 && ss == 0) d.Slice(off[0], n).Fill(s[off[1]]);
            else for (int i = 0; i < n; i++) d[off[0] + i * sd] = s[off[1] + i * ss];
        }
    }

    static void CastFrom<TFrom>(BufferView src, BufferView dst) where TFrom : unmanaged, INumber<TFrom>
    {
        switch (dst.DType)
        {
            case DType.Float32: Cast<TFrom, float>(src, dst, false); break;
            case DType.Float64: Cast<TFrom, double>(src, dst, false); break;
            case DType.Int32: Cast<TFrom, int>(src, dst, false); break;
            case DType.Int64: Cast<TFrom, long>(src, dst, false); break;
            case DType.UInt8: Cast<TFrom, byte>(src, dst, false); break;
            default: Cast<TFrom, byte>(src, dst, true); break;
        }
    }

    // Float to integer truncates toward zero and saturates (NaN becomes 0); integer narrowing (Int64 → Int32,
    // any integer → UInt8) keeps the low bits, as PyTorch's C++ casts do; anything to Bool is "≠ 0".
    static void Cast<TFrom, TTo>(BufferView src, BufferView dst, bool toBool)
        where TFrom : unmanaged, INumber<TFrom> where TTo : unmanaged, INumber<TTo>
    {
        var loop = new StridedLoop(dst.Shape, dst, src);
        if (loop.Count == 0) return;
        Span<TFrom> s = Span<TFrom>(src);
        Span<TTo> d = Span<TTo>(dst);
        Span<int> off = stackalloc int[2];
        int n = loop.Inner, sd = loop.InnerStrides[0], ss = loop.InnerStrides[1];
        bool fromFloat = typeof(TFrom) == typeof(float) || typeof(TFrom) == typeof(double);
        bool wrap = !fromFloat;
        for (int r = 0; r < loop.Rows; r++)
        {
            loop.RowOffsets(r, off);
            for (int i = 0; i < n; i++)
            {
                TFrom v = s[off[1] + i * ss];
                d[off[0] + i * sd] = toBool ? (v != TFrom.Zero ? TTo.One : TTo.Zero)
                    : wrap ? TTo.CreateTruncating(v)
                    : TTo.CreateSaturating(v);
            }
        }
    }

    /// <inheritdoc />
    public void Fill(BufferView destination, double value)
    {
        switch (destination.DType)
        {
            case DType.Float32: FillTyped(destination, (float)value); break;
            case DType.Float64: FillTyped(destination, value); break;
            case DType.Int32: FillTyped(destination, (int)CheckedInteger(value, int.MinValue, int.MaxValue, DType.Int32)); break;
            case DType.Int64: FillTyped(destination, (long)CheckedInteger(value, -9.2233720368547758e18, 9.2233720368547748e18, DType.Int64)); break;
            case DType.UInt8: FillTyped(destination, (byte)CheckedInteger(value, 0, 255, DType.UInt8)); break;
            default: FillTyped(destination, value != 0 ? (byte)1 : (byte)0); break;
        }
    }

    static double CheckedInteger(double value, double min, double max, DType dtype)
    {
        if (double.IsNaN(value) || value < min || value > max)
            throw new ArgumentOutOfRangeException(nameof(value), value, $"Fill: {value} cannot be stored in a {dtype} tensor.");
        return Math.Truncate(value);
    }

    static void FillTyped<T>(BufferView dst, T value) where T : unmanaged
    {
        var loop = new StridedLoop(dst.Shape, dst);
        if (loop.Count == 0) return;
        Span<T> d = Span<T>(dst);
        Span<int> off = stackalloc int[1];
        int n = loop.Inner, sd = loop.InnerStrides[0];
        for (int r = 0; r < loop.Rows; r++)
        {
            loop.RowOffsets(r, off);
            if (sd == 1) d.Slice(off[0], n).Fill(value);
            else for (int i = 0; i < n; i++) d[off[0] + i * sd] = value;
        }
    }
}
