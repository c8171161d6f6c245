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

    /// <summary>
    /// Downloads one-element <paramref name="scalars"/> (on one device) and every unread sum on that device in a
    /// single transfer, as Float64; the sums remember their values (their next <see cref="Read"/> downloads
    /// nothing). Returns the scalars' values in order. Sums on other devices are left to read on their own.
    /// </summary>
    public static double[] ReadWith(IReadOnlyList<Tensor> scalars, IEnumerable<DeviceSum> sums)
    {
        ArgumentOutOfRangeException.ThrowIfZero(scalars.Count);
        var device = scalars[0].Device;
        var pending = sums.Where(s => s.read is null && s.total is not null && s.total.Device.Equals(device)).ToList();
        using var noGrad = Tensor.NoGrad();
        using var scope = Tensor.Scope();
        var parts = new Tensor[scalars.Count + pending.Count];
        for (int i = 0; i < scalars.Count; i++)
        {
            if (scalars[i].NumElements != 1)
                throw new ArgumentException($"ReadWith: scalar {i} has shape {scalars[i].Shape}; one element expected.", nameof(scalars));
            parts[i] = scalars[i].Detach().To(device).To(DType.Float64).Reshape(1);
        }
        for (int i = 0; i < pending.Count; i++) parts[scalars.Count + i] = pending[i].total!.To(DType.Float64).Reshape(1);
        var values = Tensor.Cat(parts).ToArray<double>();
        for (int i = 0; i < pending.Count; i++) pending[i].read = values[scalars.Count + i];
        return values[..scalars.Count];
    }

    /// <summary>Forgets the sum and frees its device memory.</summary>
    public void Reset()
    {
        total?.Dispose();
        total = null;
        read = null;
    }
}
