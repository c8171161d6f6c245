using System.Runtime.InteropServices;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NeuralCore.Fuzz.Targets;
using NeuralCore.Serialization;

namespace NeuralCore.Tests.Serialization;

/// <summary>Random state dicts survive writing and reading bit for bit.</summary>
public class SafeTensorsRoundTripTests
{
    /// <summary>A generated tensor: name, dtype, shape and raw little-endian element bytes.</summary>
    public sealed record Spec(string Name, DType DType, int[] Dims, byte[] Bytes)
    {
        public override string ToString() => $"{Name}: {DType} [{string.Join(", ", Dims)}] ({Bytes.Length} bytes)";
    }

    static readonly DType[] DTypes = [DType.Bool, DType.UInt8, DType.Int32, DType.Int64, DType.Float32, DType.Float64];

    // Names mix ASCII, dots, JSON-special characters, control characters and non-BMP text.
    static readonly string[] NameParts = ["a", "w", "0", ".", "_", "bias", "\"", "\\", "\n", "\u0001", "é", "名", "😀", " ", "/"];

    static Gen<string> Names => Gen.Choose(0, 4)
        .SelectMany(n => Gen.ArrayOf(Gen.Elements(NameParts), n))
        .Select(parts => string.Concat(parts));

    // Float elements favour special bit patterns: NaNs with payloads, signed zeros, infinities, subnormals.
    static Gen<byte[]> Bytes(DType dtype, int count) => dtype switch
    {
        DType.Bool => Gen.ArrayOf(Gen.Elements<byte>(0, 1), count),
        DType.Float32 => Gen.ArrayOf(Gen.OneOf(
                Gen.Choose(int.MinValue, int.MaxValue),
                Gen.Elements(0x7FC00001, 0x7F800001, unchecked((int)0xFFC12345), unchecked((int)0x80000000), 0x7F800000, 1)), count)
            .Select(ints => MemoryMarshal.AsBytes(ints.AsSpan()).ToArray()),
        DType.Float64 => Gen.ArrayOf(Gen.OneOf(
                Gen.Choose(int.MinValue, int.MaxValue).SelectMany(hi => Gen.Choose(int.MinValue, int.MaxValue).Select(lo => ((long)hi << 32) | (uint)lo)),
                Gen.Elements(0x7FF8000000000001L, 0x7FF0000000000001L, unchecked((long)0xFFF8DEADBEEF0000UL), long.MinValue, 1L)), count)
            .Select(longs => MemoryMarshal.AsBytes(longs.AsSpan()).ToArray()),
        _ => Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), count * dtype.SizeOf()),
    };

    static Gen<Spec> Tensors =>
        from name in Names
        from dtype in Gen.Elements(DTypes)
        from rank in Gen.Choose(0, 4)
        from dims in Gen.ArrayOf(Gen.Frequency((1, Gen.Constant(0)), (6, Gen.Choose(1, 4))), rank)
        from bytes in Bytes(dtype, dims.Aggregate(1, (p, d) => p * d))
        select new Spec(name, dtype, dims, bytes);

    static Arbitrary<Spec[]> StateDicts => Gen.Choose(0, 8)
        .SelectMany(n => Gen.ArrayOf(Tensors, n))
        .Select(specs => specs.Where(s => s.Name != "__metadata__").DistinctBy(s => s.Name).ToArray())
        .ToArbitrary();

    static Tensor Build(Spec s)
    {
        var t = Tensor.Zeros(s.Dims.Select(d => (long)d).ToArray(), s.DType);
        if (t.NumElements == 0) return t;
        switch (s.DType.SizeOf())
        {
            case 1: t.Backend.Upload<byte>(s.Bytes, t.storage); break;
            case 4: t.Backend.Upload(MemoryMarshal.Cast<byte, int>(s.Bytes.AsSpan()), t.storage); break;
            default: t.Backend.Upload(MemoryMarshal.Cast<byte, long>(s.Bytes.AsSpan()), t.storage); break;
        }
        return t;
    }

    static byte[] RawBytes(Tensor t) => t.DType switch
    {
        DType.Float32 => MemoryMarshal.AsBytes(t.ToArray<float>().AsSpan()).ToArray(),
        DType.Float64 => MemoryMarshal.AsBytes(t.ToArray<double>().AsSpan()).ToArray(),
        DType.Int32 => MemoryMarshal.AsBytes(t.ToArray<int>().AsSpan()).ToArray(),
        DType.Int64 => MemoryMarshal.AsBytes(t.ToArray<long>().AsSpan()).ToArray(),
        _ => t.ToArray<byte>(),
    };

    [Property(MaxTest = 300)]
    public Property RandomStateDicts_RoundTripBitwise() => Prop.ForAll(StateDicts, specs =>
    {
        var tensors = specs.ToDictionary(s => s.Name, Build);
        var metadata = specs.Length % 2 == 0 ? null : specs.ToDictionary(s => "m" + s.Name, s => s.ToString());
        var bytes = SafeTensors.Serialize(tensors, metadata);
        foreach (var file in new[] { SafeTensors.DeserializeFile(bytes), SafeTensors.ReadFile(new TrickleStream(bytes)) })
        {
            Assert.Equal(specs.Length, file.Tensors.Count);
            foreach (var s in specs)
            {
                var t = file.Tensors[s.Name];
                Assert.Equal(s.DType, t.DType);
                Assert.Equal(s.Dims.Select(d => (long)d), t.Shape);
                Assert.Equal(s.Bytes, RawBytes(t));
            }
            Assert.Equal((metadata ?? []).OrderBy(kv => kv.Key, StringComparer.Ordinal), file.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        }
        // Writing what was read reproduces the same bytes.
        Assert.Equal(bytes, SafeTensors.Serialize(SafeTensors.Deserialize(bytes), metadata));
    });
}
