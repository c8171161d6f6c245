using ILGPU;
using ILGPU.Runtime;
using NeuralCore.Backends;
using NeuralCore.Gpu.Kernels;

namespace NeuralCore.Gpu;

public sealed partial class IlgpuBackend
{
    const int ErrorSlots = CheckKernels.FirstValueSlot + IDeviceAssertions.MaxValues;

    /// <summary>Error codes of assertions start here; the index ops use 1..<see cref="IndexOps"/>.Length.</summary>
    const int FirstAssertionCode = 1 << 16;

    /// <summary>The distinct assertion messages, by code − <see cref="FirstAssertionCode"/> (one per call site).</summary>
    readonly List<string> assertionMessages = [];
    readonly Dictionary<string, int> assertionCodes = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public void AssertOnDevice(BufferView condition, BufferView values, string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var kernel = Implicit<Action<Index1D, ArrayView<byte>, int, ArrayView<double>, int, int, ArrayView<long>, int>,
            Action<Index1D, ArrayView<byte>, int, ArrayView<double>, int, int, ArrayView<long>, int>>(
            CheckKernels.Assert, k => Accelerator.LoadAutoGroupedStreamKernel(k));
        if (condition.DType != DType.Bool || condition.Count != 1)
            throw new ArgumentException($"AssertOnDevice: the condition must be one Bool element, got {condition.DType} of shape {ShapeMath.Format(condition.Shape)}.", nameof(condition));
        if (values.DType != DType.Float64 || values.Rank != 1 || !values.IsContiguous || values.Count > IDeviceAssertions.MaxValues)
            throw new ArgumentException($"AssertOnDevice: the values must be a contiguous Float64 vector of at most {IDeviceAssertions.MaxValues} elements, got {values.DType} of shape {ShapeMath.Format(values.Shape)}.", nameof(values));
        int code;
        lock (assertionMessages)
        {
            if (!assertionCodes.TryGetValue(message, out code))
            {
                assertionCodes[message] = code = assertionMessages.Count;
                assertionMessages.Add(message);
            }
        }
        code += FirstAssertionCode;
        Interlocked.Increment(ref checkedKernelsSinceRead);
        kernel(1, View<byte>(condition), condition.Offset, View<double>(values), values.Offset, values.Count, errors.View, code);
        AfterLaunch();
    }

    /// <summary>Compiles the assertion kernel (for <see cref="KernelWarmup"/>), launching nothing.</summary>
    internal void LoadCheckKernels() =>
        Implicit<Action<Index1D, ArrayView<byte>, int, ArrayView<double>, int, int, ArrayView<long>, int>,
            Action<Index1D, ArrayView<byte>, int, ArrayView<double>, int, int, ArrayView<long>, int>>(
            CheckKernels.Assert, k => Accelerator.LoadAutoGroupedStreamKernel(k));

    // Called after a synchronize by every download: raises the first failure a checking kernel recorded since the
    // last read (index kernels and assertions), and clears the slots.
    void ThrowPendingDeviceError()
    {
        if (Interlocked.Exchange(ref checkedKernelsSinceRead, 0) == 0) return;
        Span<long> slots = stackalloc long[ErrorSlots];   // stack memory: no collection can move it during the copy
        errors.View.CopyToCPU(ref slots[0], ErrorSlots);
        if (slots[0] == 0) return;
        errors.MemSetToZero();
        Accelerator.Synchronize();
        long code = slots[0];
        if (code >= FirstAssertionCode)
        {
            string message;
            lock (assertionMessages) message = assertionMessages[(int)(code - FirstAssertionCode)];
            var values = new double[IDeviceAssertions.MaxValues];
            for (int k = 0; k < values.Length; k++) values[k] = BitConverter.Int64BitsToDouble(slots[CheckKernels.FirstValueSlot + k]);
            throw DeviceAssert.Failure(message, values);
        }
        string op = code >= 1 && code <= IndexOps.Length ? IndexOps[code - 1] : "an index kernel";
        string where = $"found on {Device} by a kernel launched before this read; the results of that op are invalid";
        // A class index is an argument of the loss, not an index into a tensor: the CPU backend's exception and message.
        if (op == "CrossEntropy")
            throw new ArgumentException($"CrossEntropy: target {slots[1]} is out of range for {slots[2]} classes ({where}).");
        throw new IndexOutOfRangeException($"{op}: index {slots[1]} is out of range for a dimension of size {slots[2]} ({where}).");
    }
}
