using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using NeuralCore.Backends;
using NeuralCore.Gpu.Memory;

namespace NeuralCore.Gpu;

/// <summary>
/// The NeuralCore backend for one ILGPU accelerator (a CUDA or OpenCL GPU, or ILGPU's CPU simulator for tests).
/// Every <see cref="IBackend"/> kernel runs on the device; no op reads data back to the host except
/// <see cref="Download{T}"/>. Kernels are compiled once per accelerator and cached (see <see cref="Warmup"/>).
/// Split by op family into partial files, as the CPU backend.
/// </summary>
/// <remarks>
/// Index kernels (IndexSelect, IndexAdd, Gather, ScatterAdd, MaxPool2dBackward) check every index on the device:
/// an out-of-range index is skipped, never read or written outside a buffer, and recorded in a device-side error
/// flag; the next <see cref="Download{T}"/> then throws an <see cref="IndexOutOfRangeException"/> naming the op.
/// Input checks of the library (<see cref="IDeviceAssertions"/>) use the same flag and surface as an
/// <see cref="ArgumentException"/> at the next read; so does a class index outside [0, C) met by the fused
/// cross-entropy, with the CPU backend's message.
/// <para>
/// Besides <see cref="IBackend"/> it implements the optional fast paths <see cref="IFusedOptimizerKernels"/>,
/// <see cref="IFusedLossKernels"/>, bias-fused convolution and index-free max pooling, so a training step runs
/// one kernel per optimizer update, loss pass and biased convolution instead of their compositions.
/// </para>
/// </remarks>
public sealed partial class IlgpuBackend : IBackend, IMemoryStatsSource, IDeviceAssertions, IDisposable
{
    readonly Context? ownedContext;
    readonly DeviceMemoryPool pool;
    readonly ConcurrentDictionary<MethodInfo, (Delegate Launcher, bool Explicit)> kernels = new();
    readonly ConcurrentDictionary<string, long> fusedCalls = new();
    readonly MemoryBuffer1D<long, Stride1D.Dense> errors;
    readonly object transferGate = new();
    long uploads, uploadBytes, downloads, downloadBytes;
    int checkedKernelsSinceRead;
    bool disposed;

    /// <summary>Creates a backend over <paramref name="accelerator"/>, exposed as <paramref name="device"/>.</summary>
    /// <param name="accelerator">The ILGPU accelerator; the backend disposes it (and <paramref name="ownedContext"/>) in <see cref="Dispose"/>.</param>
    /// <param name="device">The device handle tensors carry.</param>
    /// <param name="ownedContext">The ILGPU context to dispose with the backend, if it owns one.</param>
    internal IlgpuBackend(Accelerator accelerator, Device device, Context? ownedContext = null)
    {
        Accelerator = accelerator;
        Device = device;
        this.ownedContext = ownedContext;
        pool = new DeviceMemoryPool(accelerator);
        errors = accelerator.Allocate1D<long>(ErrorSlots);
        errors.MemSetToZero();
        int maxGroup = Math.Max(1, accelerator.MaxNumThreadsPerGroup);
        ReduceGroupSize = 1 << Math.Min(8, 31 - System.Numerics.BitOperations.LeadingZeroCount((uint)maxGroup));
        TileSize = Math.Max(1, Math.Min(GemmMaxTile, (int)Math.Sqrt(maxGroup)));
    }

    /// <summary>The ILGPU accelerator this backend launches on.</summary>
    public Accelerator Accelerator { get; }

    /// <inheritdoc />
    public Device Device { get; }

    /// <inheritdoc />
    public string Name => Device.ToString();

    /// <summary>Threads per group of the reduction kernels (a power of two, at most 256).</summary>
    internal int ReduceGroupSize { get; }

    /// <summary>Side of the square GEMM thread tile (16 on GPUs; smaller when the accelerator allows fewer threads per group).</summary>
    internal int TileSize { get; }

    /// <summary>The kernels compiled so far, with whether each is explicitly grouped (for offline code-generation checks).</summary>
    internal IReadOnlyList<(MethodInfo Method, bool Explicit)> LoadedKernels =>
        kernels.Select(k => (k.Key, k.Value.Explicit)).ToList();

    /// <summary>How often each fused fast path (by method name, e.g. <c>AdamUpdate</c>) has been called, for tests that check which path an op took.</summary>
    internal long FusedCalls(string name) => fusedCalls.TryGetValue(name, out long n) ? n : 0;

    void CountFused(string name) => fusedCalls.AddOrUpdate(name, 1, static (_, n) => n + 1);

    /// <summary>Host↔device copies made through <see cref="Upload{T}"/> and <see cref="Download{T}"/> so far.</summary>
    public TransferStats Transfers
    {
        get { lock (transferGate) return new(uploads, uploadBytes, downloads, downloadBytes); }
    }

    /// <inheritdoc />
    public DeviceMemoryStats GetMemoryStats()
    {
        var t = Transfers;
        return new DeviceMemoryStats(pool.LiveBuffers, pool.UsedBytes, pool.PooledBytes, pool.AllocatedBytes)
        {
            Uploads = t.Uploads,
            UploadedBytes = t.UploadedBytes,
            Downloads = t.Downloads,
            DownloadedBytes = t.DownloadedBytes,
        };
    }

    /// <summary>Frees the pooled (unused) device buffers.</summary>
    public void TrimPool() => pool.Trim();

    /// <inheritdoc />
    /// <remarks>
    /// The largest power of two not above the device's memory: the pool rounds every request up to a power of
    /// two, so a larger request could never be served.
    /// </remarks>
    public long MaxAllocationBytes => pool.MaxRentBytes;

    /// <inheritdoc />
    public Storage Allocate(DType dtype, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ObjectDisposedException.ThrowIf(disposed, this);
        ShapeMath.RequireBytes("Allocate", length, dtype, this, $"a storage of {length} elements");
        return new IlgpuStorage(this, pool, dtype, length);
    }

    /// <inheritdoc />
    public void Upload<T>(ReadOnlySpan<T> source, Storage destination) where T : unmanaged
    {
        var view = Own(destination, "Upload").View<T>();
        if (source.Length > view.Length) throw new ArgumentException($"Upload: {source.Length} elements do not fit a storage of {destination.Length}.");
        lock (transferGate)
        {
            uploads++;
            uploadBytes += (long)source.Length * Marshal.SizeOf<T>();
        }
        if (source.IsEmpty) return;
        // The destination may be a pooled buffer that kernels still queued on the stream read (its previous
        // tensor was dropped): a host write must wait for them.
        Accelerator.Synchronize();
        // Pin the host memory for the whole copy: ILGPU turns the reference into an address, and a garbage collection that
        // moves an unpinned managed array during the copy would make it read (or, below, write) stale memory.
        unsafe
        {
            fixed (T* p = source) view.SubView(0, source.Length).CopyFromCPU(ref *p, source.Length);
        }
    }

    /// <inheritdoc />
    /// <exception cref="IndexOutOfRangeException">An index kernel launched since the last read met an out-of-range index.</exception>
    /// <exception cref="ArgumentException">
    /// A check queued by <see cref="AssertOnDevice"/> since the last read failed, or a fused cross-entropy met an
    /// out-of-range class index.
    /// </exception>
    public void Download<T>(BufferView source, Span<T> destination) where T : unmanaged
    {
        lock (transferGate)
        {
            downloads++;
            downloadBytes += (long)source.Count * Marshal.SizeOf<T>();
        }
        Accelerator.Synchronize();
        ThrowPendingDeviceError();
        if (source.Count == 0) return;
        if (!source.IsContiguous) throw new ArgumentException("Download needs a contiguous view.", nameof(source));
        unsafe
        {
            fixed (T* p = destination) View<T>(source).SubView(source.Offset, source.Count).CopyToCPU(ref *p, source.Count);
        }
        GC.KeepAlive(source.Storage);
    }

    /// <summary>Waits until every kernel launched so far has finished.</summary>
    public void Synchronize() => Accelerator.Synchronize();

    /// <summary>Compiles every kernel this backend can launch (all ops, all dtypes), so no compilation happens later in a loop.</summary>
    public void Warmup() => KernelWarmup.Run(this);

    /// <summary>Frees the device memory pool and the accelerator.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        pool.Dispose();
        errors.Dispose();
        Accelerator.Dispose();
        ownedContext?.Dispose();
    }

    IlgpuStorage Own(Storage s, string op) => s as IlgpuStorage is { } own && ReferenceEquals(own.Backend, this) ? own
        : throw new ArgumentException($"{op}: the {Device} backend was given memory of device {s.Backend.Device}; move tensors with To(device) first.");

    ArrayView<T> View<T>(BufferView v) where T : unmanaged => Own(v.Storage, Name).View<T>();

    /// <summary>The elements of a dense view, as a device view starting at its first one.</summary>
    ArrayView<T> Dense<T>(BufferView v) where T : unmanaged => View<T>(v).SubView(v.Offset, v.Count);

    // On ILGPU's CPU simulator every launch completes before the next op, so a wrong result points at a kernel
    // rather than at ordering (launches there are not tied to one ordered stream as on a GPU). On CUDA and OpenCL
    // launches stay asynchronous on the default stream, which runs them in order.
    void AfterLaunch()
    {
        if (Accelerator.AcceleratorType == AcceleratorType.CPU) Accelerator.Synchronize();
    }

    /// <summary>Loads (once) and returns the launcher of an implicitly grouped kernel.</summary>
    TLauncher Implicit<TKernel, TLauncher>(TKernel kernel, Func<TKernel, TLauncher> load) where TKernel : Delegate where TLauncher : Delegate =>
        (TLauncher)kernels.GetOrAdd(kernel.Method, _ => (load(kernel), false)).Launcher;

    /// <summary>Loads (once) and returns the launcher of an explicitly grouped kernel (shared memory, barriers).</summary>
    TLauncher Explicit<TKernel, TLauncher>(TKernel kernel, Func<TKernel, TLauncher> load) where TKernel : Delegate where TLauncher : Delegate =>
        (TLauncher)kernels.GetOrAdd(kernel.Method, _ => (load(kernel), true)).Launcher;
}

/// <summary>Host↔device copies made by an <see cref="IlgpuBackend"/>.</summary>
/// <param name="Uploads">Number of host-to-device copies.</param>
/// <param name="UploadedBytes">Bytes copied to the device.</param>
/// <param name="Downloads">Number of device-to-host copies.</param>
/// <param name="DownloadedBytes">Bytes copied to the host.</param>
public readonly record struct TransferStats(long Uploads, long UploadedBytes, long Downloads, long DownloadedBytes);
