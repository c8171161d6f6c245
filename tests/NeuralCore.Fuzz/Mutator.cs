using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace NeuralCore.Fuzz;

/// <summary>
/// Seeded, deterministic byte-level mutations: bit flips, bytes and integer fields set to boundary values, chunk
/// insertion, deletion and duplication, splicing with another input, truncation, and edits of ASCII numbers (which
/// is how tar headers and JSON store their lengths). The same seed and inputs give the same mutants.
/// </summary>
public sealed partial class Mutator(Random rng)
{
    static readonly byte[] InterestingBytes = [0, 1, 0x7F, 0x80, 0xFF, 0x20, (byte)'0', (byte)'7', (byte)'9', (byte)'"', (byte)'/', (byte)'.'];

    static readonly long[] InterestingIntegers =
    [
        0, 1, -1, 2, 7, 8, 255, 256, 511, 512, 513, 3072, 3073, 65535, 65536, short.MaxValue, short.MinValue,
        int.MaxValue, int.MinValue, (long)int.MaxValue + 1, uint.MaxValue, (long)uint.MaxValue + 1, 100_000_000,
        1L << 40, long.MaxValue, long.MinValue, long.MaxValue - 7,
    ];

    /// <summary>Decimal and octal strings that cross the limits readers check.</summary>
    public static readonly string[] InterestingNumbers =
    [
        "0", "1", "-1", "-0", "7", "8", "2.5", "0.5", "-0.5", "1e3", "1e308", "1e309", "-1e309", "1e-400", "3072", "65536",
        "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967295", "4294967296", "9223372036854775807",
        "9223372036854775808", "18446744073709551615", "18446744073709551616", "77777777777", "99999999999999999999",
        "100000000", "1000000000", "1073741824", "0x10", "1_0", "١",
    ];

    /// <summary>The random source, for targets that add their own format-aware mutations.</summary>
    public Random Random => rng;

    /// <summary>Applies 1 to 4 random mutations to a copy of <paramref name="input"/>.</summary>
    /// <param name="input">The input to mutate; not modified.</param>
    /// <param name="pool">Other inputs for splicing.</param>
    public byte[] Mutate(byte[] input, IReadOnlyList<byte[]> pool)
    {
        var data = input;
        int count = 1 + rng.Next(4);
        for (int i = 0; i < count; i++) data = MutateOnce(data, pool);
        return data;
    }

    /// <summary>One random mutation of a copy of <paramref name="input"/>.</summary>
    public byte[] MutateOnce(byte[] input, IReadOnlyList<byte[]> pool)
    {
        var data = (byte[])input.Clone();
        if (data.Length == 0) return [(byte)rng.Next(256)];
        switch (rng.Next(11))
        {
            case 0:
                for (int k = 1 + rng.Next(8); k > 0; k--) data[rng.Next(data.Length)] ^= (byte)(1 << rng.Next(8));
                return data;
            case 1:
                data[rng.Next(data.Length)] = InterestingBytes[rng.Next(InterestingBytes.Length)];
                return data;
            case 2:
                return SetInteger(data);
            case 3:
            {
                int at = rng.Next(data.Length + 1), length = ChunkLength(data.Length);
                var chunk = rng.Next(2) == 0 ? RandomBytes(length) : Chunk(data, length);
                return [.. data.AsSpan(0, at), .. chunk, .. data.AsSpan(at)];
            }
            case 4:
            {
                int length = ChunkLength(data.Length), at = rng.Next(Math.Max(1, data.Length - length + 1));
                return [.. data.AsSpan(0, at), .. data.AsSpan(Math.Min(data.Length, at + length))];
            }
            case 5:
            {
                int length = ChunkLength(data.Length), at = rng.Next(Math.Max(1, data.Length - length + 1));
                var chunk = data.AsSpan(at, Math.Min(length, data.Length - at)).ToArray();
                int times = 1 + rng.Next(rng.Next(2) == 0 ? 3 : 64);
                return [.. data.AsSpan(0, at), .. Enumerable.Repeat(chunk, times).SelectMany(c => c), .. data.AsSpan(at)];
            }
            case 6:
            {
                if (pool.Count == 0) return data;
                var other = pool[rng.Next(pool.Count)];
                int cut = rng.Next(data.Length + 1), from = rng.Next(other.Length + 1);
                return [.. data.AsSpan(0, cut), .. other.AsSpan(from)];
            }
            case 7:
                return data[..rng.Next(data.Length)];
            case 8:
                for (int k = 1 + rng.Next(4); k > 0; k--) data[rng.Next(data.Length)] = (byte)rng.Next(256);
                return data;
            case 9:
                return EditAsciiNumber(data);
            default:
            {
                // Overwrite a run with one repeated byte: zeroed or 0xFF-filled fields.
                int length = ChunkLength(data.Length), at = rng.Next(data.Length);
                data.AsSpan(at, Math.Min(length, data.Length - at)).Fill(InterestingBytes[rng.Next(InterestingBytes.Length)]);
                return data;
            }
        }
    }

    byte[] SetInteger(byte[] data)
    {
        int width = new[] { 1, 2, 4, 8 }[rng.Next(4)];
        if (data.Length < width) return data;
        int at = rng.Next(data.Length - width + 1);
        long value = InterestingIntegers[rng.Next(InterestingIntegers.Length)];
        if (rng.Next(4) == 0) value += rng.Next(-2, 3);
        var span = data.AsSpan(at, width);
        bool big = rng.Next(2) == 0;
        switch (width)
        {
            case 1: span[0] = (byte)value; break;
            case 2: if (big) BinaryPrimitives.WriteInt16BigEndian(span, (short)value); else BinaryPrimitives.WriteInt16LittleEndian(span, (short)value); break;
            case 4: if (big) BinaryPrimitives.WriteInt32BigEndian(span, (int)value); else BinaryPrimitives.WriteInt32LittleEndian(span, (int)value); break;
            default: if (big) BinaryPrimitives.WriteInt64BigEndian(span, value); else BinaryPrimitives.WriteInt64LittleEndian(span, value); break;
        }
        return data;
    }

    // Replaces a run of ASCII digits with another number of the same or a different length.
    byte[] EditAsciiNumber(byte[] data)
    {
        string text = Encoding.Latin1.GetString(data);
        var numbers = Digits().Matches(text);
        if (numbers.Count == 0) return data;
        var m = numbers[rng.Next(numbers.Count)];
        string replacement = rng.Next(3) == 0
            ? Convert.ToString(InterestingIntegers[rng.Next(InterestingIntegers.Length)] & long.MaxValue, 8).PadLeft(m.Length, '0')
            : InterestingNumbers[rng.Next(InterestingNumbers.Length)];
        if (rng.Next(2) == 0 && replacement.Length <= m.Length) replacement = replacement.PadLeft(m.Length, '0');
        return [.. data.AsSpan(0, m.Index), .. Encoding.UTF8.GetBytes(replacement), .. data.AsSpan(m.Index + m.Length)];
    }

    int ChunkLength(int length) => 1 + rng.Next(Math.Max(1, rng.Next(4) == 0 ? length : Math.Min(length, 32)));

    byte[] RandomBytes(int length)
    {
        var b = new byte[length];
        rng.NextBytes(b);
        return b;
    }

    byte[] Chunk(byte[] data, int length)
    {
        int at = rng.Next(data.Length);
        return data.AsSpan(at, Math.Min(length, data.Length - at)).ToArray();
    }

    [GeneratedRegex("[0-9]+")]
    private static partial Regex Digits();
}
