using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Registry;

namespace NeuralCore.Benchmarks;

/// <summary>
/// Reading a v2 JSON infer request of one Fashion-MNIST image (784 floats, as tools/make-infer-body.sh writes it) into
/// its input tensor: through a <see cref="JsonDocument"/> (the general parser, which names what is wrong with a bad
/// body) and straight from the bytes (<see cref="InferenceRequest.TryParseFlat"/>, the serving host's path for the
/// common form).
/// </summary>
[MemoryDiagnoser]
public class InferRequestBenchmarks
{
    static readonly ModelSignature Signature = new([new TensorSpec("input", [-1, 1, 28, 28], "FP32")], [new TensorSpec("output", [-1, 10], "FP32")], []);
    byte[] body = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        // Pixel values scaled to [0, 1] and printed with 8 significant digits, as the benchmark body.
        var values = Enumerable.Range(0, 784).Select(_ => (random.Next(256) / 255.0).ToString("G8", CultureInfo.InvariantCulture));
        body = Encoding.UTF8.GetBytes($$"""{"inputs": [{"name": "input", "shape": [1, 1, 28, 28], "datatype": "FP32", "data": [{{string.Join(", ", values)}}]}]}""");
    }

    /// <summary>JsonDocument, then the element walk of <see cref="InferenceRequest.Parse(JsonElement, ModelSignature)"/>.</summary>
    [Benchmark(Baseline = true)]
    public Tensor Document()
    {
        using var document = JsonDocument.Parse(body);
        return InferenceRequest.Parse(document.RootElement, Signature).Input;
    }

    /// <summary><see cref="InferenceRequest.TryParseFlat"/> over the same bytes.</summary>
    [Benchmark]
    public Tensor Direct() =>
        InferenceRequest.TryParseFlat(new ReadOnlySequence<byte>(body), Signature, out _, out var input) ? input : throw new InvalidOperationException("not read");
}
