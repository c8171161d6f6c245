using ILGPU;

namespace NeuralCore.Gpu.Kernels;

/// <summary>Maps one Philox block (four 32-bit words) to up to four elements, as the CPU generator's block kernels.</summary>
internal interface IBlockMap<T> where T : unmanaged
{
    int PerBlock { get; }
    T Lane(uint r0, uint r1, uint r2, uint r3, int lane);
}

/// <summary>
/// Random fills on the device from the <see cref="Generator"/>'s counter-based state: the host reserves the
/// blocks (advancing the generator exactly as a CPU fill of the same size would) and thread b computes block
/// start + b with the same Philox4x32-10 function and writes its elements. Values depend only on (seed,
/// counter), never on the launch configuration.
/// </summary>
internal static class RandomKernels
{
    public static void Fill<T, TMap>(Index1D block, ArrayView<T> d, int offset, int count, ulong seed, ulong start, TMap map)
        where T : unmanaged where TMap : struct, IBlockMap<T>
    {
        Philox.Block(seed, start + (ulong)block.X, out uint r0, out uint r1, out uint r2, out uint r3);
        int per = map.PerBlock;
        int first = block * per;
        for (int lane = 0; lane < per; lane++)
            if (first + lane < count) d[offset + first + lane] = map.Lane(r0, r1, r2, r3, lane);
    }
}

/// <summary>Uniform floats in [low, high): 24 random bits per word; a result that rounds up to high becomes <c>below</c> (the largest float under high).</summary>
internal readonly struct UniformF32(float low, float high, float below) : IBlockMap<float>
{
    readonly float low = low, high = high, below = below;

    public int PerBlock => 4;

    public float Lane(uint r0, uint r1, uint r2, uint r3, int lane)
    {
        uint w = lane == 0 ? r0 : lane == 1 ? r1 : lane == 2 ? r2 : r3;
        float v = low + (w >> 8) * (1.0f / (1 << 24)) * (high - low);
        return v < high ? v : below;
    }
}

/// <summary>Uniform doubles in [low, high) from 53 random bits per pair of words.</summary>
internal readonly struct UniformF64(double low, double high, double below) : IBlockMap<double>
{
    readonly double low = low, high = high, below = below;

    public int PerBlock => 2;

    public double Lane(uint r0, uint r1, uint r2, uint r3, int lane)
    {
        ulong w = lane == 0 ? ((ulong)r1 << 32) | r0 : ((ulong)r3 << 32) | r2;
        double v = low + (w >> 11) * (1.0 / (1L << 53)) * (high - low);
        return v < high ? v : below;
    }
}

/// <summary>Normal floats by Box–Muller, two per pair of words (u1 in (0, 1] keeps the logarithm finite).</summary>
internal readonly struct NormalF32(float mean, float std) : IBlockMap<float>
{
    readonly float mean = mean, std = std;

    public int PerBlock => 4;

    public float Lane(uint r0, uint r1, uint r2, uint r3, int lane)
    {
        uint a = lane < 2 ? r0 : r2, b = lane < 2 ? r1 : r3;
        float u1 = ((a >> 8) + 1) * (1.0f / (1 << 24));
        float u2 = (b >> 8) * (1.0f / (1 << 24));
        float r = MathF.Sqrt(-2f * DeviceMath.Log(u1));
        float angle = 6.28318530717958647692f * u2;
        return mean + std * (r * ((lane & 1) == 0 ? DeviceMath.Cos(angle) : DeviceMath.Sin(angle)));
    }
}

/// <summary>Normal doubles by Box–Muller from 53-bit uniforms, two per block.</summary>
internal readonly struct NormalF64(double mean, double std) : IBlockMap<double>
{
    readonly double mean = mean, std = std;

    public int PerBlock => 2;

    public double Lane(uint r0, uint r1, uint r2, uint r3, int lane)
    {
        double u1 = (((((ulong)r1 << 32) | r0) >> 11) + 1) * (1.0 / (1L << 53));
        double u2 = ((((ulong)r3 << 32) | r2) >> 11) * (1.0 / (1L << 53));
        double r = Math.Sqrt(-2.0 * DeviceMath.Log(u1));
        double angle = 6.28318530717958647692 * u2;
        return mean + std * (r * (lane == 0 ? DeviceMath.Cos(angle) : DeviceMath.Sin(angle)));
    }
}

/// <summary>1 with probability threshold / 2³², else 0, in any dtype (one word per element).</summary>
internal readonly struct BernoulliMap<T, N>(ulong threshold) : IBlockMap<T> where T : unmanaged where N : struct, INumeric<T>
{
    readonly ulong threshold = threshold;

    public int PerBlock => 4;

    public T Lane(uint r0, uint r1, uint r2, uint r3, int lane)
    {
        uint w = lane == 0 ? r0 : lane == 1 ? r1 : lane == 2 ? r2 : r3;
        return w < threshold ? default(N).One : default(N).Zero;
    }
}
