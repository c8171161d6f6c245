using System.Buffers.Binary;
using System.Text;
using NeuralCore.Serialization;

namespace NeuralCore.Tests.Serialization;

/// <summary>
/// Mutates a valid file in many seeded ways and checks that the reader either succeeds or throws
/// <see cref="InvalidDataException"/>: never another exception, never a hang, never a large allocation.
/// </summary>
public class SafeTensorsFuzzTests
{
    public const int Iterations = 5_000;

    // Generous for files of a few hundred bytes; a reader that trusted a tampered length would allocate far more.
    const long AllocationBound = 8_000_000;

    static byte[] ValidFile() => SafeTensors.Serialize(new Dictionary<string, Tensor>
    {
        ["layer.weight"] = Tensor.FromArray(new float[] { 1, -2, 3.5f, float.NaN, 0, 7 }, 2, 3),
        ["layer.bias"] = Tensor.FromArray(new[] { 0.25, -0.5 }, 2),
        ["steps"] = Tensor.FromArray(new[] { 42L }, 1).Reshape(),
        ["ids"] = Tensor.FromArray(new[] { 1, 2, 3 }, 3),
        ["mask"] = Tensor.FromArray(new[] { true, false, true }, 3),
        ["pixels"] = Tensor.FromArray(new byte[] { 9, 8 }, 2),
        ["empty"] = Tensor.Zeros([0, 4], DType.Float32),
    }, new Dictionary<string, string> { ["framework"] = "pt", ["note"] = "fuzz" });

    static void ReadMustSucceedOrRejectCleanly(byte[] file, string what)
    {
        foreach (var read in new Func<byte[], object>[]
                 {
                     f => SafeTensors.DeserializeFile(f),
                     f => SafeTensors.ReadFile(new MemoryStream(f)),
                     f => SafeTensors.ReadFile(new NonSeekableStream(f)),
                 })
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = Record.Exception(() => read(file));
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (e is not null && e is not InvalidDataException)
                Assert.Fail($"{what}: {e.GetType().Name}: {e.Message}\n{Convert.ToHexString(file)}");
            Assert.True(allocated < AllocationBound, $"{what}: allocated {allocated} bytes");
        }
    }

    [Fact]
    public void EveryTruncation_IsRejected()
    {
        var file = ValidFile();
        for (int length = 0; length < file.Length; length++)
            Assert.IsType<InvalidDataException>(Record.Exception(() => SafeTensors.Deserialize(file.AsSpan(0, length))));
        for (int length = 0; length < file.Length; length += 3)
            Assert.IsType<InvalidDataException>(Record.Exception(() => SafeTensors.Read(new NonSeekableStream(file[..length]))));
    }

    [Fact]
    public void SeededRandomMutations_SucceedOrThrowInvalidData()
    {
        var valid = ValidFile();
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(valid);
        string header = Encoding.UTF8.GetString(valid, 8, headerLength);
        var data = valid[(8 + headerLength)..];
        var rng = new System.Random(20240607);
        int succeeded = 0, rejected = 0;
        for (int i = 0; i < Iterations; i++)
        {
            var (file, kind) = Mutate(rng, valid, header, data, headerLength);
            ReadMustSucceedOrRejectCleanly(file, $"iteration {i} ({kind})");
            if (Record.Exception(() => SafeTensors.Deserialize(file)) is null) succeeded++;
            else rejected++;
        }
        // Both outcomes occur: data-byte flips still read, header damage is caught.
        Assert.True(succeeded > 100, $"only {succeeded} mutated files read");
        Assert.True(rejected > 1000, $"only {rejected} mutated files rejected");
    }

    static (byte[] File, string Kind) Mutate(System.Random rng, byte[] valid, string header, byte[] data, int headerLength)
    {
        switch (rng.Next(8))
        {
            case 0:
            {
                var f = (byte[])valid.Clone();
                int flips = 1 + rng.Next(4);
                for (int k = 0; k < flips; k++) f[rng.Next(f.Length)] ^= (byte)(1 + rng.Next(255));
                return (f, "byte flips");
            }
            case 1:
            {
                var f = (byte[])valid.Clone();
                f[8 + headerLength + rng.Next(data.Length)] = (byte)rng.Next(256);
                return (f, "data byte");
            }
            case 2:
            {
                ulong[] lengths = [0, 1, 7, (ulong)headerLength - 1, (ulong)headerLength + 1, (ulong)headerLength + 8, (ulong)valid.Length,
                    99_999_999, 100_000_000, 100_000_001, 1UL << 31, 1UL << 32, 1UL << 63, ulong.MaxValue, (ulong)rng.NextInt64()];
                return (SafeTensorsBytes.WithHeaderLength(valid, lengths[rng.Next(lengths.Length)]), "header length");
            }
            case 3:
                return (valid[..rng.Next(valid.Length)], "truncation");
            case 4:
            {
                var f = valid.Concat(Enumerable.Range(0, 1 + rng.Next(16)).Select(_ => (byte)rng.Next(256))).ToArray();
                return (f, "trailing bytes");
            }
            default:
            {
                string edited = EditJson(rng, header);
                var bytes = Encoding.UTF8.GetBytes(edited);
                if (rng.Next(6) == 0)
                {
                    // Invalid UTF-8: a lone continuation byte, an overlong encoding, or 0xFF.
                    byte[][] bad = [[0x80], [0xC0, 0x80], [0xFF], [0xED, 0xA0, 0x80]];
                    int at = rng.Next(bytes.Length + 1);
                    bytes = [.. bytes[..at], .. bad[rng.Next(bad.Length)], .. bytes[at..]];
                }
                var f = new byte[8 + bytes.Length + data.Length];
                BinaryPrimitives.WriteUInt64LittleEndian(f, (ulong)bytes.Length);
                bytes.CopyTo(f, 8);
                data.CopyTo(f, 8 + bytes.Length);
                return (f, "json edit: " + edited);
            }
        }
    }

    const string InsertedChars = "{}[],:\"\\ 0-";

    static readonly string[] Replacements =
    [
        "-1", "0", "1", "2.5", "1e3", "-0", "4294967296", "18446744073709551615", "18446744073709551616", "9223372036854775807",
        "null", "true", "\"x\"", "[]", "{}", "[0,0]", "[1,2,3]", "\"F16\"", "\"I8\"", "\"BOOL\"", "\"F64\"", "\"__metadata__\"",
    ];

    // Structural edits on the header text: replace a number or string, duplicate or delete an entry, swap offsets,
    // insert or delete characters, nest brackets.
    static string EditJson(System.Random rng, string header)
    {
        var tokens = System.Text.RegularExpressions.Regex.Matches(header, "\"[^\"]*\"|-?\\d+");
        switch (rng.Next(7))
        {
            case 0:
            case 1:
            {
                var t = tokens[rng.Next(tokens.Count)];
                return header[..t.Index] + Replacements[rng.Next(Replacements.Length)] + header[(t.Index + t.Length)..];
            }
            case 2:
            {
                // Duplicate an entry (duplicate key) or a field inside one.
                var entries = System.Text.RegularExpressions.Regex.Matches(header, "\"[^\"]+\":\\{[^{}]*\\}");
                var e = entries[rng.Next(entries.Count)];
                return header.Insert(e.Index, e.Value + ",");
            }
            case 3:
            {
                var entries = System.Text.RegularExpressions.Regex.Matches(header, ",?\"[^\"]+\":\\{[^{}]*\\}");
                var e = entries[rng.Next(entries.Count)];
                return header.Remove(e.Index, e.Length);
            }
            case 4:
            {
                // Point one tensor's offsets at another's (overlap) or shift them (gap).
                var offsets = System.Text.RegularExpressions.Regex.Matches(header, "\\[(\\d+),(\\d+)\\]");
                var a = offsets[rng.Next(offsets.Count)];
                var b = offsets[rng.Next(offsets.Count)];
                return header[..a.Index] + b.Value + header[(a.Index + a.Length)..];
            }
            case 5:
            {
                int at = rng.Next(header.Length);
                return rng.Next(2) == 0 ? header.Remove(at, 1) : header.Insert(at, InsertedChars[rng.Next(InsertedChars.Length)].ToString());
            }
            default:
            {
                int depth = 1 + rng.Next(200);
                var t = tokens[rng.Next(tokens.Count)];
                return header[..t.Index] + new string('[', depth) + t.Value + new string(']', depth) + header[(t.Index + t.Length)..];
            }
        }
    }
}
