using ILGPU;
using ILGPU.Runtime;
using NeuralCore.Backends;
using NeuralCore.Gpu.Kernels;

namespace NeuralCore.Gpu;

public sealed partial class IlgpuBackend
{
    /// <inheritdoc />
    public void FillUniform(BufferView destination, Generator generator, double low, double high)
    {
        CheckRange(low, high);
        if (destination.DType == DType.Float32)
        {
            float l = (float)low, h = (float)high;
            RunRandom<float, UniformF32>(destination, generator, new(l, h, l < h ? float.BitDecrement(h) : l));
        }
        else if (destination.DType == DType.Float64)
            RunRandom<double, UniformF64>(destination, generator, new(low, high, low < high ? double.BitDecrement(high) : low));
        else throw new ArgumentException($"FillUniform: needs a floating dtype, got {destination.DType}.");
    }

    /// <inheritdoc />
    public void FillNormal(BufferView destination, Generator generator, double mean, double std)
    {
        if (!(std >= 0)) throw new ArgumentOutOfRangeException(nameof(std), std, "Standard deviation must be non-negative.");
        if (destination.DType == DType.Float32) RunRandom<float, NormalF32>(destination, generator, new((float)mean, (float)std));
        else if (destination.DType == DType.Float64) RunRandom<double, NormalF64>(destination, generator, new(mean, std));
        else throw new ArgumentException($"FillNormal: needs a floating dtype, got {destination.DType}.");
    }

    /// <inheritdoc />
    public void FillBernoulli(BufferView destination, Generator generator, double p)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "Probability must be in [0, 1].");
        // Compare 32-bit words against floor(p · 2³²), as the CPU generator does; p = 1 gives 2³², above every word.
        ulong t = p >= 1 ? 1UL << 32 : (ulong)(p * 4294967296.0);
        switch (destination.DType)
        {
            case DType.Float32: RunRandom<float, BernoulliMap<float, F32>>(destination, generator, new(t)); break;
            case DType.Float64: RunRandom<double, BernoulliMap<double, F64>>(destination, generator, new(t)); break;
            case DType.Int32: RunRandom<int, BernoulliMap<int, I32>>(destination, generator, new(t)); break;
            case DType.Int64: RunRandom<long, BernoulliMap<long, I64>>(destination, generator, new(t)); break;
            default: RunRandom<byte, BernoulliMap<byte, U8>>(destination, generator, new(t)); break;
        }
    }

    static void CheckRange(double low, double high)
    {
        if (!double.IsFinite(low)) throw new ArgumentOutOfRangeException(nameof(low), low, "Bound must be finite.");
        if (!double.IsFinite(high)) throw new ArgumentOutOfRangeException(nameof(high), high, "Bound must be finite.");
        if (low > high) throw new ArgumentOutOfRangeException(nameof(low), low, "Lower bound must not exceed the upper bound.");
    }

    void RunRandom<T, TMap>(BufferView d, Generator generator, TMap map) where T : unmanaged where TMap : struct, IBlockMap<T>
    {
        ArgumentNullException.ThrowIfNull(generator);
        var kernel = Implicit<Action<Index1D, ArrayView<T>, int, int, ulong, ulong, TMap>, Action<Index1D, ArrayView<T>, int, int, ulong, ulong, TMap>>(
            RandomKernels.Fill, k => Accelerator.LoadAutoGroupedStreamKernel(k));
        if (!d.IsContiguous) throw new ArgumentException("Random fills need a contiguous destination.");
        int count = d.Count;
        if (count == 0) return;
        int per = map.PerBlock;
        int blocks = (int)(((long)count + per - 1) / per);
        ulong start = generator.Reserve((ulong)blocks, out ulong seed);
        kernel(blocks, View<T>(d), d.Offset, count, seed, start, map);
        AfterLaunch();
    }
}
