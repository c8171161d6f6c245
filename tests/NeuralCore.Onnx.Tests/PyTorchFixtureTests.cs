using System.Text.Json;
using Google.Protobuf;
using NeuralCore.Onnx.Protos;
using static NeuralCore.Onnx.Tests.OnnxTestKit;

namespace NeuralCore.Onnx.Tests;

/// <summary>
/// Models exported by PyTorch 1.13 at opset 17 (TestData, made by tools/onnx-fixtures/make_fixtures.py): imported
/// and run by NeuralCore against PyTorch's saved output and against ONNX Runtime, then re-exported.
/// </summary>
public class PyTorchFixtureTests
{
    public static TheoryData<string> Fixtures() => ["torch_mlp", "torch_mlp_layernorm", "torch_cnn_bn", "torch_lenet"];

    static (Tensor Input, Tensor Output) Reference(string name)
    {
        using var meta = JsonDocument.Parse(File.ReadAllText(TestData(name + ".json")));
        long[] Shape(string key) => meta.RootElement.GetProperty(key).EnumerateArray().Select(e => e.GetInt64()).ToArray();
        return (ReadFloats(TestData(name + ".input.bin"), Shape("input_shape")), ReadFloats(TestData(name + ".output.bin"), Shape("output_shape")));
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void PyTorch_model_imports_and_matches_pytorch_and_onnx_runtime(string name)
    {
        var bytes = File.ReadAllBytes(TestData(name + ".onnx"));
        var model = OnnxModel.FromBytes(bytes);
        var (input, expected) = Reference(name);
        Tensor ours;
        using (Tensor.NoGrad()) ours = model.Forward(input);
        Assert.Equal(expected.Shape, ours.Shape);
        AssertClose(expected.ToArray<float>(), ours.ToArray<float>(), $"{name} vs PyTorch");
        var ort = RunOrt(bytes, input, out _);
        AssertClose(ort, ours.ToArray<float>(), $"{name} vs ONNX Runtime");

        // Real images at another batch size, against ONNX Runtime.
        var images = FashionImages(50);
        using (Tensor.NoGrad()) ours = model.Forward(images);
        AssertClose(RunOrt(bytes, images, out _), ours.ToArray<float>(), $"{name} on real images vs ONNX Runtime");
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void PyTorch_model_reexports_stably_and_onnx_runtime_agrees(string name)
    {
        var model = OnnxModel.Load(TestData(name + ".onnx"));
        var (input, expected) = Reference(name);
        var first = OnnxExporter.Export(model, input);
        OnnxChecker.Check(first);
        AssertClose(expected.ToArray<float>(), RunOrt(first, input, out _), $"{name} re-exported, in ONNX Runtime");
        var second = OnnxExporter.Export(OnnxModel.FromBytes(first.ToByteArray()), input);
        Assert.Equal(first.ToByteArray(), second.ToByteArray());
        Assert.All(model.Parameters(), p => Assert.True(p.RequiresGrad));
    }
}
