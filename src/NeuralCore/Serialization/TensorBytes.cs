using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace NeuralCore.Serialization;

/// <summary>Moves tensor elements to and from the little-endian byte layout of safetensors.</summary>
internal static class TensorBytes
{
    /// <summary>Number of bytes <paramref name="tensor"/> occupies in a file.</summary>
    public static long ByteLength(Tensor tensor) => tensor.NumElements * tensor.DType.SizeOf();

    /// <summary>
    /// Writes the elements of <paramref name="tensor"/> in row-major order into <paramref name="destination"/>
    /// (exactly <see cref="ByteLength"/> bytes). Views are made contiguous and device tensors are read back; the
    /// tensor itself is left as it is.
    /// </summary>
    public static void CopyTo(Tensor tensor, Span<byte> destination)
    {
        var src = tensor.ContiguousRaw();
        switch (tensor.DType.SizeOf())
        {
            case 1:
                src.Backend.Download(src.Buf, destination);
                break;
            case 4:
                var ints = MemoryMarshal.Cast<byte, int>(destination);
                src.Backend.Download(src.Buf, ints);
                if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(ints, ints);
                break;
            default:
                var longs = MemoryMarshal.Cast<byte, long>(destination);
                src.Backend.Download(src.Buf, longs);
                if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(longs, longs);
                break;
        }
    }

    /// <summary>
    /// A new CPU tensor of shape <paramref name="dims"/> holding <paramref name="bytes"/> as stored in a file with
    /// dtype <paramref name="dtype"/>. Bool bytes other than 0 are read as true (as NumPy and PyTorch do);
    /// F16 and BF16 are widened to Float32.
    /// </summary>
    public static Tensor Create(SafeTensorsDType dtype, int[] dims, ReadOnlySpan<byte> bytes)
    {
        var t = Tensor.Empty(dims, dtype.TensorDType, Device.Cpu);
        if (dtype.Name == "F16" || dtype.Name == "BF16")
        {
            var floats = new float[bytes.Length / 2];
            for (int i = 0; i < floats.Length; i++)
            {
                var raw = bytes.Slice(2 * i, 2);
                floats[i] = dtype.Name == "F16"
                    ? (float)BinaryPrimitives.ReadHalfLittleEndian(raw)
                    : BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(raw) << 16);
            }
            t.Backend.Upload<float>(floats, t.storage);
            return t;
        }
        switch (dtype.FileElementSize)
        {
            case 1 when dtype.TensorDType == DType.Bool && bytes.ContainsAnyExcept((byte)0, (byte)1):
                var normalised = new byte[bytes.Length];
                for (int i = 0; i < bytes.Length; i++) normalised[i] = bytes[i] == 0 ? (byte)0 : (byte)1;
                t.Backend.Upload<byte>(normalised, t.storage);
                break;
            case 1:
                t.Backend.Upload(bytes, t.storage);
                break;
            case 4:
                UploadWide(t, MemoryMarshal.Cast<byte, int>(bytes));
                break;
            default:
                UploadWide(t, MemoryMarshal.Cast<byte, long>(bytes));
                break;
        }
        return t;
    }

    static void UploadWide<T>(Tensor t, ReadOnlySpan<T> littleEndian) where T : unmanaged
    {
        if (BitConverter.IsLittleEndian)
        {
            t.Backend.Upload(littleEndian, t.storage);
            return;
        }
        var swapped = littleEndian.ToArray();
        if (typeof(T) == typeof(int)) BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<T, int>(swapped.AsSpan()), MemoryMarshal.Cast<T, int>(swapped.AsSpan()));
        else BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<T, long>(swapped.AsSpan()), MemoryMarshal.Cast<T, long>(swapped.AsSpan()));
        t.Backend.Upload<T>(swapped, t.storage);
    }
}
