namespace NeuralCore.Training;

/// <summary>
/// A running sum of 0-d partials kept on their device, so that accumulating a batch never waits for the device;
/// <see cref="Read"/> downloads it once (and again only after the next <see cref="Add"/>). Partials are added in
/// order in the first partial's dtype, so a Float64 sum gives the same bits as adding the read values on the host.
/// </summary>
internal sealed class DeviceSum
{
    Tensor? total;
    double? read;

    /// <summary>Adds a one-element partial (the sum keeps the first partial's dtype and device).</summary>
    public void Add(Tensor partial)
    {
        using var noGrad = Tensor.NoGrad();
        read = null;
        total ??= Tensor.Zeros([], partial.DType, partial.Device).DetachFromScope();
        total.Add_(partial.Reshape().To(total.Device).To(total.DType));
    }

    /// <summary>The sum (0 before any <see cref="Add"/>), read from the device at most once per change.</summary>
    public double Read() => read ??= total?.Item<double>() ?? 0;

    /// <summary>Forgets the sum and frees its device memory.</summary>
    public void Reset()
    {
        total?.Dispose();
        total = null;
        read = null;
    }
}
