using System.Runtime.InteropServices;
using Google.Protobuf;
using NeuralCore.Onnx.Protos;

namespace NeuralCore.Onnx;

/// <summary>Converts between NeuralCore tensors and ONNX <see cref="TensorProto"/> values (little-endian raw data).</summary>
public static class OnnxTensors
{
    /// <summary>The most elements one imported tensor may hold (2³¹ − 1, the largest .NET array).</summary>
    public const long MaxElements = int.MaxValue;

    /// <summary>
    /// Encodes a tensor as the ONNX type it was imported from (<see cref="FromProto"/> widens INT8 to Int32 and INT32
    /// to Int64, so those are narrowed back); other types as <see cref="ToProto(Tensor, string)"/> writes them.
    /// </summary>
    /// <exception cref="OverflowException">A value does not fit the narrower type.</exception>
    internal static TensorProto ToProto(Tensor tensor, string name, TensorProto.Types.DataType imported)
    {
        var cpu = tensor.Device.Equals(Device.Cpu) ? tensor : tensor.To(Device.Cpu);
        byte[] raw;
        if (imported == TensorProto.Types.DataType.Int8 && cpu.DType == DType.Int32)
            raw = Array.ConvertAll(cpu.Contiguous().ToArray<int>(), v => unchecked((byte)checked((sbyte)v)));
        else if (imported == TensorProto.Types.DataType.Int32 && cpu.DType == DType.Int64)
            raw = MemoryMarshal.AsBytes(Array.ConvertAll(cpu.Contiguous().ToArray<long>(), v => checked((int)v)).AsSpan()).ToArray();
        else return ToProto(tensor, name);
        var p = new TensorProto { Name = name, DataType = (int)imported, RawData = ByteString.CopyFrom(raw) };
        p.Dims.AddRange(cpu.Shape.ToArray());
        return p;
    }

    /// <summary>Encodes a Float32, Int64, Int32 or UInt8 tensor (any device) as an ONNX tensor named <paramref name="name"/>.</summary>
    /// <exception cref="NotSupportedException">The dtype is another one.</exception>
    public static TensorProto ToProto(Tensor tensor, string name)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var cpu = tensor.Device.Equals(Device.Cpu) ? tensor : tensor.To(Device.Cpu);
        var p = new TensorProto { Name = name };
        p.Dims.AddRange(cpu.Shape.ToArray());
        switch (cpu.DType)
        {
            case DType.Float32:
                p.DataType = (int)TensorProto.Types.DataType.Float;
                p.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(cpu.Contiguous().ToArray<float>().AsSpan()));
                break;
            case DType.Int64:
                p.DataType = (int)TensorProto.Types.DataType.Int64;
                p.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(cpu.Contiguous().ToArray<long>().AsSpan()));
                break;
            case DType.Int32:
                p.DataType = (int)TensorProto.Types.DataType.Int32;
                p.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(cpu.Contiguous().ToArray<int>().AsSpan()));
                break;
            case DType.UInt8:
                p.DataType = (int)TensorProto.Types.DataType.Uint8;
                p.RawData = ByteString.CopyFrom(cpu.Contiguous().ToArray<byte>());
                break;
            default:
                throw new NotSupportedException($"ONNX export: tensor \"{name}\" has dtype {cpu.DType}; Float32, Int64, Int32 and UInt8 tensors are written.");
        }
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw data is little-endian; this machine is not.");
        return p;
    }

    /// <summary>An Int64 vector constant.</summary>
    public static TensorProto Int64Vector(string name, params long[] values)
    {
        var p = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        p.Dims.Add(values.Length);
        p.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        return p;
    }

    /// <summary>
    /// Decodes an ONNX tensor to a CPU tensor: FLOAT (and DOUBLE, converted) to Float32, INT64 and INT32 to Int64,
    /// UINT8 to UInt8 and INT8 to Int32 (NeuralCore has no int8 dtype), from raw_data or the typed repeated field.
    /// </summary>
    /// <exception cref="OnnxFormatException">
    /// The data type is unsupported, the data is external, a dimension is negative, the element count exceeds
    /// <see cref="MaxElements"/>, or the data length does not match the shape.
    /// </exception>
    public static Tensor FromProto(TensorProto proto)
    {
        ArgumentNullException.ThrowIfNull(proto);
        string what = $"tensor \"{proto.Name}\"";
        if (proto.DataLocation == TensorProto.Types.DataLocation.External)
            throw new OnnxFormatException($"ONNX import: {what} stores its data in an external file, which is not supported.");
        long count = 1;
        foreach (var d in proto.Dims)
        {
            if (d < 0) throw new OnnxFormatException($"ONNX import: {what} has a negative dimension {d}.");
            count = d == 0 ? 0 : (count > MaxElements / d ? MaxElements + 1 : count * d);
        }
        if (count > MaxElements) throw new OnnxFormatException($"ONNX import: {what} has more than {MaxElements} elements (dims [{string.Join(", ", proto.Dims)}]).");
        long[] shape = [.. proto.Dims];
        int n = (int)count;
        var t = Values(proto, shape, n, what);
        // FromArray reads an empty shape as 1-d; a tensor without dims is a scalar.
        return shape.Length == 0 ? t.Reshape(Array.Empty<long>()) : t;
    }

    static Tensor Values(TensorProto proto, long[] shape, int n, string what)
    {
        var type = (TensorProto.Types.DataType)proto.DataType;
        switch (type)
        {
            case TensorProto.Types.DataType.Float:
            {
                float[] data = proto.RawData.Length > 0 ? Raw<float>(proto, n, what) : Typed(proto.FloatData, n, what);
                return Tensor.FromArray(data, shape);
            }
            case TensorProto.Types.DataType.Double:
            {
                double[] data = proto.RawData.Length > 0 ? Raw<double>(proto, n, what) : Typed(proto.DoubleData, n, what);
                return Tensor.FromArray(Array.ConvertAll(data, v => (float)v), shape);
            }
            case TensorProto.Types.DataType.Int64:
            {
                long[] data = proto.RawData.Length > 0 ? Raw<long>(proto, n, what) : Typed(proto.Int64Data, n, what);
                return Tensor.FromArray(data, shape);
            }
            case TensorProto.Types.DataType.Int32:
            {
                int[] data = proto.RawData.Length > 0 ? Raw<int>(proto, n, what) : Typed(proto.Int32Data, n, what);
                return Tensor.FromArray(Array.ConvertAll(data, v => (long)v), shape);
            }
            case TensorProto.Types.DataType.Uint8:
            {
                byte[] data = proto.RawData.Length > 0 ? Raw<byte>(proto, n, what) : Array.ConvertAll(Typed(proto.Int32Data, n, what), v => unchecked((byte)v));
                return Tensor.FromArray(data, shape);
            }
            case TensorProto.Types.DataType.Int8:
            {
                // NeuralCore has no int8 dtype: INT8 values are carried widened in Int32 tensors (QuantizeLinear and
                // DequantizeLinear read them back as int8).
                int[] data = proto.RawData.Length > 0 ? Array.ConvertAll(Raw<sbyte>(proto, n, what), v => (int)v) : Array.ConvertAll(Typed(proto.Int32Data, n, what), v => (int)unchecked((sbyte)v));
                return Tensor.FromArray(data, shape);
            }
            default:
                throw new OnnxFormatException($"ONNX import: {what} has data type {type}; FLOAT, DOUBLE, INT64, INT32, UINT8 and INT8 are supported.");
        }
    }

    static T[] Raw<T>(TensorProto proto, int n, string what) where T : unmanaged
    {
        int size = Marshal.SizeOf<T>();
        if (proto.RawData.Length != (long)n * size)
            throw new OnnxFormatException($"ONNX import: {what} has {proto.RawData.Length} bytes of raw data; its shape needs {(long)n * size}.");
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw data is little-endian; this machine is not.");
        return MemoryMarshal.Cast<byte, T>(proto.RawData.Span).ToArray();
    }

    static T[] Typed<T>(IList<T> values, int n, string what)
    {
        if (values.Count != n) throw new OnnxFormatException($"ONNX import: {what} has {values.Count} values; its shape needs {n}.");
        return [.. values];
    }
}
