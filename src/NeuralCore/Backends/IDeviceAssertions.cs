namespace NeuralCore.Backends;

/// <summary>
/// Optional backend capability: checks on data that stays on the device. Reading a value to check it on the host
/// makes the host wait for every kernel queued before it, once per check; a backend that implements this
/// interface queues the check as one more kernel instead, records a failure in device memory, and raises it as an
/// <see cref="ArgumentException"/> at its next <see cref="IBackend.Download{T}"/> (e.g. <c>loss.Item()</c>).
/// Library code reaches it through an internal helper that checks at once on the CPU and on backends without
/// this interface, so every device rejects the same inputs with the same message.
/// </summary>
public interface IDeviceAssertions
{
    /// <summary>The most values <see cref="AssertOnDevice"/> reports with a failure.</summary>
    const int MaxValues = 4;

    /// <summary>
    /// Queues, after every kernel launched so far, a check that the single Bool element of
    /// <paramref name="condition"/> is true, without waiting for it. When it is false, the failure is recorded
    /// with the values of <paramref name="values"/> (the first failure since the last read wins), and the next
    /// download throws an <see cref="ArgumentException"/> whose message is
    /// <c>string.Format(<paramref name="message"/>, values...)</c>.
    /// </summary>
    /// <param name="condition">One Bool element (any shape holding one element).</param>
    /// <param name="values">A contiguous Float64 vector of at most <see cref="MaxValues"/> elements to report in the message.</param>
    /// <param name="message">A composite format string with placeholders {0}, {1}, ... for the values. Use one
    /// string per call site: a backend may keep every distinct message it was given.</param>
    /// <exception cref="ArgumentException">The operands do not have the required shapes or dtypes.</exception>
    void AssertOnDevice(BufferView condition, BufferView values, string message);
}
