using System.Runtime.InteropServices;
using NeuralCore.Backends;

namespace NeuralCore;

public sealed partial class Tensor
{
    /// <summary>
    /// A fresh contiguous tensor. Every tensor allocation passes here or through <see cref="EmptyFor"/>: the shape is
    /// checked against <see cref="TensorLimits"/> before any memory is taken (ops check their result shapes
    /// earlier with messages of their own; this is the catch-all, naming <paramref name="op"/>).
    /// </summary>
    internal static Tensor Empty(int[] shape, DType dtype, IBackend backend, string op = "Tensor")
    {
        long count = ShapeMath.RequireAllocation(op, shape, dtype, backend);
        var storage = backend.Allocate(dtype, (int)count);
        return new Tensor(storage, shape, ShapeMath.ContiguousStrides(shape), 0);
    }

    internal static Tensor Empty(int[] shape, DType dtype, Device device, string op = "Tensor") => Empty(shape, dtype, BackendRegistry.For(device), op);

    static Tensor Filled(long[] shape, double value, DType dtype, Device? device, string op)
    {
        var t = Empty(ShapeMath.ToDims(shape, op), dtype, device ?? Device.Cpu, op);
        t.Backend.Fill(t.Buf, value);
        return t;
    }

    /// <summary>A Float32 tensor of zeros.</summary>
    public static Tensor Zeros(params long[] shape) => Filled(shape, 0, DType.Float32, null, nameof(Zeros));

    /// <summary>A tensor of zeros with the given dtype and device.</summary>
    public static Tensor Zeros(long[] shape, DType dtype, Device? device = null) => Filled(shape, 0, dtype, device, nameof(Zeros));

    /// <summary>A Float32 tensor of ones.</summary>
    public static Tensor Ones(params long[] shape) => Filled(shape, 1, DType.Float32, null, nameof(Ones));

    /// <summary>A tensor of ones with the given dtype and device.</summary>
    public static Tensor Ones(long[] shape, DType dtype, Device? device = null) => Filled(shape, 1, dtype, device, nameof(Ones));

    /// <summary>A tensor filled with <paramref name="value"/> (Float32 unless <paramref name="dtype"/> says otherwise).</summary>
    public static Tensor Full(long[] shape, double value, DType dtype = DType.Float32, Device? device = null) =>
        Filled(shape, value, dtype, device, nameof(Full));

    /// <summary>A 0-d tensor holding <paramref name="value"/>.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float32, Device? device = null) =>
        Filled([], value, dtype, device, nameof(Scalar));

    /// <summary>Zeros shaped, typed and placed like <paramref name="other"/>.</summary>
    public static Tensor ZerosLike(Tensor other) => FullLike(other, 0);

    /// <summary>Ones shaped, typed and placed like <paramref name="other"/>.</summary>
    public static Tensor OnesLike(Tensor other) => FullLike(other, 1);

    /// <summary>A tensor of <paramref name="value"/> shaped, typed and placed like <paramref name="other"/>.</summary>
    public static Tensor FullLike(Tensor other, double value)
    {
        var t = Empty((int[])other.shape.Clone(), other.DType, other.Backend);
        t.Backend.Fill(t.Buf, value);
        return t;
    }

    /// <summary>Samples from N(0, 1), Float32, using <see cref="Rng.Default"/>.</summary>
    public static Tensor Randn(params long[] shape) => Randn(shape, DType.Float32);

    /// <summary>Samples from N(0, 1) with the given dtype, generator and device.</summary>
    public static Tensor Randn(long[] shape, DType dtype, Generator? generator = null, Device? device = null) =>
        Sampled(shape, dtype, device, nameof(Randn), (b, v) => b.FillNormal(v, generator ?? Rng.Default, 0, 1));

    /// <summary>Samples from U[0, 1), Float32, using <see cref="Rng.Default"/>.</summary>
    public static Tensor Rand(params long[] shape) => Rand(shape, DType.Float32);

    /// <summary>Samples from U[0, 1) with the given dtype, generator and device.</summary>
    public static Tensor Rand(long[] shape, DType dtype, Generator? generator = null, Device? device = null) =>
        Sampled(shape, dtype, device, nameof(Rand), (b, v) => b.FillUniform(v, generator ?? Rng.Default, 0, 1));

    static Tensor Sampled(long[] shape, DType dtype, Device? device, string op, Action<IBackend, BufferView> fill)
    {
        RequireFloating(dtype, op);
        var t = Empty(ShapeMath.ToDims(shape, op), dtype, device ?? Device.Cpu, op);
        fill(t.Backend, t.Buf);
        return t;
    }

    /// <summary>1 with probability <paramref name="p"/>, else 0, drawn from <see cref="Rng.Default"/> unless a generator is given.</summary>
    public static Tensor Bernoulli(long[] shape, double p, DType dtype = DType.Float32, Device? device = null, Generator? generator = null)
    {
        if (p < 0 || p > 1 || double.IsNaN(p)) throw new ArgumentOutOfRangeException(nameof(p), $"Bernoulli: p must be in [0, 1], got {p}.");
        var t = Empty(ShapeMath.ToDims(shape, nameof(Bernoulli)), dtype, device ?? Device.Cpu, nameof(Bernoulli));
        t.Backend.FillBernoulli(t.Buf, generator ?? Rng.Default, p);
        return t;
    }

    /// <summary>Uniform random integers in [low, high), Int64.</summary>
    public static Tensor RandInt(long low, long high, long[] shape, Generator? generator = null)
    {
        if (low >= high) throw new ArgumentException($"RandInt: low ({low}) must be less than high ({high}).");
        var dims = ShapeMath.ToDims(shape, nameof(RandInt));
        var values = new long[ShapeMath.Product(dims)];
        (generator ?? Rng.Default).FillRandInt(values, low, high);
        return FromSpan<long>(values, dims, Device.Cpu);
    }

    /// <summary>Samples from N(0, 1) shaped, typed and placed like <paramref name="other"/>.</summary>
    public static Tensor RandnLike(Tensor other) => Randn(other.Shape.ToArray(), other.DType.ToFloating(), null, other.Device);

    /// <summary>Samples from U[0, 1) shaped, typed and placed like <paramref name="other"/>.</summary>
    public static Tensor RandLike(Tensor other) => Rand(other.Shape.ToArray(), other.DType.ToFloating(), null, other.Device);

    static void RequireFloating(DType dtype, string op)
    {
        if (!dtype.IsFloatingPoint()) throw new ArgumentException($"{op}: needs a floating dtype, got {dtype}.");
    }

    /// <summary>0, 1, …, end − 1 as Int64 (as <c>torch.arange(end)</c>).</summary>
    public static Tensor Arange(long end) => Arange(0, end, 1);

    /// <summary>
    /// Values from <paramref name="start"/> (inclusive) to <paramref name="end"/> (exclusive) in steps of
    /// <paramref name="step"/>. Int64 when all arguments are integral, else Float32, unless a dtype is given.
    /// </summary>
    public static Tensor Arange(double start, double end, double step = 1, DType? dtype = null)
    {
        if (step == 0 || double.IsNaN(step)) throw new ArgumentException("Arange: step must be non-zero.");
        if (!double.IsFinite(start) || !double.IsFinite(end)) throw new ArgumentException("Arange: start and end must be finite.");
        double span = Math.Ceiling((end - start) / step);
        long count = Math.Max(0, (long)span);
        if (count > int.MaxValue) throw new ArgumentException($"Arange: {count} elements exceed {int.MaxValue}.");
        bool integral = start == Math.Floor(start) && end == Math.Floor(end) && step == Math.Floor(step);
        var type = dtype ?? (integral ? DType.Int64 : DType.Float32);
        var values = new double[count];
        for (long i = 0; i < count; i++) values[i] = start + i * step;
        return FromSpan<double>(values, [(int)count], Device.Cpu).To(type);
    }

    /// <summary><paramref name="steps"/> evenly spaced values from <paramref name="start"/> to <paramref name="end"/> inclusive.</summary>
    public static Tensor Linspace(double start, double end, long steps, DType dtype = DType.Float32)
    {
        if (steps < 0 || steps > int.MaxValue) throw new ArgumentException($"Linspace: steps must be in [0, {int.MaxValue}], got {steps}.");
        var values = new double[steps];
        double step = steps > 1 ? (end - start) / (steps - 1) : 0;
        for (long i = 0; i < steps; i++) values[i] = i == steps - 1 && steps > 1 ? end : start + i * step;
        return FromSpan<double>(values, [(int)steps], Device.Cpu).To(dtype);
    }

    /// <summary>The identity matrix, Float32 unless <paramref name="dtype"/> says otherwise.</summary>
    public static Tensor Eye(long n, DType dtype = DType.Float32)
    {
        var t = Zeros([n, n], dtype);
        var diag = new BufferView(t.storage, [(int)n], [(int)n + 1], 0);
        t.Backend.Fill(diag, 1);
        return t;
    }

    /// <summary>
    /// Copies <paramref name="data"/> into a new CPU tensor. With no shape the tensor is 1-d; otherwise the
    /// shape's element count must equal the array length. The dtype follows <typeparamref name="T"/>
    /// (float, double, int, long, byte or bool).
    /// </summary>
    /// <exception cref="ArgumentException">The shape does not match the data length.</exception>
    public static Tensor FromArray<T>(T[] data, params long[] shape) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        var dims = shape.Length == 0 ? [data.Length] : ShapeMath.ToDims(shape, nameof(FromArray));
        if (ShapeMath.Product(dims) != data.Length)
            throw new ArgumentException($"FromArray: shape {ShapeMath.Format(dims)} holds {ShapeMath.Product(dims)} elements but the array has {data.Length}.");
        return FromSpan<T>(data, dims, Device.Cpu);
    }

    internal static Tensor FromSpan<T>(ReadOnlySpan<T> data, int[] dims, Device device) where T : unmanaged
    {
        var dtype = DTypes.Of<T>();
        var t = Empty(dims, dtype, device);
        if (typeof(T) == typeof(bool))
        {
            // .NET bools are one byte, but only 0 and 1 are valid Bool tensor contents: normalise.
            var bytes = new byte[data.Length];
            var src = MemoryMarshal.Cast<T, bool>(data);
            for (int i = 0; i < bytes.Length; i++) bytes[i] = src[i] ? (byte)1 : (byte)0;
            t.Backend.Upload<byte>(bytes, t.storage);
        }
        else
        {
            t.Backend.Upload(data, t.storage);
        }
        return t;
    }

    /// <summary>The elements in row-major order, converted to <typeparamref name="T"/>.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        var dtype = DTypes.Of<T>();
        var src = (DType == dtype ? this : CastRaw(dtype)).ContiguousRaw();
        var result = new T[src.NumElements];
        if (typeof(T) == typeof(bool))
            src.Backend.Download(src.Buf, MemoryMarshal.Cast<T, byte>(result.AsSpan()));
        else
            src.Backend.Download(src.Buf, result.AsSpan());
        return result;
    }

    /// <summary>The single element of a one-element tensor, converted to <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidOperationException">The tensor has more or fewer than one element.</exception>
    public T Item<T>() where T : unmanaged
    {
        if (NumElements != 1)
            throw new InvalidOperationException($"Item: the tensor has {NumElements} elements (shape {Shape}); only one-element tensors can be converted to a scalar.");
        return ToArray<T>()[0];
    }
}
