using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using NeuralCore.Nn;
using NeuralCore.Onnx.Protos;
using NeuralCore.Vision;

namespace NeuralCore.Onnx.Tests;

/// <summary>ONNX Runtime sessions, the agreement check and the real Fashion-MNIST test images.</summary>
internal static class OnnxTestKit
{
    /// <summary>
    /// The agreement bound: every element must satisfy |ours − reference| ≤ 1e-5 · max(1, |reference|), that is 1e-5
    /// relative for magnitudes of at least 1 and 1e-5 absolute below.
    /// </summary>
    public const double Tolerance = 1e-5;

    /// <summary>Runs <paramref name="model"/> in ONNX Runtime (CPU, all graph optimisations, one thread) on <paramref name="input"/>.</summary>
    public static float[] RunOrt(byte[] model, Tensor input, out long[] shape, string inputName = "input", int threads = 1)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        var data = input.Contiguous().ToArray<float>();
        using var value = OrtValue.CreateTensorValueFromMemory(data, input.Shape.ToArray());
        using var run = new RunOptions();
        string outName = session.OutputMetadata.Keys.First();
        using var results = session.Run(run, [inputName], [value], [outName]);
        shape = results[0].GetTensorTypeAndShape().Shape;
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    public static float[] RunOrt(ModelProto model, Tensor input, out long[] shape) => RunOrt(model.ToByteArray(), input, out shape, model.Graph.Input[0].Name);

    /// <summary>Asserts the bound of <see cref="Tolerance"/> elementwise and returns the largest |difference| seen.</summary>
    public static double AssertClose(float[] reference, float[] actual, string what)
    {
        Assert.True(reference.Length == actual.Length, $"{what}: {actual.Length} values, expected {reference.Length}.");
        double worst = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double diff = Math.Abs((double)actual[i] - reference[i]);
            worst = Math.Max(worst, diff);
            Assert.True(diff <= Tolerance * Math.Max(1.0, Math.Abs(reference[i])),
                $"{what}: element {i} is {actual[i]:R}, reference {reference[i]:R} (|diff| {diff:E3} above {Tolerance} * max(1, |reference|)).");
        }
        return worst;
    }

    /// <summary>Exports, checks the model structurally, runs it in ONNX Runtime and compares with NeuralCore's eval output.</summary>
    public static ModelProto ExportAndVerify(Module module, Tensor sample, OnnxExportOptions? options = null, params Tensor[] moreInputs)
    {
        var model = OnnxExporter.Export(module, sample, options);
        OnnxChecker.Check(model);
        Dump(model);
        module.Eval();
        foreach (var input in moreInputs.Prepend(sample))
        {
            Tensor expected;
            using (Tensor.NoGrad()) expected = module.Forward(input);
            var ort = RunOrt(model, input, out var shape);
            Assert.Equal(expected.Shape.ToArray(), shape);
            AssertClose(ort, expected.Contiguous().ToArray<float>(), $"{module.GetType().Name} on {input.Shape}");
        }
        return model;
    }

    /// <summary>
    /// With NEURALCORE_ONNX_DUMP set to a folder, writes each verified export there, for checking with other tools
    /// (such as Python's onnx.checker); off by default.
    /// </summary>
    public static void Dump(ModelProto model)
    {
        if (Environment.GetEnvironmentVariable("NEURALCORE_ONNX_DUMP") is not { Length: > 0 } dir) return;
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, $"{Guid.NewGuid():N}.onnx"), model.ToByteArray());
    }

    public static string TestData(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", name);

    static readonly Lazy<FashionMnist> FashionTest = new(() =>
        new FashionMnist(Path.Combine(AppContext.BaseDirectory, "data", "fashion-mnist-subset"), train: false, download: false));

    /// <summary>The first <paramref name="count"/> real Fashion-MNIST test images, Float32 [count, 1, 28, 28] in [0, 1].</summary>
    public static Tensor FashionImages(int count) => FashionTest.Value.Images[..count].Contiguous();

    public static IReadOnlyList<string> FashionClasses => FashionTest.Value.Classes;

    /// <summary>Raw little-endian float32 file as a tensor.</summary>
    public static Tensor ReadFloats(string path, long[] shape)
    {
        var bytes = File.ReadAllBytes(path);
        var data = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();
        return Tensor.FromArray(data, shape);
    }
}
