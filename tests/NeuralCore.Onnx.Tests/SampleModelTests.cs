using Google.Protobuf;
using NeuralCore.Nn;
using NeuralCore.Onnx.Protos;
using NeuralCore.Samples;
using static NeuralCore.Onnx.Tests.OnnxTestKit;

namespace NeuralCore.Onnx.Tests;

/// <summary>
/// The sample models (the FashionMnist sample's MLP and CNN, the CIFAR-10 sample's LeNet): exported, verified by
/// ONNX Runtime on random inputs and real Fashion-MNIST test images, imported back and exported again.
/// </summary>
public class SampleModelTests
{
    public static TheoryData<string> FashionModels() => ["mlp", "cnn"];

    static Sequential Fashion(string name) => name == "mlp" ? FashionMnistSample.Mlp() : FashionMnistSample.Cnn();

    [Theory]
    [MemberData(nameof(FashionModels))]
    public void Fashion_model_matches_onnx_runtime_on_random_and_real_images(string name)
    {
        Rng.ManualSeed(11);
        var model = Fashion(name);
        var real = FashionImages(100);
        var model1 = ExportAndVerify(model, Tensor.Randn(4, 1, 28, 28), new OnnxExportOptions { ClassLabels = FashionClasses },
            Tensor.Randn(1, 1, 28, 28), real, real[..1]);
        Assert.Contains(model1.MetadataProps, p => p.Key == OnnxExporter.ClassLabelsKey && p.Value.Contains("Ankle boot", StringComparison.Ordinal));
    }

    [Fact]
    public void LeNet_custom_module_is_traced_and_matches_onnx_runtime()
    {
        Rng.ManualSeed(12);
        var net = new LeNet();
        var exported = ExportAndVerify(net, Tensor.Randn(2, 3, 32, 32), null, Tensor.Randn(5, 3, 32, 32));
        Assert.Equal(["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm", "Relu", "Gemm"],
            exported.Graph.Node.Select(n => n.OpType));
        Assert.Contains(exported.Graph.Initializer, t => t.Name == "conv1.weight");
        Assert.Contains(exported.Graph.Initializer, t => t.Name == "fc3.bias");
    }

    public static TheoryData<string> AllSampleModels() => ["mlp", "cnn", "lenet"];

    static (Module Model, Tensor Sample) Make(string name) =>
        name == "lenet" ? (new LeNet(), Tensor.Randn(3, 3, 32, 32)) : (Fashion(name), Tensor.Randn(3, 1, 28, 28));

    [Theory]
    [MemberData(nameof(AllSampleModels))]
    public void Export_import_export_is_stable_and_the_import_agrees(string name)
    {
        Rng.ManualSeed(13);
        var (model, sample) = Make(name);
        var options = new OnnxExportOptions { ClassLabels = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"] };
        var first = OnnxExporter.Export(model, sample, options);
        var imported = OnnxModel.FromBytes(first.ToByteArray());
        var second = OnnxExporter.Export(imported, sample, options);
        Assert.Equal(first, second);
        Assert.Equal(first.ToByteArray(), second.ToByteArray());
        Assert.Equal(options.ClassLabels, imported.ClassLabels);

        model.Eval();
        using (Tensor.NoGrad())
        {
            var x = Tensor.Randn(sample.Shape.ToArray().Select((d, i) => i == 0 ? 6L : d).ToArray());
            AssertClose(model.Forward(x).ToArray<float>(), imported.Forward(x).ToArray<float>(), $"{name} imported");
        }
        // Same weights: every initializer of the first export is a parameter or buffer of the import with equal values.
        foreach (var init in first.Graph.Initializer)
            Assert.Equal(OnnxTensors.FromProto(init).ToArray<float>(), imported.Initializer(init.Name).ToArray<float>());
    }

    [Fact]
    public void Imported_model_trains_its_weights()
    {
        Rng.ManualSeed(14);
        var imported = OnnxModel.FromBytes(OnnxExporter.ToBytes(FashionMnistSample.Cnn(), Tensor.Randn(2, 1, 28, 28)));
        var parameters = imported.Parameters().ToList();
        Assert.True(8 == parameters.Count, string.Join(", ", imported.InitializerNames));        // 2 conv and 2 dense layers, weight and bias each
        Assert.All(parameters, p => Assert.True(p.RequiresGrad));
        var x = FashionImages(8);
        var labels = Tensor.FromArray(new long[] { 0, 1, 2, 3, 4, 5, 6, 7 }, 8);
        var optimizer = new Optim.Adam(parameters, lr: 1e-3);
        double first = 0, last = 0;
        for (int step = 0; step < 20; step++)
        {
            optimizer.ZeroGrad();
            var loss = Functional.CrossEntropy(imported.Forward(x), labels);
            loss.Backward();
            optimizer.Step();
            if (step == 0) first = loss.Item<float>();
            last = loss.Item<float>();
        }
        Assert.True(last < first * 0.5, $"training the imported model should reduce the loss; it went from {first} to {last}.");
    }

    [Fact]
    public void Imported_model_nested_in_a_sequential_exports_with_prefixed_initializers()
    {
        Rng.ManualSeed(15);
        var imported = OnnxModel.Load(TestData("torch_lenet.onnx"));
        var model = new Sequential(imported, new Softmax(1));
        var exported = ExportAndVerify(model, FashionImages(4), null, FashionImages(30));
        Assert.Contains(exported.Graph.Initializer, t => t.Name == "0.fc1.weight");
        Assert.Equal("Softmax", exported.Graph.Node[^1].OpType);
    }

    [Fact]
    public void Fixed_batch_export_writes_the_sample_sizes()
    {
        Rng.ManualSeed(16);
        var exported = ExportAndVerify(FashionMnistSample.Mlp(), Tensor.Randn(5, 1, 28, 28), new OnnxExportOptions { DynamicBatch = false, InputName = "pixels", OutputName = "logits" });
        Assert.Equal(5, exported.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimValue);
        Assert.Equal("pixels", exported.Graph.Input[0].Name);
        Assert.Equal("logits", exported.Graph.Output[0].Name);
    }
}
