using NeuralCore.Backends.Cpu;

namespace NeuralCore.Compression;

/// <summary>
/// Direct access to the memory of Float32 CPU tensors for the int8 layers: the input is read where it lies (after
/// making it contiguous when it is a strided view) and the output is written into a new tensor's storage, so a forward
/// pass copies neither. CPU storage lives on the pinned object heap, so the pointers stay valid while the tensors live.
/// </summary>
internal static unsafe class CpuTensorMemory
{
    /// <summary>
    /// Element 0 of <paramref name="x"/> (Float32, CPU) in row-major order. <paramref name="owner"/> is the tensor
    /// that holds the elements (<paramref name="x"/> itself, or a contiguous copy); keep it alive while reading.
    /// </summary>
    public static float* Read(Tensor x, out Tensor owner)
    {
        owner = x.ContiguousRaw();
        return Storage(owner).Pointer<float>() + owner.offset;
    }

    /// <summary>A new Float32 CPU tensor of <paramref name="shape"/>; <paramref name="values"/> points at its (uninitialised) elements.</summary>
    public static Tensor Create(int[] shape, string op, out float* values)
    {
        var t = Tensor.Empty(shape, DType.Float32, Device.Cpu, op);
        values = Storage(t).Pointer<float>();
        return t;
    }

    static CpuStorage Storage(Tensor t) => t.storage as CpuStorage
        ?? throw new InvalidOperationException($"Int8 layers: expected a tensor in CPU memory, got one on {t.Device}.");
}
