using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using NeuralCore.Compression;
using NeuralCore.Nn;
using NeuralCore.Onnx.Protos;
using NeuralCore.Samples;
using Xunit.Abstractions;
using static NeuralCore.Onnx.Tests.OnnxTestKit;

namespace NeuralCore.Onnx.Tests;

/// <summary>
/// int8 models (static, QAT-converted, dynamic) exported as QDQ graphs: ONNX Runtime with graph optimisations off
/// and on, and the re-imported <see cref="OnnxModel"/>, against the int8 model's own output.
/// </summary>
/// <remarks>
/// Tolerance. Between layers every implementation quantizes the float activations to the same uint8 grid, so float
/// rounding differences before a quantizer vanish unless a value lies within rounding of a step boundary; then that
/// element lands one step away. The exported graphs compute the same integers as the int8 GEMM (ONNX Runtime's
/// unfused QDQ graph in float on exactly representable dequantized values; its fused QLinearConv/QGemm and
/// DynamicQuantizeMatMul kernels in integers, with the bias rounded to int32 and fixed-point requantization), so the
/// last layer's input may differ from ours by such steps. The bound per output j is therefore one quantization step
/// of the last layer's input on every element, s·Σₖ|ŵⱼₖ| (s the last layer's input scale, ŵ its dequantized weights),
/// plus 1e-5·max(1, |y|) for float rounding of the layer's own sum.
/// </remarks>
public sealed class QuantizedExportTests(ITestOutputHelper output)
{
    static readonly Lazy<Tensor> Images = new(() => FashionImages(48));

    static Tensor Calibration => Images.Value[..32].Contiguous();

    static Tensor Eval => Images.Value[32..].Contiguous();

    static Sequential Built(Sequential model)
    {
        model.Eval();
        using (Tensor.NoGrad()) model.Forward(Calibration[..2].Contiguous());
        return model;
    }

    static Sequential Static(Sequential model) => Quantization.QuantizeStatic(Built(model), [Calibration[..16].Contiguous(), Calibration[16..].Contiguous()]);

    static Sequential QatConverted(Sequential model)
    {
        var qat = Qat.Prepare(Built(model));
        qat.Train();
        using (Tensor.NoGrad())
        {
            qat.Forward(Calibration[..16].Contiguous());
            qat.Forward(Calibration[16..].Contiguous());
        }
        qat.Eval();
        return Qat.Convert(qat);
    }

    static Sequential Dynamic(Sequential model) => (Sequential)Quantization.QuantizeDynamic(Built(model));

    static readonly string[] Names = ["mlp-static", "cnn-static", "mlp-qat", "cnn-qat", "mlp-dynamic", "cnn-dynamic"];

    public static TheoryData<string> Models => new(Names);

    static Sequential Build(string name)
    {
        Rng.ManualSeed(100 + Array.IndexOf(Names, name));
        var float32 = name.StartsWith("mlp", StringComparison.Ordinal) ? FashionMnistSample.Mlp() : FashionMnistSample.Cnn();
        return name.Split('-')[1] switch
        {
            "static" => Static(float32),
            "qat" => QatConverted(float32),
            _ => Dynamic(float32),
        };
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void QuantizedModelsExportAsQdqAndAgreeWithOnnxRuntimeAndTheImport(string name)
    {
        var int8 = Build(name);
        bool dynamic = name.EndsWith("dynamic", StringComparison.Ordinal);
        Assert.Contains(int8.NamedModules(), m => m.Module is QuantizedLayer);
        var model = OnnxExporter.Export(int8, Calibration[..2].Contiguous());
        OnnxChecker.Check(model);
        DumpIfAsked(model, name);
        var ops = model.Graph.Node.Select(n => n.OpType).ToHashSet();
        if (dynamic) Assert.Superset(new HashSet<string> { "DynamicQuantizeLinear", "MatMulInteger", "Cast" }, ops);
        else Assert.Superset(new HashSet<string> { "QuantizeLinear", "DequantizeLinear" }, ops);
        // The weights travel as INT8 initializers, four times smaller than float32.
        var int8Weights = model.Graph.Initializer.Where(t => t.DataType == (int)TensorProto.Types.DataType.Int8 && t.Dims.Count > 1).ToList();
        Assert.Equal(int8.NamedModules().Count(m => m.Module is QuantizedLayer), int8Weights.Count);

        var x = Eval;
        float[] ours;
        using (Tensor.NoGrad()) ours = int8.Forward(x).Contiguous().ToArray<float>();
        var (step, rowAbs) = LastLayerStep(int8, x);
        var bytes = model.ToByteArray();

        var unfused = RunOrtAt(bytes, x, GraphOptimizationLevel.ORT_DISABLE_ALL);
        string optimizedFile = Path.Combine(Path.GetTempPath(), $"neuralcore-qdq-{name}-{Environment.ProcessId}.onnx");
        var fused = RunOrtAt(bytes, x, GraphOptimizationLevel.ORT_ENABLE_ALL, optimizedFile);
        var fusedOps = ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimizedFile)).Graph.Node.Select(n => n.OpType).ToList();
        File.Delete(optimizedFile);
        output.WriteLine($"{name}: ONNX Runtime's optimised graph: {string.Join(", ", fusedOps)}");
        // The optimised run really takes ONNX Runtime's integer kernels (names as in ONNX Runtime 1.32).
        string[] integerKernels = dynamic ? ["DynamicQuantizeMatMul"] : name.StartsWith("cnn", StringComparison.Ordinal) ? ["QLinearConv", "QGemm"] : ["QGemm"];
        Assert.Superset(integerKernels.ToHashSet(), fusedOps.ToHashSet());
        var imported = OnnxModel.FromBytes(bytes);
        float[] reimported;
        using (Tensor.NoGrad()) reimported = imported.Forward(x).Contiguous().ToArray<float>();

        var a = AssertWithinSteps(unfused, ours, step, rowAbs, $"{name}: ORT, optimisations off");
        var b = AssertWithinSteps(fused, ours, step, rowAbs, $"{name}: ORT, all optimisations");
        var c = AssertWithinSteps(reimported, ours, step, rowAbs, $"{name}: imported OnnxModel");
        output.WriteLine($"{name}: bound s·Σ|ŵ| from {step * rowAbs.Min():E3} to {step * rowAbs.Max():E3}");
        output.WriteLine($"{name}: last-layer input step {step:E3}; max |diff| (elements above 1e-5·max(1,|y|)): ORT off {a.Max:E3} ({a.Loose}), ORT all {b.Max:E3} ({b.Loose}), import {c.Max:E3} ({c.Loose}) of {ours.Length}");
        Assert.True(PredictionsAgree(ours, reimported), $"{name}: the imported model predicts other classes");

        // Export → import → export writes the same graph again: the INT8 and UINT8 initializers keep their types.
        var again = OnnxExporter.Export(imported, Calibration[..2].Contiguous());
        Assert.Equal(model.Graph.Node.Select(n => n.OpType), again.Graph.Node.Select(n => n.OpType));
        Assert.Equal(model.Graph.Initializer.Select(t => (t.DataType, t.RawData)).OrderBy(t => t.RawData.ToBase64(), StringComparer.Ordinal),
            again.Graph.Initializer.Select(t => (t.DataType, t.RawData)).OrderBy(t => t.RawData.ToBase64(), StringComparer.Ordinal));
        Assert.Equal(unfused, RunOrtAt(again.ToByteArray(), x, GraphOptimizationLevel.ORT_DISABLE_ALL));
    }

    [Fact]
    public void DynamicQuantizedLstmIsReportedByName()
    {
        Rng.ManualSeed(3);
        var model = (Sequential)Quantization.QuantizeDynamic(new Sequential(new LSTM(4, 8, batchFirst: true)));
        Assert.IsType<DynamicQuantizedLSTM>(model[0]);
        var e = Assert.Throws<OnnxUnsupportedException>(() => OnnxExporter.Export(model, Tensor.Randn(2, 3, 4)));
        Assert.Contains(e.Unsupported, u => u.StartsWith("DynamicQuantizedLSTM at 0", StringComparison.Ordinal));
    }

    /// <summary>The last module's input quantization step (static: calibrated; dynamic: the batch's range) and its Σₖ|ŵⱼₖ| per output.</summary>
    internal static (float Step, float[] RowAbs) LastLayerStep(Sequential int8, Tensor x)
    {
        var last = Assert.IsType<QuantizedLinear>(int8[int8.Count - 1]);
        Tensor input = x;
        using (Tensor.NoGrad())
            for (int i = 0; i < int8.Count - 1; i++) input = int8[i].Forward(input);
        float step;
        if (last.InputParams is { } p) step = p.Scale;
        else
        {
            var v = input.Contiguous().ToArray<float>();
            step = QuantParams.FromRange(v.Min(), v.Max()).Scale;
        }
        var w = last.DequantizedWeight().ToArray<float>();
        var rows = new float[last.OutFeatures];
        for (int i = 0; i < w.Length; i++) rows[i / last.InFeatures] += MathF.Abs(w[i]);
        return (step, rows);
    }

    internal static (double Max, int Loose) AssertWithinSteps(float[] actual, float[] ours, float step, float[] rowAbs, string what)
    {
        Assert.True(actual.Length == ours.Length, $"{what}: {actual.Length} values, expected {ours.Length}.");
        double worst = 0;
        int loose = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            double diff = Math.Abs((double)actual[i] - ours[i]);
            worst = Math.Max(worst, diff);
            double rounding = Tolerance * Math.Max(1.0, Math.Abs(ours[i]));
            if (diff > rounding) loose++;
            double bound = (double)step * rowAbs[i % rowAbs.Length] + rounding;
            Assert.True(diff <= bound, $"{what}: element {i} is {actual[i]:R}, int8 model {ours[i]:R} (|diff| {diff:E3} above one input step per weight, {bound:E3}).");
        }
        return (worst, loose);
    }

    static bool PredictionsAgree(float[] a, float[] b)
    {
        for (int r = 0; r < a.Length / 10; r++)
        {
            var ra = a.AsSpan(r * 10, 10);
            var rb = b.AsSpan(r * 10, 10);
            if (ra.IndexOf(MaxOf(ra)) != rb.IndexOf(MaxOf(rb))) return false;
        }
        return true;
    }

    static float MaxOf(Span<float> s)
    {
        float m = float.NegativeInfinity;
        foreach (var v in s) m = Math.Max(m, v);
        return m;
    }

    static float[] RunOrtAt(byte[] model, Tensor input, GraphOptimizationLevel level, string? optimizedFile = null)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = level, IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        if (optimizedFile is not null) options.OptimizedModelFilePath = optimizedFile;
        using var session = new InferenceSession(model, options);
        var data = input.Contiguous().ToArray<float>();
        using var value = OrtValue.CreateTensorValueFromMemory(data, input.Shape.ToArray());
        using var run = new RunOptions();
        using var results = session.Run(run, ["input"], [value], [session.OutputMetadata.Keys.First()]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    static void DumpIfAsked(ModelProto model, string name)
    {
        if (Environment.GetEnvironmentVariable("NEURALCORE_ONNX_DUMP") is not { Length: > 0 } dir) return;
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, $"quantized-{name}.onnx"), model.ToByteArray());
    }
}
