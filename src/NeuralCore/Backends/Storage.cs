namespace NeuralCore.Backends;

/// <summary>
/// A block of device memory holding <see cref="Length"/> elements of one <see cref="DType"/>. Tensors and
/// their views share a storage; it returns its memory to its backend's pool when the last tensor using it
/// is disposed, or, when nobody disposes, when the garbage collector finds it unreachable.
/// </summary>
public abstract class Storage
{
    int refCount;
    int released;

    /// <summary>Creates the bookkeeping for a freshly allocated block.</summary>
    protected Storage(IBackend backend, DType dtype, int length)
    {
        Backend = backend;
        DType = dtype;
        Length = length;
    }

    /// <summary>The backend that owns this memory.</summary>
    public IBackend Backend { get; }

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    /// <summary>Size in bytes.</summary>
    public long ByteLength => (long)Length * DType.SizeOf();

    /// <summary>True once the memory went back to the pool; any further access is a bug.</summary>
    public bool IsReleased => Volatile.Read(ref released) != 0;

    internal void AddRef() => Interlocked.Increment(ref refCount);

    internal void RemoveRef()
    {
        if (Interlocked.Decrement(ref refCount) == 0) Release();
    }

    /// <summary>Returns the memory to the backend now. Safe to call more than once.</summary>
    internal void Release()
    {
        if (Interlocked.Exchange(ref released, 1) != 0) return;
        GC.SuppressFinalize(this);
        Free();
    }

    /// <summary>Gives the memory back to the backend's pool. Called exactly once.</summary>
    protected abstract void Free();

    /// <summary>Finalizer: tensors that were never disposed return their memory here.</summary>
    ~Storage()
    {
        if (Interlocked.Exchange(ref released, 1) == 0) Free();
    }
}
