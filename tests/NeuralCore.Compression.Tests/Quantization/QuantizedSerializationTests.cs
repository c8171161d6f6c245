using NeuralCore.Compression;
using NeuralCore.Nn;
using NeuralCore.Serialization;

namespace NeuralCore.Compression.Tests;

public sealed class QuantizedSerializationTests : IDisposable
{
    readonly string directory = Directory.CreateTempSubdirectory("nc-int8-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    static Sequential Cnn() => new(
        new Conv2d(1, 8, 3, padding: 1), new ReLU(), new MaxPool2d(2),
        new Conv2d(8, 16, 3, padding: 1), new ReLU(), new MaxPool2d(2),
        new Flatten(), new Linear(16 * 7 * 7, 64), new ReLU(), new Linear(64, 10));

    [Fact]
    public void StaticModelRoundTripsBitExactThroughTheModelLoader()
    {
        var model = Cnn();
        var batches = Enumerable.Range(0, 2).Select(_ => Tensor.Rand(8, 1, 28, 28)).ToList();
        var q = Quantization.QuantizeStatic(model, batches, new QuantizationOptions { Observer = ObserverKind.Percentile });
        string path = Path.Combine(directory, "cnn-int8.safetensors");
        q.Save(path);
        var loaded = Sequential.Load(path);
        Assert.Equal(q.Select(l => l.GetType()), loaded.Select(l => l.GetType()));
        var x = Tensor.Rand(5, 1, 28, 28);
        Assert.Equal(q.Forward(x).ToArray<float>(), loaded.Forward(x).ToArray<float>());
        foreach (var (key, value) in q.StateDict())
        {
            var other = loaded.StateDict()[key];
            Assert.Equal(value.DType, other.DType);
            Assert.Equal(value.Shape, other.Shape);
            Assert.Equal(value.ToArray<double>(), other.ToArray<double>());
        }

        var file = SafeTensors.Load(path);
        Assert.Equal(DType.UInt8, file["5.weight_quantized"].DType);
        Assert.Equal(DType.Int32, file["0.input_zero_point"].DType);
        string manifest = SafeTensors.LoadMetadata(path)[ModelManifest.MetadataKey];
        Assert.Contains("\"QuantizedConv2d\"", manifest);
        Assert.Contains("\"relu\":true", manifest);

        string floatPath = Path.Combine(directory, "cnn-float.safetensors");
        model.Save(floatPath);
        double ratio = new FileInfo(floatPath).Length / (double)new FileInfo(path).Length;
        Assert.True(ratio > 3.5, $"the int8 file is only {ratio:F2}x smaller");
    }

    [Fact]
    public void DynamicModelsWithLstmRoundTrip()
    {
        var model = new Sequential(new Linear(6, 6), new ReLU(), new LSTM(6, 10, numLayers: 2, bidirectional: true));
        var q = (Sequential)Quantization.QuantizeDynamic(model);
        Assert.IsType<DynamicQuantizedLSTM>(q[2]);
        string path = Path.Combine(directory, "lstm-int8.safetensors");
        q.Save(path);
        var loaded = Sequential.Load(path);
        var x = Tensor.Randn(5, 2, 6);
        Assert.Equal(q.Forward(x).ToArray<float>(), loaded.Forward(x).ToArray<float>());
    }

    [Fact]
    public void TamperedSizesAreRefusedBeforeAllocation()
    {
        var q = Quantization.QuantizeStatic(new Sequential(new Linear(4, 3)), [Tensor.Randn(2, 4)]);
        var config = ModuleConfigs.Describe(q);
        config["layers"]![0]!["inFeatures"] = 100_000;
        var e = Assert.Throws<InvalidDataException>(() => ModuleConfigs.Create(config, maxParameterElements: 100));
        Assert.Contains("QuantizedLinear", e.Message);
        config["layers"]![0]!["inFeatures"] = -1;
        Assert.Throws<InvalidDataException>(() => ModuleConfigs.Create(config));
    }
}
