using ILGPU;

namespace NeuralCore.Gpu.Kernels;

/// <summary>
/// Device-side checks that record a failure in the backend's error slots instead of reading data back: slot 0
/// holds the code of the first failure (0 while none), slots 1 and 2 an index error's index and limit, and the
/// slots from <see cref="FirstValueSlot"/> on the bits of the Float64 values an assertion reports.
/// </summary>
internal static class CheckKernels
{
    /// <summary>First slot of an assertion's reported values.</summary>
    public const int FirstValueSlot = 3;

    /// <summary>One thread: when condition[conditionAt] is false, records <paramref name="code"/> and the values (first failure wins).</summary>
    public static void Assert(Index1D i, ArrayView<byte> condition, int conditionAt, ArrayView<double> values, int valuesAt, int valueCount,
        ArrayView<long> errors, int code)
    {
        if (condition[conditionAt] != 0) return;
        if (Atomic.CompareExchange(ref errors[0], 0L, (long)code) != 0) return;
        for (int k = 0; k < valueCount; k++)
            errors[FirstValueSlot + k] = (long)Interop.FloatAsInt(values[valuesAt + k]);
    }
}
