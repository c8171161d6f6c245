using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace NeuralCore.Training;

/// <summary>
/// Writes TensorBoard event files: a sequence of TFRecords (little-endian 64-bit length, masked CRC-32C of the length,
/// the payload, masked CRC-32C of the payload), each payload an <c>Event</c> protocol-buffer message. The few fields
/// needed are encoded here directly: <c>Event</c> {wall_time = 1 (double), step = 2 (int64), file_version = 3 (string),
/// summary = 5}, <c>Summary</c> {value = 1 (repeated)}, <c>Summary.Value</c> {tag = 1, simple_value = 2 (float),
/// histo = 5}, <c>HistogramProto</c> {min = 1, max = 2, num = 3, sum = 4, sum_squares = 5, bucket_limit = 6 (packed),
/// bucket = 7 (packed)}. Each write appends and closes the file, so a file is valid after every write.
/// </summary>
internal sealed class EventFileWriter
{
    static int counter;

    /// <summary>Creates <paramref name="directory"/> if needed and a new event file in it, starting with the version record.</summary>
    public EventFileWriter(string directory)
    {
        Directory.CreateDirectory(directory);
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string host = SafeHost();
        Path = System.IO.Path.Combine(directory,
            FormattableString.Invariant($"events.out.tfevents.{now:D10}.{host}.{Environment.ProcessId}.{Interlocked.Increment(ref counter)}"));
        var e = new ProtoWriter();
        e.Double(1, WallTime());
        e.String(3, "brain.Event:2");
        Append(e.ToArray());
    }

    /// <summary>The event file.</summary>
    public string Path { get; }

    /// <summary>Writes one event at <paramref name="step"/> holding scalar values.</summary>
    public void Scalars(long step, IEnumerable<(string Tag, double Value)> values)
    {
        var summary = new ProtoWriter();
        foreach (var (tag, value) in values)
        {
            var v = new ProtoWriter();
            v.String(1, tag);
            v.Float(2, (float)value);
            summary.Message(1, v);
        }
        Append(Event(step, summary));
    }

    /// <summary>Writes one event at <paramref name="step"/> holding histograms of the given values.</summary>
    public void Histograms(long step, IEnumerable<(string Tag, float[] Values)> histograms, int buckets)
    {
        var summary = new ProtoWriter();
        foreach (var (tag, values) in histograms)
        {
            var v = new ProtoWriter();
            v.String(1, tag);
            v.Message(5, Histogram(values, buckets));
            summary.Message(1, v);
        }
        Append(Event(step, summary));
    }

    /// <summary>
    /// A histogram of equal-width buckets between the minimum and maximum (a single bucket when they are equal); bucket
    /// i counts the values in (limit[i-1], limit[i]], the first also its lower edge. Non-finite values are left out.
    /// </summary>
    internal static ProtoWriter Histogram(float[] values, int buckets)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0, squares = 0;
        long n = 0;
        foreach (float f in values)
        {
            if (!float.IsFinite(f)) continue;
            min = Math.Min(min, f);
            max = Math.Max(max, f);
            sum += f;
            squares += (double)f * f;
            n++;
        }
        if (n == 0) min = max = 0;
        int k = max > min ? buckets : 1;
        var limits = new double[k];
        var counts = new double[k];
        double width = (max - min) / k;
        for (int i = 0; i < k; i++) limits[i] = i == k - 1 ? max : min + width * (i + 1);
        foreach (float f in values)
        {
            if (!float.IsFinite(f)) continue;
            int b = k == 1 ? 0 : (int)Math.Ceiling((f - min) / width) - 1;
            b = Math.Clamp(b, 0, k - 1);
            // Floating rounding can put a value just past its computed edge: move it to the bucket whose range holds it.
            while (b > 0 && f <= limits[b - 1]) b--;
            while (b < k - 1 && f > limits[b]) b++;
            counts[b]++;
        }
        var h = new ProtoWriter();
        h.Double(1, min);
        h.Double(2, max);
        h.Double(3, n);
        h.Double(4, sum);
        h.Double(5, squares);
        h.PackedDoubles(6, limits);
        h.PackedDoubles(7, counts);
        return h;
    }

    static byte[] Event(long step, ProtoWriter summary)
    {
        var e = new ProtoWriter();
        e.Double(1, WallTime());
        e.Int64(2, step);
        e.Message(5, summary);
        return e.ToArray();
    }

    static double WallTime() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    static string SafeHost()
    {
        var name = Environment.MachineName;
        var sb = new StringBuilder(name.Length);
        foreach (char c in name) sb.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_');
        return sb.Length == 0 ? "host" : sb.ToString();
    }

    // One TFRecord per call, the file opened for appending and closed again.
    void Append(byte[] data)
    {
        using var stream = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read);
        Span<byte> header = stackalloc byte[12];
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], MaskedCrc32C(header[..8]));
        BinaryPrimitives.WriteUInt32LittleEndian(footer, MaskedCrc32C(data));
        stream.Write(header);
        stream.Write(data);
        stream.Write(footer);
    }

    /// <summary>CRC-32C (Castagnoli) of <paramref name="data"/>.</summary>
    internal static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }

    /// <summary>The TFRecord mask of a CRC-32C: rotated right by 15 bits plus 0xa282ead8.</summary>
    internal static uint MaskedCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = Crc32C(data);
        return unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8u);
    }

    /// <summary>A minimal protocol-buffer encoder for the fields above.</summary>
    internal sealed class ProtoWriter
    {
        readonly MemoryStream stream = new();

        void Tag(int field, int wireType) => Varint((ulong)((field << 3) | wireType));

        void Varint(ulong value)
        {
            while (value >= 0x80)
            {
                stream.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            stream.WriteByte((byte)value);
        }

        public void Double(int field, double value)
        {
            Tag(field, 1);
            Span<byte> b = stackalloc byte[8];
            BinaryPrimitives.WriteDoubleLittleEndian(b, value);
            stream.Write(b);
        }

        public void Float(int field, float value)
        {
            Tag(field, 5);
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(b, value);
            stream.Write(b);
        }

        public void Int64(int field, long value)
        {
            Tag(field, 0);
            Varint(unchecked((ulong)value));
        }

        public void String(int field, string value)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            Tag(field, 2);
            Varint((ulong)bytes.Length);
            stream.Write(bytes);
        }

        public void Message(int field, ProtoWriter message)
        {
            Tag(field, 2);
            Varint((ulong)message.stream.Length);
            message.stream.Position = 0;
            message.stream.CopyTo(stream);
        }

        public void PackedDoubles(int field, double[] values)
        {
            Tag(field, 2);
            Varint((ulong)values.Length * 8);
            Span<byte> b = stackalloc byte[8];
            foreach (double v in values)
            {
                BinaryPrimitives.WriteDoubleLittleEndian(b, v);
                stream.Write(b);
            }
        }

        public byte[] ToArray() => stream.ToArray();
    }
}
