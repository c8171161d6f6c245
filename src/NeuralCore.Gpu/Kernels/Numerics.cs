using ILGPU;

namespace NeuralCore.Gpu.Kernels;

/// <summary>
/// Arithmetic of one element type, as a struct kernels call through a generic parameter (ILGPU compiles one
/// specialisation per type, with no virtual dispatch). Semantics follow the CPU backend: integer arithmetic
/// wraps, maximum/minimum propagate NaN, and conversions from floating point to integers truncate and saturate.
/// </summary>
internal interface INumeric<T> where T : unmanaged
{
    bool IsFloat { get; }
    T Zero { get; }
    T One { get; }
    T Add(T a, T b);
    T Sub(T a, T b);
    T Mul(T a, T b);
    T Div(T a, T b);
    T Neg(T a);
    bool IsNaN(T a);
    bool Lt(T a, T b);
    bool Eq(T a, T b);

    /// <summary>Truncating, saturating conversion (NaN becomes 0 for integers).</summary>
    T FromDouble(double v);

    /// <summary>Wrapping conversion from an integer value.</summary>
    T FromLong(long v);

    double ToDouble(T v);
    long ToLong(T v);

    /// <summary>Atomically adds <paramref name="value"/> to element <paramref name="index"/> of a whole-buffer view.</summary>
    void AtomicAdd(ArrayView<T> view, int index, T value);
}

/// <summary>
/// The floating-point functions of Float32 and Float64: exp, log, tanh, sin, cos and pow from <see cref="DeviceMath"/> (accurate,
/// fixed step count on every device), sqrt, floor, ceiling, rounding and abs from Math/MathF (single correctly rounded instructions).
/// </summary>
internal interface IFloating<T> : INumeric<T> where T : unmanaged
{
    T Exp(T a);
    T Log(T a);
    T Sqrt(T a);
    T Tanh(T a);
    T Sin(T a);
    T Cos(T a);
    T Pow(T a, T b);
    T Floor(T a);
    T Ceil(T a);
    T RoundEven(T a);
    T Abs(T a);
}

internal readonly struct F32 : IFloating<float>
{
    public bool IsFloat => true;
    public float Zero => 0f;
    public float One => 1f;
    public float Add(float a, float b) => a + b;
    public float Sub(float a, float b) => a - b;
    public float Mul(float a, float b) => a * b;
    public float Div(float a, float b) => a / b;
    public float Neg(float a) => -a;
    public bool IsNaN(float a) => float.IsNaN(a);
    public bool Lt(float a, float b) => a < b;
    public bool Eq(float a, float b) => a == b;
    public float FromDouble(double v) => (float)v;
    public float FromLong(long v) => v;
    public double ToDouble(float v) => v;
    public long ToLong(float v) => Saturate.ToLong(v);
    public void AtomicAdd(ArrayView<float> view, int index, float value) => Atomic.Add(ref view[index], value);
    public float Exp(float a) => DeviceMath.Exp(a);
    public float Log(float a) => DeviceMath.Log(a);
    public float Sqrt(float a) => MathF.Sqrt(a);
    public float Tanh(float a) => DeviceMath.Tanh(a);
    public float Sin(float a) => DeviceMath.Sin(a);
    public float Cos(float a) => DeviceMath.Cos(a);
    public float Pow(float a, float b) => DeviceMath.Pow(a, b);
    public float Floor(float a) => MathF.Floor(a);
    public float Ceil(float a) => MathF.Ceiling(a);
    public float RoundEven(float a) => MathF.Round(a, MidpointRounding.ToEven);
    public float Abs(float a) => MathF.Abs(a);
}

internal readonly struct F64 : IFloating<double>
{
    public bool IsFloat => true;
    public double Zero => 0.0;
    public double One => 1.0;
    public double Add(double a, double b) => a + b;
    public double Sub(double a, double b) => a - b;
    public double Mul(double a, double b) => a * b;
    public double Div(double a, double b) => a / b;
    public double Neg(double a) => -a;
    public bool IsNaN(double a) => double.IsNaN(a);
    public bool Lt(double a, double b) => a < b;
    public bool Eq(double a, double b) => a == b;
    public double FromDouble(double v) => v;
    public double FromLong(long v) => v;
    public double ToDouble(double v) => v;
    public long ToLong(double v) => Saturate.ToLong(v);
    public void AtomicAdd(ArrayView<double> view, int index, double value) => Atomic.Add(ref view[index], value);
    public double Exp(double a) => DeviceMath.Exp(a);
    public double Log(double a) => DeviceMath.Log(a);
    public double Sqrt(double a) => Math.Sqrt(a);
    public double Tanh(double a) => DeviceMath.Tanh(a);
    public double Sin(double a) => DeviceMath.Sin(a);
    public double Cos(double a) => DeviceMath.Cos(a);
    public double Pow(double a, double b) => DeviceMath.Pow(a, b);
    public double Floor(double a) => Math.Floor(a);
    public double Ceil(double a) => Math.Ceiling(a);
    public double RoundEven(double a) => Math.Round(a, MidpointRounding.ToEven);
    public double Abs(double a) => Math.Abs(a);
}

internal readonly struct I32 : INumeric<int>
{
    public bool IsFloat => false;
    public int Zero => 0;
    public int One => 1;
    public int Add(int a, int b) => unchecked(a + b);
    public int Sub(int a, int b) => unchecked(a - b);
    public int Mul(int a, int b) => unchecked(a * b);
    public int Div(int a, int b) => b == 0 ? 0 : a / b;
    public int Neg(int a) => unchecked(-a);
    public bool IsNaN(int a) => false;
    public bool Lt(int a, int b) => a < b;
    public bool Eq(int a, int b) => a == b;
    public int FromDouble(double v) => Saturate.ToInt(v);
    public int FromLong(long v) => unchecked((int)v);
    public double ToDouble(int v) => v;
    public long ToLong(int v) => v;
    public void AtomicAdd(ArrayView<int> view, int index, int value) => Atomic.Add(ref view[index], value);
}

internal readonly struct I64 : INumeric<long>
{
    public bool IsFloat => false;
    public long Zero => 0;
    public long One => 1;
    public long Add(long a, long b) => unchecked(a + b);
    public long Sub(long a, long b) => unchecked(a - b);
    public long Mul(long a, long b) => unchecked(a * b);
    public long Div(long a, long b) => b == 0 ? 0 : a / b;
    public long Neg(long a) => unchecked(-a);
    public bool IsNaN(long a) => false;
    public bool Lt(long a, long b) => a < b;
    public bool Eq(long a, long b) => a == b;
    public long FromDouble(double v) => Saturate.ToLong(v);
    public long FromLong(long v) => v;
    public double ToDouble(long v) => v;
    public long ToLong(long v) => v;
    public void AtomicAdd(ArrayView<long> view, int index, long value) => Atomic.Add(ref view[index], value);
}

/// <summary>UInt8 (and Bool, which shares its one-byte storage).</summary>
internal readonly struct U8 : INumeric<byte>
{
    public bool IsFloat => false;
    public byte Zero => 0;
    public byte One => 1;
    public byte Add(byte a, byte b) => unchecked((byte)(a + b));
    public byte Sub(byte a, byte b) => unchecked((byte)(a - b));
    public byte Mul(byte a, byte b) => unchecked((byte)(a * b));
    public byte Div(byte a, byte b) => b == 0 ? (byte)0 : (byte)(a / b);
    public byte Neg(byte a) => unchecked((byte)-a);
    public bool IsNaN(byte a) => false;
    public bool Lt(byte a, byte b) => a < b;
    public bool Eq(byte a, byte b) => a == b;
    public byte FromDouble(double v) => double.IsNaN(v) || v <= 0 ? (byte)0 : v >= 255 ? (byte)255 : (byte)v;
    public byte FromLong(long v) => unchecked((byte)v);
    public double ToDouble(byte v) => v;
    public long ToLong(byte v) => v;

    // Devices have no byte atomics: compare-and-swap the aligned 32-bit word holding the byte. Views handed to
    // kernels always cover a whole pooled buffer, whose size is a multiple of 64 bytes, so the word view is exact.
    public void AtomicAdd(ArrayView<byte> view, int index, byte value)
    {
        var words = view.Cast<int>();
        int w = index >> 2, shift = (index & 3) * 8;
        for (;;)
        {
            int old = words[w];
            int updated = (old & ~(0xFF << shift)) | (((((old >> shift) & 0xFF) + value) & 0xFF) << shift);
            if (Atomic.CompareExchange(ref words[w], old, updated) == old) return;
        }
    }
}

/// <summary>Float-to-integer conversions that truncate toward zero, saturate, and map NaN to 0 (as .NET's CreateSaturating).</summary>
internal static class Saturate
{
    public static int ToInt(double v) => double.IsNaN(v) ? 0 : v <= -2147483648.0 ? int.MinValue : v >= 2147483647.0 ? int.MaxValue : (int)v;

    public static long ToLong(double v) => double.IsNaN(v) ? 0 : v <= -9.2233720368547758e18 ? long.MinValue : v >= 9.2233720368547758e18 ? long.MaxValue : (long)v;
}
