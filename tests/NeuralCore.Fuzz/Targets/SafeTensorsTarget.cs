using System.Text;
using NeuralCore.Serialization;

namespace NeuralCore.Fuzz.Targets;

/// <summary>
/// The safetensors reader, through all three entry points: a byte span, a seekable stream, and a stream that hands out
/// a few bytes at a time and cannot seek.
/// </summary>
public sealed class SafeTensorsTarget : FuzzTarget
{
    /// <inheritdoc/>
    public override string Name => "safetensors";

    // Generous for files of a few hundred bytes read three times; a reader that trusted a tampered length would allocate far more.
    /// <inheritdoc/>
    public override long AllocationBound => 24L << 20;

    /// <inheritdoc/>
    public override IReadOnlyList<byte[]> Seeds() =>
    [
        SafeTensors.Serialize(new Dictionary<string, Tensor>
        {
            ["layer.weight"] = Tensor.FromArray(new float[] { 1, -2, 3.5f, float.NaN, 0, 7 }, 2, 3),
            ["layer.bias"] = Tensor.FromArray(new[] { 0.25, -0.5 }, 2),
            ["steps"] = Tensor.FromArray(new[] { 42L }, 1).Reshape(),
            ["ids"] = Tensor.FromArray(new[] { 1, 2, 3 }, 3),
            ["mask"] = Tensor.FromArray(new[] { true, false, true }, 3),
            ["pixels"] = Tensor.FromArray(new byte[] { 9, 8 }, 2),
            ["empty"] = Tensor.Zeros([0, 4], DType.Float32),
        }, new Dictionary<string, string> { ["framework"] = "pt", ["note"] = "fuzz" }),
        SafeTensors.Serialize(new Dictionary<string, Tensor>()),
        SafeTensors.Serialize(new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 2, 2) }),
    ];

    /// <inheritdoc/>
    public override void Execute(byte[] input, string scratch)
    {
        Touch(SafeTensors.DeserializeFile(input));
        Touch(SafeTensors.ReadFile(new MemoryStream(input, writable: false)));
        Touch(SafeTensors.ReadFile(new TrickleStream(input)));
    }

    static void Touch(SafeTensorsFile file)
    {
        foreach (var t in file.Tensors.Values) _ = t.Shape.ToString();
        _ = file.Metadata.Count;
    }

    static readonly ulong[] HeaderLengths = [0, 1, 2, 7, 8, 99_999_999, 100_000_000, 100_000_001, 1UL << 31, 1UL << 32, 1UL << 63, ulong.MaxValue];

    /// <inheritdoc/>
    public override byte[]? MutateStructured(Mutator mutator, byte[] input)
    {
        var rng = mutator.Random;
        if (!SafeTensorsLayout.TrySplit(input, out var header, out var data)) return null;
        switch (rng.Next(6))
        {
            case 0:
            {
                ulong[] near = [.. HeaderLengths, (ulong)Encoding.UTF8.GetByteCount(header) - 1, (ulong)Encoding.UTF8.GetByteCount(header) + 1,
                    (ulong)input.Length, (ulong)rng.NextInt64()];
                return SafeTensorsLayout.WithHeaderLength(input, near[rng.Next(near.Length)]);
            }
            case 1:
                if (data.Length > 0) data[rng.Next(data.Length)] = (byte)rng.Next(256);
                return SafeTensorsLayout.Join(header, data);
            default:
            {
                var bytes = Encoding.UTF8.GetBytes(JsonMutator.Mutate(rng, header));
                if (rng.Next(8) == 0)
                {
                    // Invalid UTF-8: a lone continuation byte, an overlong encoding, 0xFF, an encoded surrogate.
                    byte[][] bad = [[0x80], [0xC0, 0x80], [0xFF], [0xED, 0xA0, 0x80]];
                    int at = rng.Next(bytes.Length + 1);
                    bytes = [.. bytes[..at], .. bad[rng.Next(bad.Length)], .. bytes[at..]];
                }
                return SafeTensorsLayout.Join(bytes, data);
            }
        }
    }
}

/// <summary>A read-only stream that cannot seek and returns at most 7 bytes per read, like a slow network stream.</summary>
public sealed class TrickleStream(byte[] data) : Stream
{
    int position;

    /// <inheritdoc/>
    public override bool CanRead => true;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override bool CanWrite => false;

    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <inheritdoc/>
    public override void Flush()
    {
    }

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count)
    {
        int n = Math.Min(Math.Min(count, 7), data.Length - position);
        Array.Copy(data, position, buffer, offset, n);
        position += n;
        return n;
    }
}
