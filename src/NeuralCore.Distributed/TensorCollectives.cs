namespace NeuralCore.Distributed;

/// <summary>
/// A communicator that moves tensors on an accelerator directly (device-to-device, as NCCL does), without staging
/// them through host memory. <see cref="TensorCollectives"/> hands it the tensors whose device it accepts; every
/// other tensor is staged through host arrays and the host collectives of <see cref="ICommunicator"/>.
/// </summary>
public interface IDeviceCollectives
{
    /// <summary>Whether tensors on <paramref name="device"/> are handled by this interface.</summary>
    /// <param name="device">The tensor's device.</param>
    bool Accepts(Device device);

    /// <summary>In-place allreduce of a tensor on an accepted device.</summary>
    /// <param name="tensor">Input and output.</param>
    /// <param name="op">How values combine.</param>
    void AllReduce(Tensor tensor, ReduceOp op);

    /// <summary>In-place broadcast of a tensor on an accepted device.</summary>
    /// <param name="tensor">Source on the root, destination elsewhere.</param>
    /// <param name="root">The sending rank.</param>
    void Broadcast(Tensor tensor, int root);
}

/// <summary>
/// Collectives on tensors. Tensors of any device work: unless the communicator implements
/// <see cref="IDeviceCollectives"/> for that device, the data is copied to a host array, exchanged, and copied
/// back. Element types: Float32, Float64, Int32, Int64. In-place forms write into the tensor (outside autograd).
/// </summary>
public static class TensorCollectives
{
    /// <summary>Allreduce in place: every rank's <paramref name="tensor"/> becomes the reduction over ranks.</summary>
    /// <param name="communicator">The ranks.</param>
    /// <param name="tensor">The same shape on every rank.</param>
    /// <param name="op">How values combine.</param>
    /// <exception cref="ArgumentException">The dtype is not supported.</exception>
    public static void AllReduce(this ICommunicator communicator, Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ArgumentNullException.ThrowIfNull(tensor);
        if (communicator is IDeviceCollectives d && d.Accepts(tensor.Device))
        {
            d.AllReduce(tensor, op);
            return;
        }
        InPlace(tensor, "AllReduce", new Host(communicator, op, 0, Kind.AllReduce));
    }

    /// <summary>Broadcast in place: every rank's <paramref name="tensor"/> becomes rank <paramref name="root"/>'s.</summary>
    /// <param name="communicator">The ranks.</param>
    /// <param name="tensor">The same shape on every rank.</param>
    /// <param name="root">The sending rank.</param>
    /// <exception cref="ArgumentException">The dtype is not supported.</exception>
    public static void Broadcast(this ICommunicator communicator, Tensor tensor, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ArgumentNullException.ThrowIfNull(tensor);
        if (communicator is IDeviceCollectives d && d.Accepts(tensor.Device))
        {
            d.Broadcast(tensor, root);
            return;
        }
        InPlace(tensor, "Broadcast", new Host(communicator, ReduceOp.Sum, root, Kind.Broadcast));
    }

    /// <summary>Every rank's <paramref name="tensor"/> concatenated along dimension 0, in rank order.</summary>
    /// <param name="communicator">The ranks.</param>
    /// <param name="tensor">The same shape on every rank, at least 1-d.</param>
    /// <returns>Shape [WorldSize × d0, d1, …] on the tensor's device.</returns>
    /// <exception cref="ArgumentException">The tensor is 0-d or its dtype is not supported.</exception>
    public static Tensor AllGather(this ICommunicator communicator, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Dim == 0) throw new ArgumentException($"AllGather: the tensor needs a dimension to concatenate along, got shape {tensor.Shape}.", nameof(tensor));
        var shape = tensor.Shape.ToArray();
        shape[0] *= communicator.WorldSize;
        return Gathered(tensor, shape, "AllGather", new Host(communicator, ReduceOp.Sum, 0, Kind.AllGather));
    }

    /// <summary>The reduction over ranks of <paramref name="tensor"/>, cut along dimension 0 into WorldSize equal blocks; rank r gets block r.</summary>
    /// <param name="communicator">The ranks.</param>
    /// <param name="tensor">The same shape on every rank; dimension 0 divisible by the world size.</param>
    /// <param name="op">How values combine.</param>
    /// <returns>Shape [d0 / WorldSize, d1, …] on the tensor's device.</returns>
    /// <exception cref="ArgumentException">Dimension 0 is not divisible by the world size, the tensor is 0-d, or its dtype is not supported.</exception>
    public static Tensor ReduceScatter(this ICommunicator communicator, Tensor tensor, ReduceOp op = ReduceOp.Sum)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Dim == 0 || tensor.Shape[0] % communicator.WorldSize != 0)
            throw new ArgumentException($"ReduceScatter: dimension 0 of shape {tensor.Shape} must split evenly over {communicator.WorldSize} ranks.", nameof(tensor));
        var shape = tensor.Shape.ToArray();
        shape[0] /= communicator.WorldSize;
        return Gathered(tensor, shape, "ReduceScatter", new Host(communicator, op, 0, Kind.ReduceScatter));
    }

    /// <summary>Waits until every rank has reached the barrier.</summary>
    /// <param name="communicator">The ranks.</param>
    public static void Barrier(this ICommunicator communicator)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        communicator.BarrierAsync().GetAwaiter().GetResult();
    }

    enum Kind { AllReduce, Broadcast, AllGather, ReduceScatter }

    readonly record struct Host(ICommunicator Communicator, ReduceOp Op, int Root, Kind Kind)
    {
        public T[] Run<T>(T[] data) where T : unmanaged, System.Numerics.INumber<T>
        {
            var c = Communicator;
            switch (Kind)
            {
                case Kind.AllReduce: c.AllReduceAsync(data, Op).GetAwaiter().GetResult(); return data;
                case Kind.Broadcast: c.BroadcastAsync(data, Root).GetAwaiter().GetResult(); return data;
                case Kind.AllGather:
                {
                    var all = new T[(long)data.Length * c.WorldSize];
                    c.AllGatherAsync(data, all).GetAwaiter().GetResult();
                    return all;
                }
                default:
                {
                    var part = new T[data.Length / c.WorldSize];
                    c.ReduceScatterAsync(data, part, Op).GetAwaiter().GetResult();
                    return part;
                }
            }
        }
    }

    static void InPlace(Tensor tensor, string op, Host host)
    {
        var result = Gathered(tensor, tensor.Shape.ToArray(), op, host);
        using (Tensor.NoGrad()) tensor.Copy_(result);
    }

    static Tensor Gathered(Tensor tensor, long[] shape, string op, Host host) => tensor.DType switch
    {
        DType.Float32 => Stage<float>(tensor, shape, host),
        DType.Float64 => Stage<double>(tensor, shape, host),
        DType.Int32 => Stage<int>(tensor, shape, host),
        DType.Int64 => Stage<long>(tensor, shape, host),
        _ => throw new ArgumentException($"{op}: tensors of dtype {tensor.DType} are not supported; use Float32, Float64, Int32 or Int64.", nameof(tensor)),
    };

    static Tensor Stage<T>(Tensor tensor, long[] shape, Host host) where T : unmanaged, System.Numerics.INumber<T>
    {
        return FromHost(host.Run(tensor.ToArray<T>()), shape, tensor.Device);
    }

    /// <summary>A tensor of <paramref name="shape"/> (0-d too) on <paramref name="device"/> holding <paramref name="data"/>.</summary>
    internal static Tensor FromHost<T>(T[] data, long[] shape, Device device) where T : unmanaged
    {
        var result = Tensor.FromArray(data, data.Length).Reshape(shape);
        return device.Equals(Device.Cpu) ? result : result.To(device);
    }
}
