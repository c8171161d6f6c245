using NeuralCore.Autograd;
using NeuralCore.Backends;

namespace NeuralCore;

/// <summary>
/// An n-dimensional array on a device, with optional reverse-mode autograd. A tensor is a strided view
/// (shape, strides, offset) onto a <see cref="Storage"/>; views such as <see cref="Transpose"/> or
/// <see cref="Narrow"/> share storage with their base. Operations follow PyTorch's semantics and names.
/// <see cref="Dispose"/> is optional: memory of unreachable tensors returns to the pool on its own.
/// </summary>
public sealed partial class Tensor : IDisposable
{
    // Not readonly: ReplaceData swaps the data under a tensor whose identity must survive (a module's
    // parameter moved to another device or loaded from a checkpoint, as PyTorch's `param.data = ...`).
    internal Storage storage;
    internal int[] shape;
    internal int[] strides;
    internal int offset;
    bool requiresGrad;
    bool disposed;
    internal TensorScope? scope;

    internal Tensor(Storage storage, int[] shape, int[] strides, int offset)
    {
        this.storage = storage;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        storage.AddRef();
        TensorScope.Track(this);
    }

    /// <summary>The sizes of the dimensions.</summary>
    public Shape Shape => new(shape);

    /// <summary>The element type.</summary>
    public DType DType => storage.DType;

    /// <summary>The device holding the data.</summary>
    public Device Device => storage.Backend.Device;

    /// <summary>Total number of elements.</summary>
    public long NumElements => ShapeMath.Product(shape);

    /// <summary>Number of dimensions.</summary>
    public int Dim => shape.Length;

    /// <summary>Size of dimension <paramref name="dim"/> (negative counts from the end).</summary>
    public long Size(int dim) => shape[ShapeMath.NormalizeDim(dim, Dim, "Size")];

    /// <summary>Element strides per dimension.</summary>
    public long[] Stride()
    {
        var r = new long[strides.Length];
        for (int i = 0; i < r.Length; i++) r[i] = strides[i];
        return r;
    }

    /// <summary>True when the elements are dense and row-major.</summary>
    public bool IsContiguous => ShapeMath.IsContiguous(shape, strides);

    /// <summary>Whether gradients are tracked for this tensor. Set it on leaves with <see cref="RequiresGrad_"/>.</summary>
    public bool RequiresGrad
    {
        get => requiresGrad;
        set => RequiresGrad_(value);
    }

    /// <summary>The accumulated gradient of a leaf after <see cref="Backward"/>; null before.</summary>
    public Tensor? Grad { get; set; }

    /// <summary>The node that produced this tensor in the autograd graph; null for leaves.</summary>
    internal Node? GradFn { get; set; }

    /// <summary>Name of the op that produced this tensor (e.g. "MulBackward"), or null for leaves.</summary>
    public string? GradFnName => GradFn is null ? null : GradFn.Rule.Name + "Backward";

    /// <summary>True for tensors created by the user rather than by a tracked op.</summary>
    public bool IsLeaf => GradFn is null;

    /// <summary>True once <see cref="Dispose"/> released this tensor.</summary>
    public bool IsDisposed => disposed;

    internal IBackend Backend => storage.Backend;

    internal BufferView Buf
    {
        get
        {
            ThrowIfDisposed();
            return new BufferView(storage, shape, strides, offset);
        }
    }

    internal void ThrowIfDisposed()
    {
        if (disposed || storage.IsReleased)
            throw new ObjectDisposedException(nameof(Tensor), "This tensor was disposed (explicitly or at the end of its Tensor.Scope) and can no longer be used.");
    }

    /// <summary>Sets whether autograd tracks this tensor; only leaves can change it. Returns this tensor.</summary>
    /// <exception cref="InvalidOperationException">The tensor is not a leaf, or is not floating point.</exception>
    public Tensor RequiresGrad_(bool requiresGrad = true)
    {
        if (!IsLeaf)
            throw new InvalidOperationException($"RequiresGrad_: only leaf tensors can change requires-grad; this one was produced by {GradFnName}. Use Detach() first.");
        if (requiresGrad && !DType.IsFloatingPoint())
            throw new InvalidOperationException($"RequiresGrad_: only floating-point tensors can require gradients, this one is {DType}.");
        this.requiresGrad = requiresGrad;
        // A parameter created inside a scope outlives it.
        if (requiresGrad) scope = null;
        return this;
    }

    internal void MarkRequiresGrad() => requiresGrad = true;

    /// <summary>A tensor sharing this one's storage but cut from the autograd graph.</summary>
    public Tensor Detach() => new(storage, shape, strides, offset);

    /// <summary>
    /// Makes this tensor view <paramref name="source"/>'s data (storage, shape, strides, dtype, device) while
    /// keeping its identity, autograd flags and gradient slot. Used to move parameters between devices.
    /// </summary>
    internal void ReplaceData(Tensor source)
    {
        ThrowIfDisposed();
        source.ThrowIfDisposed();
        var old = storage;
        source.storage.AddRef();
        storage = source.storage;
        shape = (int[])source.shape.Clone();
        strides = (int[])source.strides.Clone();
        offset = source.offset;
        old.RemoveRef();
    }

    /// <summary>Releases this tensor's hold on its storage now; the memory returns to the pool when no view uses it.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        scope = null;
        storage.RemoveRef();
    }

    /// <summary>Removes this tensor from the <see cref="Scope"/> it was created in, so the scope will not dispose it.</summary>
    public Tensor DetachFromScope()
    {
        scope = null;
        return this;
    }

    /// <summary>
    /// Starts a scope: tensors created on this thread until the scope is disposed are disposed with it, except
    /// leaves that require grad, gradients stored in <see cref="Grad"/>, and tensors passed to
    /// <see cref="TensorScope.Keep"/> or <see cref="DetachFromScope"/>. Scopes nest.
    /// </summary>
    public static TensorScope Scope() => TensorScope.Begin();

    /// <summary>
    /// Disables gradient tracking on this thread until the returned handle is disposed:
    /// <c>using (Tensor.NoGrad()) { ... }</c>.
    /// </summary>
    public static IDisposable NoGrad() => GradMode.Disable();

    /// <summary>True when ops on this thread record the autograd graph.</summary>
    public static bool IsGradEnabled => GradMode.Enabled;

    /// <summary>
    /// Computes the gradient of this tensor with respect to the graph's leaves and accumulates it into their
    /// <see cref="Grad"/>. A non-scalar tensor needs an explicit <paramref name="gradient"/> of its shape.
    /// The graph is freed afterwards unless <paramref name="retainGraph"/> is true.
    /// </summary>
    public void Backward(Tensor? gradient = null, bool retainGraph = false) => Engine.Backward(this, gradient, retainGraph);
}
