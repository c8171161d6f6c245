using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Registry;

namespace NeuralCore.Serving.Tests.Hosting;

/// <summary>The direct reader of common v2 infer bodies agrees with the document parser, and leaves everything else to it.</summary>
public sealed class InferenceRequestFlatTests
{
    static readonly ModelSignature Signature = new([new TensorSpec("input", [-1, 4], "FP32")], [new TensorSpec("output", [-1, 2], "FP32")], []);

    static ReadOnlySequence<byte> Bytes(string json) => new(Encoding.UTF8.GetBytes(json));

    /// <summary>The same bytes split into single-byte segments, as a body can arrive in pieces.</summary>
    static ReadOnlySequence<byte> Split(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        Segment first = new(bytes.AsMemory(0, 1), 0), last = first;
        for (int i = 1; i < bytes.Length; i++) last = last.Append(bytes.AsMemory(i, 1));
        return new ReadOnlySequence<byte>(first, 0, last, 1);
    }

    sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long index)
        {
            Memory = memory;
            RunningIndex = index;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    static void AssertSameAsDocument(string json)
    {
        using var document = JsonDocument.Parse(json);
        var (wantId, want) = InferenceRequest.Parse(document.RootElement, Signature);
        foreach (var bytes in new[] { Bytes(json), Split(json) })
        {
            Assert.True(InferenceRequest.TryParseFlat(bytes, Signature, out var id, out var input), $"not read directly: {json}");
            Assert.Equal(wantId, id);
            Assert.Equal(want.Shape.ToArray(), input.Shape.ToArray());
            Assert.Equal(want.ToArray<float>(), input.ToArray<float>());   // bit for bit
        }
    }

    [Theory]
    [InlineData("""{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2.5, -3e-2, 0]}]}""")]
    [InlineData("""{"id": "a\"b\u00e9", "inputs": [{"shape": [2, 4], "data": [1,2,3,4,5,6,7,8], "name": "input", "datatype": "FP32"}]}""")]
    [InlineData("""{"extra": {"x": [1, {"y": null}]}, "inputs": [{"name": "input", "datatype": "FP32", "note": "skipped", "shape": [1, 4], "data": [0.1, 0.2, 0.3, 3.4028235E+38]}], "more": true}""")]
    [InlineData(""" {"inputs":[{"name":"\u0069nput","datatype":"FP32","shape":[1,4],"data":[1e-45,-0,1.17549435E-38,16777217]}]} """)]
    public void CommonBodies_AreReadDirectly_AsTheDocumentParserReadsThem(string json) => AssertSameAsDocument(json);

    [Fact]
    public void RandomBodies_AreReadDirectly_BitForBit()
    {
        var random = new Random(11);
        for (int trial = 0; trial < 200; trial++)
        {
            int rows = random.Next(1, 5);
            var values = Enumerable.Range(0, rows * 4).Select(_ => random.Next(4) switch
            {
                0 => ((float)(random.NextDouble() - 0.5)).ToString("R", CultureInfo.InvariantCulture),
                1 => (random.NextDouble() * 1e6).ToString("E9", CultureInfo.InvariantCulture),
                2 => random.Next(-1000, 1000).ToString(CultureInfo.InvariantCulture),
                // Any finite float32 bit pattern (exponent below all ones), either sign.
                _ => ((random.Next(2) == 0 ? 1 : -1) * BitConverter.Int32BitsToSingle(random.Next() & 0x7F7FFFFF)).ToString("R", CultureInfo.InvariantCulture),
            });
            AssertSameAsDocument($$"""{"id": "r{{trial}}", "inputs": [{"name": "input", "shape": [{{rows}}, 4], "datatype": "FP32", "data": [{{string.Join(", ", values)}}]}]}""");
        }
    }

    [Theory]
    [InlineData("""{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [[1, 2, 3, 4]]}]}""")]   // nested data
    [InlineData("""{"inputs": [{"name": "input", "data": [1, 2, 3, 4], "shape": [1, 4], "datatype": "FP32"}]}""")]     // data before shape
    [InlineData("""{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}], "outputs": [{"name": "output"}]}""")]
    [InlineData("""{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}], "parameters": {"binary_data_output": true}}""")]
    [InlineData("""{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4], "parameters": {}}]}""")]
    [InlineData("""{"inputs": [{"name": "other", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}""")]
    [InlineData("""{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP16", "data": [1, 2, 3, 4]}]}""")]
    [InlineData("""{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3]}]}""")]
    [InlineData("""{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4, 5]}]}""")]
    [InlineData("""{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 1e39]}]}""")]
    [InlineData("""{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, "4"]}]}""")]
    [InlineData("""{"inputs": [{"name": "input", "shape": [1, 5], "datatype": "FP32", "data": [1, 2, 3, 4, 5]}]}""")]
    [InlineData("""{"inputs": [{"name": "input", "shape": [0, 4], "datatype": "FP32", "data": []}]}""")]
    [InlineData("""{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}, {"name": "input"}]}""")]
    [InlineData("""{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4], "data": [1, 2, 3, 4]}]}""")]
    [InlineData("""{"id": "a", "id": "b", "inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}""")]
    [InlineData("""{"id": 7, "inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}""")]
    [InlineData("""{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]} []""")]
    [InlineData("""{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]""")]
    [InlineData("""{"inputs": []}""")]
    [InlineData("""[1, 2, 3, 4]""")]
    [InlineData("""{"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32"}]}""")]
    public void OtherBodies_AreLeftToTheDocumentParser(string json)
    {
        Assert.False(InferenceRequest.TryParseFlat(Bytes(json), Signature, out var id, out var input));
        Assert.Null(id);
        Assert.Null(input);
        Assert.False(InferenceRequest.TryParseFlat(Split(json), Signature, out _, out _));
    }
}
