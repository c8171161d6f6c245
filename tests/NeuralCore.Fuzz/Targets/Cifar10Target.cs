using NeuralCore.Vision;

namespace NeuralCore.Fuzz.Targets;

/// <summary>The CIFAR-10 binary batch reader, through the public <see cref="Cifar10"/> test split.</summary>
public sealed class Cifar10Target : FuzzTarget
{
    const int Record = 3073;

    /// <inheritdoc/>
    public override string Name => "cifar10";

    /// <inheritdoc/>
    public override long AllocationBound => 16L << 20;

    /// <inheritdoc/>
    public override IReadOnlyList<byte[]> Seeds()
    {
        byte[] Batch(int records)
        {
            var file = new byte[records * Record];
            for (int i = 0; i < file.Length; i++) file[i] = (byte)(i * 31 % 251);
            for (int r = 0; r < records; r++) file[r * Record] = (byte)(r % 10);
            return file;
        }
        return [Batch(1), Batch(3)];
    }

    /// <inheritdoc/>
    public override void Execute(byte[] input, string scratch)
    {
        string dir = Path.Combine(scratch, "cifar-10-batches-bin");
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "test_batch.bin"), input);
        var data = new Cifar10(scratch, train: false);
        if (data.Count != input.Length / Record)
            throw new InvalidOperationException($"Cifar10 read {data.Count} records from {input.Length} bytes");
        _ = data[data.Count - 1];
    }

    /// <inheritdoc/>
    public override byte[]? MutateStructured(Mutator mutator, byte[] input)
    {
        var rng = mutator.Random;
        var file = (byte[])input.Clone();
        int records = file.Length / Record;
        if (records == 0) return null;
        switch (rng.Next(3))
        {
            case 0:
                file[rng.Next(records) * Record] = (byte)new[] { 9, 10, 11, 127, 128, 255 }[rng.Next(6)];
                return file;
            case 1:
                return file[..Math.Max(0, file.Length - rng.Next(1, 4))];
            default:
                return [.. file, .. file.AsSpan(0, Math.Min(file.Length, rng.Next(2 * Record)))];
        }
    }
}
