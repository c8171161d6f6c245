using Google.Protobuf;
using NeuralCore.Nn;
using NeuralCore.Onnx.Protos;

namespace NeuralCore.Onnx.Tests;

/// <summary>Unsupported exports, malformed and unsupported imports, and the structural checker's findings.</summary>
public class ErrorTests
{
    sealed class ClampAndGather : Module
    {
        public override Tensor Forward(Tensor x) =>
            x.Clamp(-1, 1).Gather(1, Tensor.Zeros([x.Shape[0], 2], DType.Int64)) + 1;
    }

    sealed class Detaching : Module
    {
        public override Tensor Forward(Tensor x) => x * x.Mean().Detach();
    }

    [Fact]
    public void One_exception_lists_every_unsupported_op_and_where_it_was_used()
    {
        Rng.ManualSeed(21);
        var model = new Sequential(
            new Conv2d(1, 2, 3),
            new BatchNorm2d(2, trackRunningStats: false),
            new AdaptiveAvgPool2d((3, 3)),
            new Flatten(),
            new ClampAndGather(),
            new Detaching());
        var e = Assert.Throws<OnnxUnsupportedException>(() => OnnxExporter.Export(model, Tensor.Randn(2, 1, 6, 6)));
        Assert.Equal(5, e.Unsupported.Count);
        Assert.Contains(e.Unsupported, u => u.StartsWith("BatchNorm2d at 1 (BatchNorm2d)", StringComparison.Ordinal));
        Assert.Contains(e.Unsupported, u => u.StartsWith("AdaptiveAvgPool2d at 2 (AdaptiveAvgPool2d): input 4x4", StringComparison.Ordinal));
        Assert.Contains(e.Unsupported, u => u.StartsWith("Clamp in custom module at 4 (ClampAndGather)", StringComparison.Ordinal));
        Assert.Contains(e.Unsupported, u => u.StartsWith("Gather in custom module at 4 (ClampAndGather)", StringComparison.Ordinal));
        Assert.Contains(e.Unsupported, u => u.StartsWith("custom module at 5 (Detaching): a value computed from the input was detached", StringComparison.Ordinal));
        Assert.Contains("5 unsupported operation(s)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sample_must_be_float_with_a_batch()
    {
        var e = Assert.Throws<ArgumentException>(() => OnnxExporter.Export(new ReLU(), Tensor.Scalar(1.0)));
        Assert.Contains("batch dimension", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => OnnxExporter.Export(new ReLU(), Tensor.Zeros([2, 3], DType.Int64)));
    }

    static ModelProto SmallModel() => OnnxExporter.Export(new Sequential(new Linear(3, 2), new ReLU()), Tensor.Randn(2, 3));

    [Fact]
    public void Checker_reports_undefined_inputs_duplicate_outputs_missing_opset_and_bad_types()
    {
        var model = SmallModel();
        model.OpsetImport.Clear();
        model.Graph.Node[1].Input[0] = "nowhere";
        model.Graph.Node[0].Output[0] = "input";
        model.Graph.Output[0].Type.TensorType.ElemType = (int)TensorProto.Types.DataType.Int64;
        var problems = OnnxChecker.Problems(model, forImport: false);
        Assert.Contains(problems, p => p.Contains("default domain must be imported exactly once", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("input \"nowhere\" is not defined", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("output \"input\" is already defined", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("element type Int64", StringComparison.Ordinal));
        var e = Assert.Throws<OnnxFormatException>(() => OnnxChecker.Check(model));
        Assert.True(e.Problems.Count >= 4);
    }

    [Fact]
    public void Checker_catches_an_output_shape_that_inference_contradicts()
    {
        var model = SmallModel();
        model.Graph.Output[0].Type.TensorType.Shape.Dim[1].DimValue = 5;
        var e = Assert.Throws<OnnxFormatException>(() => OnnxChecker.Check(model));
        Assert.Contains(e.Problems, p => p.Contains("declared dimension 1 is 5", StringComparison.Ordinal));
        OnnxChecker.Check(SmallModel());
    }

    [Fact]
    public void Import_rejects_garbage_unsupported_ops_and_attributes_listing_each()
    {
        Assert.Throws<OnnxFormatException>(() => OnnxModel.FromBytes([0xFF, 0xFF, 0xFF, 0x07, 0x01]));
        var model = SmallModel();
        model.Graph.Node[0].OpType = "Einsum";
        model.Graph.Node[1].Attribute.Add(new AttributeProto { Name = "bogus", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        model.Graph.Node[1].OpType = "LeakyRelu";
        var e = Assert.Throws<OnnxFormatException>(() => new OnnxModel(model));
        Assert.Contains(e.Problems, p => p.Contains("operator Einsum is not supported", StringComparison.Ordinal));
        Assert.Contains(e.Problems, p => p.Contains("attribute \"bogus\"", StringComparison.Ordinal));

        var newer = SmallModel();
        newer.OpsetImport[0].Version = 21;
        Assert.Contains("opset 21", Assert.Throws<OnnxFormatException>(() => new OnnxModel(newer)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Import_rejects_tensors_whose_data_does_not_match_their_shape()
    {
        var model = SmallModel();
        model.Graph.Initializer[0].Dims[0] = 1_000_000;
        Assert.Contains("bytes of raw data", Assert.Throws<OnnxFormatException>(() => new OnnxModel(model)).Message, StringComparison.Ordinal);
        var huge = SmallModel();
        huge.Graph.Initializer[0].Dims.Add(long.MaxValue / 2);
        Assert.Contains("more than", Assert.Throws<OnnxFormatException>(() => new OnnxModel(huge)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Imported_model_names_a_wrong_input_shape()
    {
        var imported = OnnxModel.FromBytes(SmallModel().ToByteArray());
        var e = Assert.Throws<ArgumentException>(() => imported.Forward(Tensor.Randn(2, 4)));
        Assert.Contains("[?, 3]", e.Message, StringComparison.Ordinal);
    }
}
