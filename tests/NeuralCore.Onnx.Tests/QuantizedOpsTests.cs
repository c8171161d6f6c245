using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using NeuralCore.Compression;
using NeuralCore.Nn;
using NeuralCore.Onnx.Protos;
using static NeuralCore.Onnx.Tests.OnnxTestKit;

namespace NeuralCore.Onnx.Tests;

/// <summary>
/// The imported quantization operators on hand-built graphs, against ONNX Runtime: per-tensor and per-axis, uint8 and
/// int8, saturation and rounding half to even. Quantize → dequantize is exact arithmetic on both sides, so the outputs
/// must be equal.
/// </summary>
public sealed class QuantizedOpsTests
{
    static TensorProto Raw(string name, TensorProto.Types.DataType type, long[] dims, byte[] raw)
    {
        var p = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        p.Dims.AddRange(dims);
        return p;
    }

    static TensorProto Floats(string name, long[] dims, params float[] values) =>
        Raw(name, TensorProto.Types.DataType.Float, dims, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    static ModelProto Model(long[] shape, IEnumerable<NodeProto> nodes, params TensorProto[] initializers)
    {
        var g = new GraphProto { Name = "q" };
        g.Node.AddRange(nodes);
        g.Initializer.AddRange(initializers);
        g.Input.Add(FloatInfo("input", shape));
        g.Output.Add(FloatInfo("output", shape));
        var m = new ModelProto { IrVersion = 8, Graph = g };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return m;
    }

    static ValueInfoProto FloatInfo(string name, long[] shape)
    {
        var dims = new TensorShapeProto();
        foreach (var d in shape) dims.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = dims } },
        };
    }

    static NodeProto Node(string op, string[] inputs, string[] outputs, long? axis = null)
    {
        var n = new NodeProto { OpType = op, Name = op + "_" + outputs[0] };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        if (axis is { } ax) n.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = ax });
        return n;
    }

    static float[] Ort(ModelProto model, Tensor x)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(model.ToByteArray(), options);
        using var value = OrtValue.CreateTensorValueFromMemory(x.Contiguous().ToArray<float>(), x.Shape.ToArray());
        using var run = new RunOptions();
        using var results = session.Run(run, ["input"], [value], ["output"]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    static float[] Imported(ModelProto model, Tensor x)
    {
        OnnxChecker.Check(model);
        using (Tensor.NoGrad()) return new OnnxModel(model).Forward(x).Contiguous().ToArray<float>();
    }

    /// <summary>Values with exact ties (x / scale = k + 0.5), values far outside the range, NaN-free.</summary>
    static Tensor TieInput()
    {
        var v = new float[2 * 3 * 4];
        float[] pattern = [0.25f, 0.75f, 1.25f, -0.25f, -0.75f, -1.25f, 1000f, -1000f, 3.1f, -2.9f, 0f, 63.75f];
        for (int i = 0; i < v.Length; i++) v[i] = pattern[i % pattern.Length] * (1 + i / 12);
        return Tensor.FromArray(v, 2, 3, 4);
    }

    [Fact]
    public void PerAxisInt8QuantizeDequantizeMatchesOnnxRuntimeExactly()
    {
        var model = Model([2, 3, 4],
            [Node("QuantizeLinear", ["input", "s", "z"], ["q"], axis: 1), Node("DequantizeLinear", ["q", "s", "z"], ["output"], axis: 1)],
            Floats("s", [3], 0.5f, 0.25f, 2f),
            Raw("z", TensorProto.Types.DataType.Int8, [3], [0, 3, unchecked((byte)(sbyte)-5)]));
        var x = TieInput();
        var ort = Ort(model, x);
        var ours = Imported(model, x);
        Assert.Equal(ort, ours);
        // Saturation: ±1000 in channel 1 (scale 0.25, zero point 3) clamp to 127 and −128: (127 − 3)·0.25, (−128 − 3)·0.25.
        Assert.Equal(31f, ours[6]);
        Assert.Equal(-32.75f, ours[7]);
        // Half to even: 0.25 / 0.5 = 0.5 rounds to 0, 0.75 / 0.5 = 1.5 to 2, 1.25 / 0.5 = 2.5 to 2.
        Assert.Equal([0f, 1f, 1f, -0f], ours.Take(4).Select(v => v + 0f).ToArray());
    }

    [Fact]
    public void PerTensorUint8AndDefaultZeroPointMatchOnnxRuntimeExactly()
    {
        var x = TieInput();
        var withZero = Model([2, 3, 4],
            [Node("QuantizeLinear", ["input", "s", "z"], ["q"]), Node("DequantizeLinear", ["q", "s", "z"], ["output"])],
            Floats("s", [], 0.5f), Raw("z", TensorProto.Types.DataType.Uint8, [], [128]));
        Assert.Equal(Ort(withZero, x), Imported(withZero, x));
        var noZero = Model([2, 3, 4],
            [Node("QuantizeLinear", ["input", "s"], ["q"]), Node("DequantizeLinear", ["q", "s"], ["output"])],
            Floats("s", [], 0.25f));
        var ours = Imported(noZero, x);
        Assert.Equal(Ort(noZero, x), ours);
        Assert.True(ours.Min() == 0f && ours.Max() == 255 * 0.25f, "uint8 without zero point saturates to [0, 255] steps");
    }

    [Fact]
    public void DynamicQuantizeLinearAndMatMulIntegerMatchOnnxRuntimeExactly()
    {
        Rng.ManualSeed(41);
        var x = Tensor.Randn(4, 6);
        var w = new sbyte[6 * 4];
        for (int i = 0; i < w.Length; i++) w[i] = (sbyte)((i * 37 % 255) - 127);
        var cast = Node("Cast", ["acc"], ["accf"]);
        cast.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = (long)TensorProto.Types.DataType.Float });
        var model = Model([4, 6],
            [
                Node("DynamicQuantizeLinear", ["input"], ["xq", "xs", "xz"]),
                Node("MatMulInteger", ["xq", "w", "xz"], ["acc"]),
                cast,
                Node("Mul", ["accf", "xs"], ["y"]),
                Node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
                Node("Concat", ["y", "xd"], ["both"], axis: 1),
                Node("Slice", ["both", "starts", "ends", "axes"], ["output"]),
            ],
            Raw("w", TensorProto.Types.DataType.Int8, [6, 4], (byte[])(Array)w),
            OnnxTensors.Int64Vector("starts", 2), OnnxTensors.Int64Vector("ends", 8), OnnxTensors.Int64Vector("axes", 1));
        var ort = Ort(model, x);
        var ours = Imported(model, x);
        Assert.Equal(ort, ours);
        // The dequantized input is within half a step of the input (the range covers it).
        var xs = x.ToArray<float>();
        float step = QuantParams.FromRange(xs.Min(), xs.Max()).Scale;
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++)
                Assert.True(Math.Abs(ours[r * 6 + 2 + c] - xs[r * 6 + c]) <= step / 2 + 1e-6f, $"row {r}, column {c}");
    }

    [Fact]
    public void BadQuantizationParametersAreNamed()
    {
        var model = Model([2, 3, 4],
            [Node("QuantizeLinear", ["input", "s"], ["q"], axis: 2), Node("DequantizeLinear", ["q", "s"], ["output"], axis: 2)],
            Floats("s", [3], 0.5f, 0.25f, 2f));
        var m = new OnnxModel(model);
        var e = Assert.Throws<ArgumentException>(() => m.Forward(TieInput()));
        Assert.Contains("3 per-axis scales do not match dimension 2", e.Message);

        var zeroScale = Model([2, 3, 4],
            [Node("QuantizeLinear", ["input", "s"], ["q"]), Node("DequantizeLinear", ["q", "s"], ["output"])], Floats("s", [], 0f));
        Assert.Contains("positive and finite", Assert.Throws<ArgumentException>(() => new OnnxModel(zeroScale).Forward(TieInput())).Message);

        var badCast = Model([2, 3, 4], [Node("Cast", ["input"], ["output"])]);
        badCast.Graph.Node[0].Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = (long)TensorProto.Types.DataType.Float16 });
        Assert.Contains("element type Float16 is not supported", Assert.Throws<OnnxFormatException>(() => new OnnxModel(badCast)).Message);
    }

    [Fact]
    public void SequenceInputsExportThroughMatMulWithTheChannelAxisOne()
    {
        Rng.ManualSeed(42);
        var float32 = new Sequential(new Linear(6, 5), new ReLU(), new Linear(5, 3));
        var x = Tensor.Randn(4, 3, 6);
        var int8 = Quantization.QuantizeStatic(float32, [x]);
        var model = OnnxExporter.Export(int8, x);
        OnnxChecker.Check(model);
        Assert.Contains(model.Graph.Node, n => n.OpType == "DequantizeLinear" && n.Attribute.Any(at => at.Name == "axis" && at.I == 1));
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType == "Gemm");
        float[] ours;
        using (Tensor.NoGrad()) ours = int8.Forward(x).Contiguous().ToArray<float>();
        // One input step per weight of the last layer bounds the difference (see QuantizedExportTests).
        var last = (QuantizedLinear)int8[int8.Count - 1];
        var w = last.DequantizedWeight().ToArray<float>();
        double rowAbs = Enumerable.Range(0, last.OutFeatures).Max(j => w.Skip(j * last.InFeatures).Take(last.InFeatures).Sum(MathF.Abs));
        double bound = last.InputParams!.Value.Scale * rowAbs + 1e-5;
        var ort = RunOrt(model, x, out var shape);
        Assert.Equal([4L, 3, 3], shape);
        var imported = Imported(model, x);
        for (int i = 0; i < ours.Length; i++)
        {
            Assert.True(Math.Abs(ort[i] - ours[i]) <= bound, $"ORT element {i}: {ort[i]} vs {ours[i]}");
            Assert.True(Math.Abs(imported[i] - ours[i]) <= bound, $"import element {i}: {imported[i]} vs {ours[i]}");
        }
    }

    [Fact]
    public void DynamicConvolutionExportsThroughItsDequantizedInput()
    {
        Rng.ManualSeed(43);
        var int8 = new Sequential(QuantizedConv2d.FromFloat(new Conv2d(2, 3, 3, padding: 1), null, relu: true), new Flatten(),
            QuantizedLinear.FromFloat(new Linear(3 * 5 * 5, 4), null));
        var x = Tensor.Randn(2, 2, 5, 5);
        var model = OnnxExporter.Export(int8, x);
        OnnxChecker.Check(model);
        Assert.Equal(2, model.Graph.Node.Count(n => n.OpType == "DynamicQuantizeLinear"));
        float[] ours;
        using (Tensor.NoGrad()) ours = int8.Forward(x).Contiguous().ToArray<float>();
        var (step, rowAbs) = QuantizedExportTests.LastLayerStep(int8, x);
        QuantizedExportTests.AssertWithinSteps(RunOrt(model, x, out _), ours, step, rowAbs, "dynamic conv: ORT");
        QuantizedExportTests.AssertWithinSteps(Imported(model, x), ours, step, rowAbs, "dynamic conv: import");
    }
}
