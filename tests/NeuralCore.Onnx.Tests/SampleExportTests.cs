using NeuralCore.Nn;
using NeuralCore.Onnx.Protos;
using NeuralCore.Samples;
using static NeuralCore.Onnx.Tests.OnnxTestKit;

namespace NeuralCore.Onnx.Tests;

/// <summary>
/// <c>samples/FashionMnist --export-onnx PATH</c>: one short epoch on the bundled subset, then the written model is
/// run by ONNX Runtime on real test images against the sample's own saved weights. Redirects Console.Out, so the
/// two cases run one after the other (one class, one collection).
/// </summary>
public sealed class SampleExportTests
{
    [Theory]
    [InlineData("mlp")]
    [InlineData("cnn")]
    public void Sample_exports_a_model_that_onnx_runtime_runs_like_the_saved_weights(string model)
    {
        string dir = Path.Combine(Path.GetTempPath(), "neuralcore-onnx-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var previous = Console.Out;
        var console = new StringWriter();
        try
        {
            string onnxPath = Path.Combine(dir, $"fashion-{model}.onnx");
            Console.SetOut(console);
            FashionMnistApp.Run(["--subset", "--model", model, "--epochs", "1", "--limit", "300", "--device", "cpu", "--out", dir, "--export-onnx", onnxPath]);
            Console.SetOut(previous);
            Assert.Contains($"exported {onnxPath} (ONNX opset 17); the imported graph agrees on the first 8 images: True", console.ToString(), StringComparison.Ordinal);

            var bytes = File.ReadAllBytes(onnxPath);
            var proto = ModelProto.Parser.ParseFrom(bytes);
            OnnxChecker.Check(proto);
            Assert.Contains(proto.MetadataProps, p => p.Key == OnnxExporter.ClassLabelsKey && p.Value.StartsWith("[\"T-shirt/top\",\"Trouser\"", StringComparison.Ordinal));

            var saved = Sequential.Load(Path.Combine(dir, $"fashion-{model}.safetensors"));
            saved.Eval();
            var images = FashionImages(100);
            Tensor expected;
            using (Tensor.NoGrad()) expected = saved.Forward(images);
            AssertClose(RunOrt(bytes, images, out var shape), expected.ToArray<float>(), $"sample {model} in ONNX Runtime vs its saved weights");
            Assert.Equal([100L, 10L], shape);
        }
        finally
        {
            Console.SetOut(previous);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Options_parse_the_export_path()
    {
        Assert.Equal("m.onnx", FashionMnistOptions.Parse(["--export-onnx", "m.onnx"]).ExportOnnx);
        Assert.Null(FashionMnistOptions.Parse([]).ExportOnnx);
        Assert.Contains("--export-onnx PATH", Assert.Throws<ArgumentException>(() => FashionMnistOptions.Parse(["--bogus"])).Message, StringComparison.Ordinal);
    }
}
