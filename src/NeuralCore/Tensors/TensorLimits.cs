using NeuralCore.Backends;

namespace NeuralCore;

/// <summary>
/// The largest tensors the library creates. Every op computes its output shape in 64-bit arithmetic and checks it
/// against these limits before it allocates memory or runs a kernel; a request over a limit throws an
/// <see cref="ArgumentException"/> that names the op, the shapes and the limit (tensors read from a file throw
/// <see cref="System.IO.InvalidDataException"/> instead), never an overflow, a crash or an
/// <see cref="OutOfMemoryException"/>.
/// </summary>
/// <remarks>
/// Two limits apply. <see cref="MaxElements"/> holds on every device: shapes, strides and offsets are 32-bit, so
/// a tensor has at most <see cref="int.MaxValue"/> elements (a tensor with no elements may have any sizes up to
/// that value). <see cref="MaxBytes"/> is what one allocation of a device's backend can give: 1 GiB on the CPU
/// (<see cref="CpuMaxBytes"/>, the largest size class of its memory pool), and on a GPU the largest power of two
/// not above the device's memory. Both bound the result of an op, and also the temporary buffers (im2col
/// columns, packed GEMM panels) that an op needs on its way. Whether memory is actually free at that moment is
/// a separate question: a request within the limits can still fail with the runtime's out-of-memory error.
/// </remarks>
public static class TensorLimits
{
    /// <summary>The most elements one tensor can have on any device: <see cref="int.MaxValue"/> (2^31 − 1).</summary>
    public const long MaxElements = int.MaxValue;

    /// <summary>The most bytes one CPU tensor can occupy: 1 GiB.</summary>
    public const long CpuMaxBytes = 1L << 30;

    /// <summary>The most bytes one tensor (or one temporary buffer of an op) can occupy on <paramref name="device"/>.</summary>
    /// <exception cref="InvalidOperationException">No registered backend provides <paramref name="device"/>.</exception>
    public static long MaxBytes(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return BackendRegistry.For(device).MaxAllocationBytes;
    }

    /// <summary>
    /// The most elements of <paramref name="dtype"/> one tensor can have on <paramref name="device"/>: the smaller
    /// of <see cref="MaxElements"/> and <see cref="MaxBytes"/> divided by the element size.
    /// </summary>
    public static long MaxElementsOf(DType dtype, Device device) => Math.Min(MaxElements, MaxBytes(device) / dtype.SizeOf());
}
