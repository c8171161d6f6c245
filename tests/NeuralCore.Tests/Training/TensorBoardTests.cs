using System.Buffers.Binary;
using System.Text;
using Google.Protobuf;
using NeuralCore.Training;

namespace NeuralCore.Tests.Training;

/// <summary>
/// TensorBoard event files: TFRecord framing with masked CRC-32C checked here, and the Event / Summary / HistogramProto
/// messages decoded with Google.Protobuf's wire-format reader (independent of the encoder under test).
/// </summary>
public sealed class TensorBoardTests
{
    [Fact]
    public void Crc32C_MatchesTheStandardCheckValue()
    {
        // The CRC-32C (Castagnoli) check value of "123456789" (RFC 3720 appendix B.4 gives the algorithm).
        Assert.Equal(0xE3069283u, EventFileWriter.Crc32C(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0u, EventFileWriter.Crc32C([]));
    }

    sealed record Value(string Tag, float? Simple, Histogram? Histo);

    sealed record Histogram(double Min, double Max, double Num, double Sum, double SumSquares, List<double> Limits, List<double> Counts);

    sealed record Event(double WallTime, long Step, string? FileVersion, List<Value> Values);

    static List<Event> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var events = new List<Event>();
        int pos = 0;
        while (pos < bytes.Length)
        {
            Assert.True(bytes.Length - pos >= 16, "truncated record");
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(pos));
            Assert.Equal(EventFileWriter.MaskedCrc32C(bytes.AsSpan(pos, 8)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(pos + 8)));
            var data = bytes.AsSpan(pos + 12, (int)length).ToArray();
            Assert.Equal(EventFileWriter.MaskedCrc32C(data), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(pos + 12 + (int)length)));
            events.Add(ParseEvent(data));
            pos += 16 + (int)length;
        }
        return events;
    }

    static Event ParseEvent(byte[] data)
    {
        var input = new CodedInputStream(data);
        double wall = 0;
        long step = 0;
        string? version = null;
        var values = new List<Value>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: wall = input.ReadDouble(); break;
                case 2: step = input.ReadInt64(); break;
                case 3: version = input.ReadString(); break;
                case 5:
                    var summary = new CodedInputStream(input.ReadBytes().ToByteArray());
                    uint t;
                    while ((t = summary.ReadTag()) != 0)
                    {
                        Assert.Equal(1, WireFormat.GetTagFieldNumber(t));
                        values.Add(ParseValue(summary.ReadBytes().ToByteArray()));
                    }
                    break;
                default: Assert.Fail($"unexpected Event field {WireFormat.GetTagFieldNumber(tag)}"); break;
            }
        }
        return new Event(wall, step, version, values);
    }

    static Value ParseValue(byte[] data)
    {
        var input = new CodedInputStream(data);
        string name = "";
        float? simple = null;
        Histogram? histo = null;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: name = input.ReadString(); break;
                case 2: simple = input.ReadFloat(); break;
                case 5: histo = ParseHistogram(input.ReadBytes().ToByteArray()); break;
                default: Assert.Fail($"unexpected Value field {WireFormat.GetTagFieldNumber(tag)}"); break;
            }
        }
        return new Value(name, simple, histo);
    }

    static Histogram ParseHistogram(byte[] data)
    {
        var input = new CodedInputStream(data);
        var f = new double[6];
        var limits = new List<double>();
        var counts = new List<double>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            int field = WireFormat.GetTagFieldNumber(tag);
            if (field is >= 1 and <= 5) f[field] = input.ReadDouble();
            else if (field is 6 or 7)
            {
                var packed = input.ReadBytes().ToByteArray();
                var list = field == 6 ? limits : counts;
                for (int i = 0; i < packed.Length; i += 8) list.Add(BinaryPrimitives.ReadDoubleLittleEndian(packed.AsSpan(i)));
            }
            else Assert.Fail($"unexpected HistogramProto field {field}");
        }
        return new Histogram(f[1], f[2], f[3], f[4], f[5], limits, counts);
    }

    [Fact]
    public void Fit_WritesTrainAndValidationScalars_AndHistograms()
    {
        string dir = Directory.CreateTempSubdirectory("tensorboard-").FullName;
        try
        {
            Rng.ManualSeed(21);
            var model = SyntheticData.KerasModel();
            model.Compile("adam", "categorical_crossentropy", new[] { "accuracy" });
            var board = new TensorBoard(dir, histogramFrequency: 2, updateFrequency: 3);

            var history = model.Fit(SyntheticData.Dataset(64, seed: 1), epochs: 4, batchSize: 16, verbose: 0,
                validationData: SyntheticData.Dataset(32, seed: 2), callbacks: [board]);

            Assert.StartsWith(Path.Combine(dir, "train", "events.out.tfevents."), board.TrainFile);
            var trainEvents = Read(board.TrainFile!);
            Assert.Equal("brain.Event:2", trainEvents[0].FileVersion);
            Assert.True(Math.Abs(trainEvents[0].WallTime - DateTimeOffset.UtcNow.ToUnixTimeSeconds()) < 600);

            var epochEvents = trainEvents.Where(e => e.Values.Any(v => v.Tag == "epoch_loss")).ToList();
            Assert.Equal([0L, 1, 2, 3], epochEvents.Select(e => e.Step));
            for (int e = 0; e < 4; e++)
            {
                Assert.Equal((float)history["loss"][e], epochEvents[e].Values.Single(v => v.Tag == "epoch_loss").Simple);
                Assert.Equal((float)history["accuracy"][e], epochEvents[e].Values.Single(v => v.Tag == "epoch_accuracy").Simple);
                Assert.Equal(1e-3f, epochEvents[e].Values.Single(v => v.Tag == "epoch_learning_rate").Simple);
            }

            // 4 batches per epoch, 16 in all: batch scalars at global batches 2, 5, 8, 11, 14.
            var batchSteps = trainEvents.Where(e => e.Values.Any(v => v.Tag == "batch_loss")).Select(e => e.Step);
            Assert.Equal([2L, 5, 8, 11, 14], batchSteps);

            // Histograms after epochs 2 and 4 (steps 1 and 3), one per state-dict tensor, buckets summing to its size.
            var histogramEvents = trainEvents.Where(e => e.Values.Any(v => v.Histo is not null)).ToList();
            Assert.Equal([1L, 3], histogramEvents.Select(e => e.Step));
            var state = model.StateDict();
            var last = histogramEvents[1].Values.ToDictionary(v => v.Tag, v => v.Histo!);
            Assert.Equal(state.Keys.Order(), last.Keys.Order());
            foreach (var (name, tensor) in state)
            {
                var values = tensor.ToArray<float>();
                var h = last[name];
                Assert.Equal(values.Length, h.Num);
                Assert.Equal(values.Length, h.Counts.Sum());
                Assert.Equal(values.Min(), h.Min);
                Assert.Equal(values.Max(), h.Max);
                Assert.Equal(values.Sum(v => (double)v), h.Sum, 1e-6);
                Assert.Equal(values.Sum(v => (double)v * v), h.SumSquares, 1e-6);
                Assert.Equal(h.Max, h.Limits[^1]);
                for (int b = 0; b < h.Limits.Count; b++)
                {
                    double lo = b == 0 ? double.NegativeInfinity : h.Limits[b - 1];
                    Assert.Equal(values.Count(v => v > lo && v <= h.Limits[b]), h.Counts[b]);
                }
            }

            var validationEvents = Read(board.ValidationFile!);
            Assert.StartsWith(Path.Combine(dir, "validation"), board.ValidationFile);
            var validationEpochs = validationEvents.Where(e => e.Values.Count > 0).ToList();
            Assert.Equal(4, validationEpochs.Count);
            for (int e = 0; e < 4; e++)
            {
                Assert.Equal((float)history["val_loss"][e], validationEpochs[e].Values.Single(v => v.Tag == "epoch_loss").Simple);
                Assert.Equal((float)history["val_accuracy"][e], validationEpochs[e].Values.Single(v => v.Tag == "epoch_accuracy").Simple);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Histogram_OfConstantValues_HasOneBucket()
    {
        var encoded = EventFileWriter.Histogram([2f, 2f, 2f, float.NaN], 30).ToArray();
        var h = ParseHistogram(encoded);
        Assert.Equal(3, h.Num);
        Assert.Equal([2.0], h.Limits);
        Assert.Equal([3.0], h.Counts);
    }

    [Fact]
    public void BadArguments_AreRefused()
    {
        Assert.Throws<ArgumentException>(() => new TensorBoard(""));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TensorBoard("logs", histogramFrequency: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TensorBoard("logs", histogramBuckets: 0));
    }
}
