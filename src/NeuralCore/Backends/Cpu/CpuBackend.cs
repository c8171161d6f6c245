namespace NeuralCore.Backends.Cpu;

/// <summary>
/// The reference backend: pure managed code, SIMD through System.Numerics.Tensors and our own GEMM.
/// Split by op family into partial files (Memory, Elementwise, Reduce, Linalg, Index).
/// </summary>
public sealed partial class CpuBackend : IBackend, IMemoryStatsSource, IScalarBinary
{
    /// <summary>The process-wide CPU backend.</summary>
    public static CpuBackend Instance { get; } = new();

    CpuBackend() { }

    internal CpuMemoryPool Pool { get; } = new();

    /// <inheritdoc />
    public Device Device => Device.Cpu;

    /// <inheritdoc />
    public string Name => "cpu";

    /// <inheritdoc />
    public DeviceMemoryStats GetMemoryStats() => MemoryStats.Cpu;

    /// <inheritdoc />
    /// <remarks>On the CPU: <see cref="TensorLimits.CpuMaxBytes"/>, the largest size class of the memory pool.</remarks>
    public long MaxAllocationBytes => CpuMemoryPool.MaxRentBytes;

    /// <inheritdoc />
    public Storage Allocate(DType dtype, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ShapeMath.RequireBytes("Allocate", length, dtype, this, $"a storage of {length} elements");
        return new CpuStorage(this, Pool, dtype, length);
    }

    static CpuStorage Cpu(BufferView v) => v.Storage as CpuStorage
        ?? throw new ArgumentException($"The CPU backend was given memory of device {v.Storage.Backend.Device}; move tensors with To(device) first.");

    static Span<T> Span<T>(BufferView v) where T : unmanaged => Cpu(v).AsSpan<T>();

    /// <inheritdoc />
    public void Upload<T>(ReadOnlySpan<T> source, Storage destination) where T : unmanaged
    {
        // T has the storage dtype's element size, so the raw elements copy unchanged.
        source.CopyTo(((CpuStorage)destination).AsSpan<T>());
    }

    /// <inheritdoc />
    public void Download<T>(BufferView source, Span<T> destination) where T : unmanaged
    {
        // An empty view reads nothing; its offset may lie past the end of its (empty) storage, e.g. a Select on [3, 0].
        if (source.Count == 0) return;
        if (!source.IsContiguous) throw new ArgumentException("Download needs a contiguous view.", nameof(source));
        Span<T>(source).Slice(source.Offset, source.Count).CopyTo(destination);
    }

    /// <inheritdoc />
    public void FillUniform(BufferView destination, Generator generator, double low, double high)
    {
        if (destination.DType == DType.Float32) generator.FillUniform(DenseSpan<float>(destination), (float)low, (float)high);
        else if (destination.DType == DType.Float64) generator.FillUniform(DenseSpan<double>(destination), low, high);
        else throw new ArgumentException($"FillUniform: needs a floating dtype, got {destination.DType}.");
    }

    /// <inheritdoc />
    public void FillNormal(BufferView destination, Generator generator, double mean, double std)
    {
        if (destination.DType == DType.Float32) generator.FillNormal(DenseSpan<float>(destination), (float)mean, (float)std);
        else if (destination.DType == DType.Float64) generator.FillNormal(DenseSpan<double>(destination), mean, std);
        else throw new ArgumentException($"FillNormal: needs a floating dtype, got {destination.DType}.");
    }

    /// <inheritdoc />
    public void FillBernoulli(BufferView destination, Generator generator, double p)
    {
        if (destination.DType is DType.Bool or DType.UInt8)
        {
            generator.FillBernoulli(DenseSpan<byte>(destination), p);
            return;
        }
        var mask = Allocate(DType.UInt8, destination.Count);
        try
        {
            var view = BufferView.Contiguous(mask, destination.Shape);
            generator.FillBernoulli(DenseSpan<byte>(view), p);
            Copy(view, destination);
        }
        finally
        {
            mask.Release();
        }
    }

    static Span<T> DenseSpan<T>(BufferView v) where T : unmanaged
    {
        if (!v.IsContiguous) throw new ArgumentException("Random fills need a contiguous destination.");
        return Span<T>(v).Slice(v.Offset, v.Count);
    }
}
