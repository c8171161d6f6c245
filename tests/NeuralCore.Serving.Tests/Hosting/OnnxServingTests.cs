using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using NeuralCore.Nn;
using NeuralCore.Onnx;
using NeuralCore.Samples;
using NeuralCore.Serving.Hosting;
using NeuralCore.Serving.Registry;
using NeuralCore.Serving.Tests.Registry;

namespace NeuralCore.Serving.Tests.Hosting;

/// <summary>
/// ONNX models registered from .onnx files (through the ModelServer <c>register</c> verb and the registry API) and
/// served over the Open Inference Protocol on loopback: the HTTP outputs are compared with ONNX Runtime's on the same
/// file, elementwise within 1e-5 · max(1, |reference|), as the ONNX tests compare.
/// </summary>
public sealed class OnnxServingTests : IDisposable
{
    readonly RegistryBackend env = RegistryBackend.Create("sqlite");
    readonly string directory = Directory.CreateTempSubdirectory("neuralcore-onnx-serving-").FullName;

    public void Dispose()
    {
        env.Dispose();
        Directory.Delete(directory, recursive: true);
    }

    static readonly string[] Classes = ["a", "b", "c"];

    [Fact]
    public async Task Registered_onnx_models_serve_outputs_equal_to_onnx_runtime()
    {
        Rng.ManualSeed(31);
        // A 1-d convolutional classifier with class labels in the ONNX metadata, and a batch-first bidirectional GRU
        // sequence model (3-d output).
        var classifier = new Sequential(new Conv1d(2, 4, 3, padding: 1), new ReLU(), new Flatten(), new Linear(4 * 8, 3), new Softmax(1));
        string classifierPath = Path.Combine(directory, "classifier.onnx");
        OnnxExporter.Save(classifier, Tensor.Randn(2, 2, 8), classifierPath, new OnnxExportOptions { ClassLabels = Classes });
        var sequence = new Sequential(new GRU(4, 5, batchFirst: true, bidirectional: true), new Linear(10, 2));
        string sequencePath = Path.Combine(directory, "sequence.onnx");
        OnnxExporter.Save(sequence, Tensor.Randn(2, 7, 4), sequencePath);

        var registered = await ModelServerRun(["register", "onnx-clf", classifierPath, "--alias", "production", "--registry", env.Directory]);
        Assert.True(registered.Code == 0, registered.Error);
        Assert.Contains("Registered 'onnx-clf' version 1", registered.Output);

        using var registry = env.Open();
        var seqVersion = registry.RegisterFile("onnx-seq", sequencePath);
        Assert.Equal([-1L, 7, 4], seqVersion.Signature.Inputs[0].Shape);
        Assert.Equal([-1L, 7, 2], seqVersion.Signature.Outputs[0].Shape);
        var clfVersion = registry.Resolve("onnx-clf", "production");
        Assert.Equal([-1L, 2, 8], clfVersion.Signature.Inputs[0].Shape);
        Assert.Equal([-1L, 3], clfVersion.Signature.Outputs[0].Shape);
        Assert.Equal(Classes, clfVersion.Signature.ClassNames);
        Assert.All(registry.Verify(), v => Assert.Null(v.Error));
        Assert.IsType<OnnxModel>(Assert.Single(registry.Load(clfVersion)));

        await using var host = await LoopbackHost.StartAsync(registry, new ServingOptions { AllowAnonymousInference = true });
        int compared = 0;
        foreach (var (name, path, shape) in new[]
        {
            ("onnx-clf", classifierPath, new long[] { 5, 2, 8 }), ("onnx-clf", classifierPath, [1, 2, 8]),
            ("onnx-seq", sequencePath, [3, 7, 4]), ("onnx-seq", sequencePath, [1, 7, 4]),
        })
        {
            var input = Tensor.Randn(shape);
            var reference = RunOrt(File.ReadAllBytes(path), input, out var referenceShape);
            var (outputShape, values) = await Infer(host.Http, name, input);
            Assert.Equal(referenceShape, outputShape);
            Assert.Equal(reference.Length, values.Length);
            for (int i = 0; i < reference.Length; i++)
                Assert.True(Math.Abs(values[i] - reference[i]) <= 1e-5 * Math.Max(1.0, Math.Abs(reference[i])),
                    $"{name} {input.Shape}: element {i} is {values[i]:R}, ONNX Runtime {reference[i]:R}.");
            compared += values.Length;
        }
        Assert.Equal(5 * 3 + 3 + 3 * 7 * 2 + 7 * 2, compared);

        var metadata = JsonDocument.Parse(await host.Http.GetStringAsync("/v2/models/onnx-clf")).RootElement;
        Assert.Equal(Classes, metadata.GetProperty("parameters").GetProperty("class_names").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void A_file_that_is_neither_format_is_refused_with_both_named()
    {
        using var registry = env.Open();
        string path = Path.Combine(directory, "junk.onnx");
        File.WriteAllBytes(path, [0x08, 0x08, 0x12, 0xff, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05]);
        var e = Assert.Throws<InvalidDataException>(() => registry.RegisterFile("junk", path));
        Assert.Contains("neither a NeuralCore model file (safetensors) nor an ONNX model", e.Message);
        Assert.Empty(registry.ListModels());
    }

    [Fact]
    public void Onnx_models_over_the_load_limits_are_refused()
    {
        using var registry = env.Open();
        string path = Path.Combine(directory, "mlp.onnx");
        OnnxExporter.Save(new Sequential(new Linear(6, 16), new ReLU(), new Linear(16, 3)), Tensor.Randn(2, 6), path);
        var nodes = Assert.Throws<InvalidDataException>(() => registry.RegisterFile("mlp", path, limits: new Serialization.ModelLoadLimits { MaxLayers = 2 }));
        Assert.Contains("3 nodes, over the limit of 2", nodes.Message);
        var elements = Assert.Throws<InvalidDataException>(() => registry.RegisterFile("mlp", path, limits: new Serialization.ModelLoadLimits { MaxParameters = 100 }));
        Assert.Contains("hold 163 elements, over the limit of 100", elements.Message);
        Assert.Equal(1, registry.RegisterFile("mlp", path).Version);
    }

    static async Task<(int Code, string Output, string Error)> ModelServerRun(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = await ModelServerApp.RunAsync(args, output, error, CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }

    static async Task<(long[] Shape, float[] Values)> Infer(HttpClient http, string model, Tensor input)
    {
        var body = new StringBuilder();
        body.Append("{\"inputs\":[{\"name\":\"input\",\"shape\":[").AppendJoin(',', input.Shape.ToArray()).Append("],\"datatype\":\"FP32\",\"data\":[");
        body.AppendJoin(',', input.ToArray<float>().Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))).Append("]}]}");
        using var response = await http.PostAsync($"/v2/models/{model}/infer", new StringContent(body.ToString(), Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var output = JsonDocument.Parse(text).RootElement.GetProperty("outputs")[0];
        return ([.. output.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64())], [.. output.GetProperty("data").EnumerateArray().Select(e => e.GetSingle())]);
    }

    static float[] RunOrt(byte[] model, Tensor input, out long[] shape)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        using var value = OrtValue.CreateTensorValueFromMemory(input.Contiguous().ToArray<float>(), input.Shape.ToArray());
        using var run = new RunOptions();
        using var results = session.Run(run, [session.InputMetadata.Keys.First()], [value], [session.OutputMetadata.Keys.First()]);
        shape = results[0].GetTensorTypeAndShape().Shape;
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }
}
