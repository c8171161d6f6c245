using NeuralCore.Autograd;
using NeuralCore.Autograd.Rules;
using NeuralCore.Backends;

namespace NeuralCore;

public sealed partial class Tensor
{
    /// <summary>A tensor of <paramref name="dtype"/> (this tensor itself when it already has it). Differentiable between floating dtypes.</summary>
    public Tensor To(DType dtype)
    {
        if (dtype == DType) return this;
        var r = CastRaw(dtype);
        return dtype.IsFloatingPoint() && DType.IsFloatingPoint() ? Engine.Record(r, MovementRules.Cast, [this]) : r;
    }

    /// <summary>The tensor on <paramref name="device"/> (this tensor itself when already there). Differentiable.</summary>
    public Tensor To(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device.Equals(Device)) return this;
        var target = BackendRegistry.For(device);
        var src = ContiguousRaw();
        var r = Empty((int[])shape.Clone(), DType, target);
        switch (DType.SizeOf())
        {
            case 1: Transfer<byte>(src, r); break;
            case 4: Transfer<int>(src, r); break;
            default: Transfer<long>(src, r); break;
        }
        return Engine.Record(r, MovementRules.ToDevice, [this]);
    }

    static void Transfer<T>(Tensor src, Tensor dst) where T : unmanaged
    {
        var host = new T[src.NumElements];
        // T has the dtype's size, so the raw elements move unchanged whatever the dtype.
        src.Backend.Download(src.Buf, host.AsSpan());
        dst.Backend.Upload<T>(host, dst.storage);
    }

    internal Tensor CastRaw(DType dtype)
    {
        var r = Empty((int[])shape.Clone(), dtype, Backend);
        Backend.Copy(Buf, r.Buf);
        return r;
    }

    internal Tensor ContiguousRaw() => IsContiguous ? this : CopyRaw();

    internal Tensor CopyRaw()
    {
        var r = Empty((int[])shape.Clone(), DType, Backend);
        Backend.Copy(Buf, r.Buf);
        return r;
    }

    /// <summary>This tensor if its elements are dense and row-major, else a dense copy. Differentiable.</summary>
    public Tensor Contiguous() => IsContiguous ? this : Engine.Record(CopyRaw(), MovementRules.Identity, [this]);

    /// <summary>A copy with its own storage. Differentiable.</summary>
    public Tensor Clone() => Engine.Record(CopyRaw(), MovementRules.Identity, [this]);

    /// <summary>Same as <c>To(DType.Float32)</c>.</summary>
    public Tensor Float() => To(DType.Float32);

    /// <summary>Same as <c>To(DType.Float64)</c>.</summary>
    public Tensor Double() => To(DType.Float64);

    /// <summary>Same as <c>To(DType.Int64)</c>.</summary>
    public Tensor Long() => To(DType.Int64);

    /// <summary>Same as <c>To(DType.Int32)</c>.</summary>
    public Tensor Int() => To(DType.Int32);

    /// <summary>Same as <c>To(DType.Bool)</c>.</summary>
    public Tensor Bool() => To(DType.Bool);
}
