using System.Buffers.Binary;
using NeuralCore.Vision;

namespace NeuralCore.Fuzz.Targets;

/// <summary>The IDX reader of MNIST-style files, raw and gzip-compressed.</summary>
public sealed class IdxTarget : FuzzTarget
{
    /// <inheritdoc/>
    public override string Name => "idx";

    /// <inheritdoc/>
    public override long AllocationBound => 16L << 20;

    /// <summary>An unsigned-byte IDX file: magic (0, 0, 8, rank), big-endian sizes, data.</summary>
    public static byte[] File(int[] dims, byte[] data)
    {
        var header = new byte[4 + 4 * dims.Length];
        header[2] = 0x08;
        header[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), dims[i]);
        return [.. header, .. data];
    }

    /// <inheritdoc/>
    public override IReadOnlyList<byte[]> Seeds()
    {
        var images = File([3, 4, 5], Enumerable.Range(0, 60).Select(i => (byte)(i * 7)).ToArray());
        var labels = File([7], [0, 1, 2, 3, 4, 5, 9]);
        var empty = File([0, 28, 28], []);
        return [images, labels, empty, Gzip.Compress(images), Gzip.Compress(labels)];
    }

    /// <inheritdoc/>
    public override void Execute(byte[] input, string scratch)
    {
        string path = Path.Combine(scratch, "data-idx-ubyte");
        System.IO.File.WriteAllBytes(path, input);
        var array = IdxReader.Read(path);
        long count = array.Dims.Aggregate(1L, (a, d) => a * d);
        if (count != array.Data.Length)
            throw new InvalidOperationException($"IdxReader returned {array.Data.Length} bytes for dims [{string.Join(", ", array.Dims)}]");
    }

    /// <inheritdoc/>
    public override byte[]? MutateStructured(Mutator mutator, byte[] input)
    {
        // Mutate a compressed file's content and compress it again, so the change reaches the IDX layer.
        if (Gzip.TryDecompress(input) is not { } raw) return null;
        var mutated = mutator.Mutate(raw, []);
        return mutator.Random.Next(4) == 0 ? mutated : Gzip.Compress(mutated);
    }
}
