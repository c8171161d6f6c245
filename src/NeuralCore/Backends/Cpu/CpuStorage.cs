using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NeuralCore.Backends.Cpu;

/// <summary>CPU memory: a pinned pooled byte array reinterpreted as the storage's element type.</summary>
internal sealed unsafe class CpuStorage : Storage
{
    readonly CpuMemoryPool pool;
    byte[]? array;

    public CpuStorage(CpuBackend backend, CpuMemoryPool pool, DType dtype, int length)
        : base(backend, dtype, length)
    {
        this.pool = pool;
        array = pool.Rent(Math.Max(1L, (long)length * dtype.SizeOf()));
    }

    byte[] Array => array ?? throw new ObjectDisposedException(nameof(Tensor), "The tensor's memory was already released (Dispose or the end of its Tensor.Scope).");

    /// <summary>The elements as a span of <typeparamref name="T"/>.</summary>
    public Span<T> AsSpan<T>() where T : unmanaged =>
        MemoryMarshal.Cast<byte, T>(Array.AsSpan(0, Length * sizeof(T)));

    /// <summary>Pointer to element 0; valid while the storage is alive (the array is pinned).</summary>
    public T* Pointer<T>() where T : unmanaged => (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(Array));

    /// <summary>Reference to element 0.</summary>
    public ref T Ref<T>() where T : unmanaged => ref Unsafe.As<byte, T>(ref MemoryMarshal.GetArrayDataReference(Array));

    protected override void Free()
    {
        var a = Interlocked.Exchange(ref array, null);
        if (a is not null) pool.Return(a);
    }
}
