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
