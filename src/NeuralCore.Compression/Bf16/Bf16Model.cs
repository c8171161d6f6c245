using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using NeuralCore.Compression.Pruning;
using NeuralCore.Nn;

namespace NeuralCore.Compression.Bf16;

/// <summary>
/// The bfloat16 inference path for <see cref="Sequential"/> models: <see cref="Convert"/> swaps Linear, Dense and
/// Conv2d layers for <see cref="Bf16Linear"/> and <see cref="Bf16Conv2d"/>; <see cref="Save"/> writes a safetensors
/// file whose Linear/Conv2d weights are stored as dtype <c>BF16</c> (everything else as before), readable by any
/// safetensors reader (NeuralCore's widens BF16 to Float32); <see cref="Load"/> reads it into a float architecture
/// and converts.
/// </summary>
public static class Bf16Model
{
    /// <summary>
    /// A new Sequential computing <paramref name="model"/> with bfloat16 weights: each Linear and Conv2d becomes its
    /// bfloat16 layer, each Dense a <see cref="Bf16Linear"/> followed by its activation as a module; nested
    /// Sequentials are converted too, and other layers are shared with the original, which is left unchanged.
    /// </summary>
    /// <exception cref="ArgumentException">A Dense layer is not built yet (run one forward pass first).</exception>
    /// <exception cref="NotSupportedException">A Conv2d is grouped.</exception>
    public static Sequential Convert(Sequential model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var converted = new Sequential();
        foreach (var layer in model)
        {
            switch (layer)
            {
                case Linear l: converted.Add(new Bf16Linear(l)); break;
                case Conv2d c: converted.Add(new Bf16Conv2d(c)); break;
                case Sequential s: converted.Add(Convert(s)); break;
                case Dense d:
                    if (!d.IsBuilt) throw new ArgumentException("Bf16Model.Convert: a Dense layer is not built yet; run one forward pass first.", nameof(model));
                    converted.Add(new Bf16Linear(d.Weight, d.Bias));
                    if (ActivationModule(d.ActivationFunction) is { } activation) converted.Add(activation);
                    break;
                default: converted.Add(layer); break;
            }
        }
        return (Sequential)converted.Eval();
    }

    static Module? ActivationModule(Activation activation) => Activations.ToModule(activation);

    /// <summary>
    /// Writes <paramref name="model"/>'s state dict as safetensors, the weights of its Linear and Conv2d layers (and
    /// built Dense layers) rounded to bfloat16 and stored as <c>BF16</c>, every other tensor as its own dtype.
    /// </summary>
    /// <param name="model">A float model (its Dense layers built).</param>
    /// <param name="path">The file to write (replaced).</param>
    /// <exception cref="NotSupportedException">A tensor has a dtype safetensors has no name for here.</exception>
    public static void Save(Module model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bf16 = PrunableLayer.Find(model, operation: "Bf16Model.Save").Select(l => l.Name.Length == 0 ? "weight" : l.Name + ".weight").ToHashSet();
        var entries = new List<(string Name, string DType, long[] Shape, byte[] Data)>();
        foreach (var (name, tensor) in model.StateDict().OrderBy(kv => kv.Key, StringComparer.Ordinal))
            entries.Add(bf16.Contains(name)
                ? (name, "BF16", tensor.Shape.ToArray(), MemoryMarshal.AsBytes(BFloat16.FromTensor(tensor).AsSpan()).ToArray())
                : (name, SafeTensorsName(tensor), tensor.Shape.ToArray(), Bytes(tensor)));

        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("__metadata__");
            writer.WriteString("format", "pt");
            writer.WriteEndObject();
            long offset = 0;
            foreach (var (name, dtype, shape, data) in entries)
            {
                writer.WriteStartObject(name);
                writer.WriteString("dtype", dtype);
                writer.WriteStartArray("shape");
                foreach (var d in shape) writer.WriteNumberValue(d);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + data.Length);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += data.Length;
            }
            writer.WriteEndObject();
        }
        // The header is padded with spaces to a multiple of 8 bytes, so the data that follows is aligned.
        var header = json.ToArray().ToList();
        while (header.Count % 8 != 0) header.Add((byte)' ');
        string temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Count);
            file.Write(length);
            file.Write(header.ToArray());
            foreach (var e in entries) file.Write(e.Data);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>
    /// Loads a file written by <see cref="Save"/> into <paramref name="architecture"/> (a float model of the same
    /// structure, Dense layers built; its weights are overwritten) and returns the bfloat16 model.
    /// </summary>
    /// <exception cref="ArgumentException">The file's tensors do not match the architecture (the message names them).</exception>
    /// <exception cref="InvalidDataException">The file is malformed.</exception>
    public static Sequential Load(string path, Sequential architecture)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        architecture.LoadWeights(path);
        return Convert(architecture);
    }

    static string SafeTensorsName(Tensor t) => t.DType switch
    {
        DType.Float32 => "F32",
        DType.Float64 => "F64",
        DType.Int64 => "I64",
        DType.Int32 => "I32",
        DType.UInt8 => "U8",
        DType.Bool => "BOOL",
        _ => throw new NotSupportedException($"Bf16Model.Save: no safetensors dtype for {t.DType}."),
    };

    static byte[] Bytes(Tensor t)
    {
        using (Tensor.NoGrad())
        {
            var cpu = t.Device.Equals(Device.Cpu) ? t : t.To(Device.Cpu);
            return cpu.DType switch
            {
                DType.Float32 => MemoryMarshal.AsBytes(cpu.ToArray<float>().AsSpan()).ToArray(),
                DType.Float64 => MemoryMarshal.AsBytes(cpu.ToArray<double>().AsSpan()).ToArray(),
                DType.Int64 => MemoryMarshal.AsBytes(cpu.ToArray<long>().AsSpan()).ToArray(),
                DType.Int32 => MemoryMarshal.AsBytes(cpu.ToArray<int>().AsSpan()).ToArray(),
                DType.UInt8 => cpu.ToArray<byte>(),
                DType.Bool => cpu.ToArray<bool>().Select(b => b ? (byte)1 : (byte)0).ToArray(),
                _ => throw new NotSupportedException($"Bf16Model.Save: no safetensors dtype for {t.DType}."),
            };
        }
    }
}
