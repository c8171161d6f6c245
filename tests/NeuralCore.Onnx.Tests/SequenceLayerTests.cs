using Google.Protobuf;
using NeuralCore.Nn;
using static NeuralCore.Onnx.Tests.OnnxTestKit;

namespace NeuralCore.Onnx.Tests;

/// <summary>
/// Conv1d and the recurrent layers: exported, run by ONNX Runtime against NeuralCore, imported back (the imported
/// model against ONNX Runtime and NeuralCore) and exported again byte-identically.
/// </summary>
public class SequenceLayerTests
{
    static readonly Dictionary<string, (Func<Module> Make, long[] Shape)> Layers = new()
    {
        ["Conv1d"] = (() => new Conv1d(3, 8, 3), [2, 3, 12]),
        ["Conv1dStridePadDilation"] = (() => new Conv1d(4, 6, 3, stride: 2, padding: 2, dilation: 2), [2, 4, 15]),
        ["Conv1dGroupsNoBias"] = (() => new Conv1d(4, 8, 3, padding: 1, groups: 2, bias: false), [2, 4, 10]),
        ["Conv1dDepthwise"] = (() => new Conv1d(4, 4, 5, groups: 4), [2, 4, 9]),
        ["LSTM"] = (() => new LSTM(5, 6), [4, 3, 5]),
        ["LSTMNoBias"] = (() => new LSTM(5, 6, bias: false), [4, 3, 5]),
        ["LSTMBatchFirst"] = (() => new LSTM(5, 6, batchFirst: true), [3, 4, 5]),
        ["LSTMBidirectionalTwoLayers"] = (() => new LSTM(5, 6, numLayers: 2, bidirectional: true), [4, 3, 5]),
        ["LSTMUnbatched"] = (() => new LSTM(5, 6), [4, 5]),
        ["GRU"] = (() => new GRU(5, 7), [4, 3, 5]),
        ["GRUNoBias"] = (() => new GRU(5, 7, bias: false), [4, 3, 5]),
        ["GRUBidirectionalTwoLayersBatchFirst"] = (() => new GRU(5, 7, numLayers: 2, batchFirst: true, bidirectional: true), [3, 4, 5]),
        ["RNNTanh"] = (() => new RNN(5, 6), [4, 3, 5]),
        ["RNNReluBidirectionalThreeLayers"] = (() => new RNN(5, 6, numLayers: 3, nonlinearity: "relu", bidirectional: true), [4, 3, 5]),
        ["LSTMThenLinear"] = (() => new Sequential(new LSTM(5, 6, batchFirst: true), new Linear(6, 3)), [3, 4, 5]),
    };

    public static TheoryData<string> LayerNames() => [.. Layers.Keys];

    [Theory]
    [MemberData(nameof(LayerNames))]
    public void Layer_matches_onnx_runtime_and_imports_back(string name)
    {
        Rng.ManualSeed(23);
        var (make, shape) = Layers[name];
        var model = new Sequential(make());
        var sample = Tensor.Randn(shape);
        var other = shape.ToArray();
        other[0] = 7;
        var otherInput = Tensor.Randn(other);
        var exported = ExportAndVerify(model, sample, null, otherInput);

        var bytes = exported.ToByteArray();
        var imported = OnnxModel.FromBytes(bytes);
        foreach (var input in new[] { sample, otherInput })
        {
            Tensor ours;
            using (Tensor.NoGrad()) ours = imported.Forward(input);
            AssertClose(RunOrt(exported, input, out var ortShape), ours.Contiguous().ToArray<float>(), $"imported {name} on {input.Shape}");
            Assert.Equal(ortShape, ours.Shape.ToArray());
        }
        var again = OnnxExporter.Export(imported, sample);
        Assert.Equal(bytes, again.ToByteArray());
    }

    [Theory]
    [InlineData("LSTM", "LSTM", "Squeeze")]
    [InlineData("GRUBidirectionalTwoLayersBatchFirst", "GRU", "Reshape")]
    [InlineData("RNNReluBidirectionalThreeLayers", "RNN", "Reshape")]
    public void Recurrent_layers_become_one_onnx_node_per_layer(string name, string op, string merge)
    {
        var (make, shape) = Layers[name];
        var layer = (RNNBase)make();
        var exported = OnnxExporter.Export(new Sequential(layer), Tensor.Randn(shape));
        var nodes = exported.Graph.Node.Where(n => n.OpType == op).ToList();
        Assert.Equal(layer.NumLayers, nodes.Count);
        Assert.Equal(layer.NumLayers, exported.Graph.Node.Count(n => n.OpType == merge));
        foreach (var node in nodes)
        {
            Assert.Equal(layer.HiddenSize, node.Attribute.Single(a => a.Name == "hidden_size").I);
            Assert.Equal(layer.Bidirectional ? "bidirectional" : "forward", node.Attribute.Single(a => a.Name == "direction").S.ToStringUtf8());
            if (op == "GRU") Assert.Equal(1, node.Attribute.Single(a => a.Name == "linear_before_reset").I);
        }
        Assert.Equal(layer.BatchFirst ? 2 : 0, exported.Graph.Node.Count(n => n.OpType == "Transpose" && n.Attribute[0].Ints.SequenceEqual([1L, 0, 2])));
    }

    [Fact]
    public void Lstm_gates_are_written_in_onnx_order()
    {
        // PyTorch orders the LSTM blocks (i, f, g, o); ONNX wants (i, o, f, c). Mark each block of weight_ih by its index.
        var lstm = new LSTM(2, 3);
        using (Tensor.NoGrad())
            lstm.Parameter("weight_ih_l0")!.Copy_(Tensor.Arange(4).Reshape(4, 1, 1).Expand(4, 3, 2).Reshape(12, 2).To(DType.Float32));
        var exported = OnnxExporter.Export(new Sequential(lstm), Tensor.Randn(2, 1, 2));
        var w = exported.Graph.Initializer.Single(t => t.Name.EndsWith(".W", StringComparison.Ordinal));
        var values = OnnxTensors.FromProto(w).ToArray<float>();
        Assert.Equal(new float[] { 0, 3, 1, 2 }, Enumerable.Range(0, 4).Select(g => values[g * 6]).ToArray());
    }

    [Fact]
    public void Imported_recurrent_model_trains()
    {
        Rng.ManualSeed(29);
        var model = new Sequential(new GRU(4, 5, batchFirst: true), new Linear(5, 2));
        var sample = Tensor.Randn(3, 6, 4);
        var imported = OnnxModel.FromBytes(OnnxExporter.ToBytes(model, sample));
        var trainable = imported.InitializerNames.Where(i => i.Trainable).Select(i => i.OnnxName).ToList();
        Assert.Contains(trainable, n => n.EndsWith(".W", StringComparison.Ordinal));
        Assert.Contains(trainable, n => n.EndsWith(".R", StringComparison.Ordinal));
        Assert.Contains(trainable, n => n.EndsWith(".B", StringComparison.Ordinal));
        var target = Tensor.Randn(3, 6, 2);
        var optimizer = new Optim.Adam(imported.Parameters(), lr: 0.02);
        double first = double.NaN, last = double.NaN;
        for (int step = 0; step < 30; step++)
        {
            optimizer.ZeroGrad();
            var loss = (imported.Forward(sample) - target).Square().Mean();
            loss.Backward();
            optimizer.Step();
            double value = loss.Item<float>();
            if (step == 0) first = value;
            last = value;
        }
        Assert.True(last < 0.8 * first, $"loss went from {first} to {last}");
    }
}

/// <summary>
/// Recurrent graphs the exporter does not write — reverse direction, initial states, GRU with linear_before_reset 0 —
/// built directly and imported, against ONNX Runtime.
/// </summary>
public class RecurrentImportTests
{
    static ModelProtoBuilder Graph(string op, string direction, int hidden, long input, long batch, bool initial, long? linearBeforeReset, bool bias = true)
    {
        int dirs = direction == "bidirectional" ? 2 : 1;
        int gates = op switch { "LSTM" => 4, "GRU" => 3, _ => 1 };
        var b = new ModelProtoBuilder("X", [null, batch, input], "Y", [null, dirs, batch, hidden]);
        var inputs = new List<string> { "X", b.Init("W", Tensor.Randn(dirs, gates * hidden, input) * 0.5), b.Init("R", Tensor.Randn(dirs, gates * hidden, hidden) * 0.5) };
        inputs.Add(bias ? b.Init("B", Tensor.Randn(dirs, 2 * gates * hidden) * 0.5) : "");
        if (initial)
        {
            inputs.Add("");
            inputs.Add(b.Init("initial_h", Tensor.Randn(dirs, batch, hidden)));
            if (op == "LSTM") inputs.Add(b.Init("initial_c", Tensor.Randn(dirs, batch, hidden)));
        }
        var attributes = new List<Protos.AttributeProto> { ModelProtoBuilder.Int("hidden_size", hidden), ModelProtoBuilder.Str("direction", direction) };
        if (linearBeforeReset is { } lbr) attributes.Add(ModelProtoBuilder.Int("linear_before_reset", lbr));
        b.Node(op, [.. inputs], ["Y"], [.. attributes]);
        return b;
    }

    [Theory]
    [InlineData("LSTM", "reverse", true, null, true)]
    [InlineData("LSTM", "bidirectional", true, null, false)]
    [InlineData("GRU", "forward", true, 0L, true)]
    [InlineData("GRU", "bidirectional", false, 0L, true)]
    [InlineData("GRU", "reverse", true, 1L, true)]
    [InlineData("RNN", "reverse", true, null, true)]
    [InlineData("RNN", "bidirectional", false, null, false)]
    public void Imported_recurrent_node_matches_onnx_runtime(string op, string direction, bool initial, long? linearBeforeReset, bool bias)
    {
        Rng.ManualSeed(37);
        var model = Graph(op, direction, 5, 4, 3, initial, linearBeforeReset, bias).Model;
        OnnxChecker.Check(model);
        var imported = new OnnxModel(model);
        foreach (long steps in new long[] { 6, 1 })
        {
            var x = Tensor.Randn(steps, 3, 4);
            Tensor ours;
            using (Tensor.NoGrad()) ours = imported.Forward(x);
            var ort = OnnxTestKit.RunOrt(model, x, out var shape);
            Assert.Equal(shape, ours.Shape.ToArray());
            OnnxTestKit.AssertClose(ort, ours.Contiguous().ToArray<float>(), $"{op} {direction} T={steps}");
        }
        // The imported graph exports again to the same nodes and initializer values.
        var again = OnnxExporter.Export(imported, Tensor.Randn(2, 3, 4));
        Assert.Equal(model.Graph.Node.Single().Attribute, again.Graph.Node.Single(n => n.OpType == op).Attribute);
        foreach (var init in model.Graph.Initializer)
            Assert.Equal(OnnxTensors.FromProto(init).ToArray<float>(), OnnxTensors.FromProto(again.Graph.Initializer.Single(t => t.Name == init.Name)).ToArray<float>());
    }

    [Theory]
    [InlineData("LSTM", "bidirectional", "Y_h")]
    [InlineData("LSTM", "reverse", "Y_c")]
    [InlineData("GRU", "bidirectional", "Y_h")]
    [InlineData("RNN", "forward", "Y_h")]
    public void Final_state_outputs_match_onnx_runtime(string op, string direction, string output)
    {
        Rng.ManualSeed(41);
        int dirs = direction == "bidirectional" ? 2 : 1;
        var b = Graph(op, direction, 5, 4, 3, initial: true, linearBeforeReset: op == "GRU" ? 1 : null);
        var node = b.Model.Graph.Node[0];
        node.Output.Clear();
        // The sequence output left unnamed, the final states named as PyTorch names them.
        node.Output.Add(op == "LSTM" ? ["", "Y_h", "Y_c"] : ["", "Y_h"]);
        b.Model.Graph.Output[0].Name = output;
        var dims = b.Model.Graph.Output[0].Type.TensorType.Shape.Dim;
        dims.Clear();
        foreach (long d in new long[] { dirs, 3, 5 }) dims.Add(new Protos.TensorShapeProto.Types.Dimension { DimValue = d });
        OnnxChecker.Check(b.Model);
        var imported = new OnnxModel(b.Model);
        foreach (long steps in new long[] { 5, 1 })
        {
            var x = Tensor.Randn(steps, 3, 4);
            Tensor ours;
            using (Tensor.NoGrad()) ours = imported.Forward(x);
            var ort = OnnxTestKit.RunOrt(b.Model, x, out var shape);
            Assert.Equal(shape, ours.Shape.ToArray());
            OnnxTestKit.AssertClose(ort, ours.Contiguous().ToArray<float>(), $"{op} {direction} {output} T={steps}");
        }
    }

    [Fact]
    public void Unsupported_recurrent_features_are_named()
    {
        void Refused(Action<Protos.NodeProto> change, string expected)
        {
            var b = Graph("LSTM", "forward", 5, 4, 3, initial: false, linearBeforeReset: null);
            change(b.Model.Graph.Node[0]);
            var e = Assert.Throws<OnnxFormatException>(() => new OnnxModel(b.Model));
            Assert.Contains(expected, e.Message);
        }
        Refused(n => n.Output.Add(["Y_h", "Y_c", "Y_more"]), "has 4 outputs; LSTM has at most 3 (Y, Y_h, Y_c)");
        Refused(n => n.Attribute.Add(ModelProtoBuilder.Float("clip", 3)), "clip is not supported");
        Refused(n => n.Attribute.Add(ModelProtoBuilder.Int("layout", 1)), "layout 1");
        Refused(n => n.Attribute.Add(ModelProtoBuilder.Strs("activations", "Relu", "Tanh", "Tanh")), "activations [Relu, Tanh, Tanh] are not supported");
        Refused(n => n.Attribute.Add(ModelProtoBuilder.Int("linear_before_reset", 1)), "linear_before_reset applies to GRU only");
        Refused(n => { n.Input.Add(""); n.Input.Add(""); n.Input[4] = "W"; }, "sequence_lens");
        Refused(n => n.Attribute[0].I = 0, "positive hidden_size");
        Refused(n => n.Attribute[1].S = Google.Protobuf.ByteString.CopyFromUtf8("sideways"), "direction \"sideways\"");

        var wrong = Graph("GRU", "forward", 5, 4, 3, initial: false, linearBeforeReset: 1);
        wrong.Model.Graph.Input[0].Type.TensorType.Shape.Dim[2] = new Protos.TensorShapeProto.Types.Dimension { DimParam = "features" };
        var imported = new OnnxModel(wrong.Model);
        var error = Assert.Throws<ArgumentException>(() => imported.Forward(Tensor.Randn(2, 3, 6)));
        Assert.Contains("W is [1, 15, 4], expected [1, 15, 6]", error.Message);
    }
}

/// <summary>A one-node (or few-node) ONNX model written by hand, opset 17.</summary>
internal sealed class ModelProtoBuilder
{
    public ModelProtoBuilder(string input, long?[] inputShape, string output, long?[] outputShape)
    {
        Model = new Protos.ModelProto { IrVersion = OnnxOpset.IrVersion, Graph = new Protos.GraphProto { Name = "hand" } };
        Model.OpsetImport.Add(new Protos.OperatorSetIdProto { Domain = "", Version = OnnxOpset.Version });
        Model.Graph.Input.Add(Info(input, inputShape));
        Model.Graph.Output.Add(Info(output, outputShape));
    }

    public Protos.ModelProto Model { get; }

    public string Init(string name, Tensor value)
    {
        Model.Graph.Initializer.Add(OnnxTensors.ToProto(value.Contiguous(), name));
        return name;
    }

    public void Node(string op, string[] inputs, string[] outputs, params Protos.AttributeProto[] attributes)
    {
        var node = new Protos.NodeProto { OpType = op, Name = $"{op}_{Model.Graph.Node.Count}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        Model.Graph.Node.Add(node);
    }

    public static Protos.AttributeProto Int(string name, long value) => new() { Name = name, Type = Protos.AttributeProto.Types.AttributeType.Int, I = value };

    public static Protos.AttributeProto Float(string name, float value) => new() { Name = name, Type = Protos.AttributeProto.Types.AttributeType.Float, F = value };

    public static Protos.AttributeProto Str(string name, string value) =>
        new() { Name = name, Type = Protos.AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8(value) };

    public static Protos.AttributeProto Strs(string name, params string[] values)
    {
        var a = new Protos.AttributeProto { Name = name, Type = Protos.AttributeProto.Types.AttributeType.Strings };
        a.Strings.AddRange(values.Select(Google.Protobuf.ByteString.CopyFromUtf8));
        return a;
    }

    static Protos.ValueInfoProto Info(string name, long?[] shape)
    {
        var s = new Protos.TensorShapeProto();
        foreach (var d in shape)
            s.Dim.Add(d is { } v ? new Protos.TensorShapeProto.Types.Dimension { DimValue = v } : new Protos.TensorShapeProto.Types.Dimension { DimParam = "steps" });
        return new Protos.ValueInfoProto
        {
            Name = name,
            Type = new Protos.TypeProto { TensorType = new Protos.TypeProto.Types.Tensor { ElemType = (int)Protos.TensorProto.Types.DataType.Float, Shape = s } },
        };
    }
}
