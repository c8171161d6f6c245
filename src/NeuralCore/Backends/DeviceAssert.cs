using System.Globalization;

namespace NeuralCore.Backends;

/// <summary>
/// Input checks over values computed on a tensor's device, without a hidden host round trip where the backend
/// can check on the device (<see cref="IDeviceAssertions"/>). On the CPU, and on backends without the
/// capability, the condition is read and the exception thrown at once; elsewhere it is thrown at the next read
/// from that device. The message is the same everywhere.
/// </summary>
internal static class DeviceAssert
{
    /// <summary>
    /// Requires the single element of <paramref name="condition"/> (Bool) to be true; otherwise an
    /// <see cref="ArgumentException"/> with <c>string.Format(message, values...)</c>, where
    /// <paramref name="values"/> holds at most <see cref="IDeviceAssertions.MaxValues"/> elements (any dtype).
    /// </summary>
    public static void That(Tensor condition, Tensor values, string message)
    {
        if (condition.NumElements != 1 || condition.DType != DType.Bool)
            throw new ArgumentException($"DeviceAssert: the condition must be one Bool element, got {condition.DType} of shape {condition.Shape}.", nameof(condition));
        if (values.NumElements > IDeviceAssertions.MaxValues)
            throw new ArgumentException($"DeviceAssert: at most {IDeviceAssertions.MaxValues} values are reported, got {values.NumElements}.", nameof(values));
        using (Tensor.NoGrad())
        {
            var flat = values.Detach().Flatten().To(DType.Float64).To(condition.Device).Contiguous();
            if (!condition.Device.IsCpu && condition.Backend is IDeviceAssertions device)
            {
                device.AssertOnDevice(condition.Buf, flat.Buf, message);
                return;
            }
            if (condition.Item<bool>()) return;
            throw Failure(message, flat.ToArray<double>());
        }
    }

    /// <summary>The exception a failed check raises: the message formatted with the reported values.</summary>
    public static ArgumentException Failure(string message, ReadOnlySpan<double> values)
    {
        var args = new object[values.Length];
        for (int i = 0; i < args.Length; i++) args[i] = values[i];
        return new ArgumentException(string.Format(CultureInfo.CurrentCulture, message, args));
    }
}
