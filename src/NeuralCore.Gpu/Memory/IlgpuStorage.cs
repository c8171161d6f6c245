using ILGPU;
using ILGPU.Runtime;
using NeuralCore.Backends;

namespace NeuralCore.Gpu.Memory;

/// <summary>Device memory of one tensor storage: a pooled byte buffer seen as the storage's element type.</summary>
internal sealed class IlgpuStorage : Storage
{
    readonly DeviceMemoryPool pool;
    MemoryBuffer1D<byte, Stride1D.Dense>? buffer;

    public IlgpuStorage(IlgpuBackend backend, DeviceMemoryPool pool, DType dtype, int length)
        : base(backend, dtype, length)
    {
        this.pool = pool;
        buffer = pool.Rent(Math.Max(1L, (long)length * dtype.SizeOf()));
    }

    MemoryBuffer1D<byte, Stride1D.Dense> Buffer => buffer ?? throw new ObjectDisposedException(nameof(Tensor),
        "The tensor's device memory was already released (Dispose or the end of its Tensor.Scope).");

    /// <summary>The whole pooled buffer as elements of <typeparamref name="T"/> (may extend past <see cref="Storage.Length"/>).</summary>
    public ArrayView<T> View<T>() where T : unmanaged => Buffer.View.AsContiguous().Cast<T>();

    protected override void Free()
    {
        var b = Interlocked.Exchange(ref buffer, null);
        if (b is not null) pool.Return(b);
    }
}
