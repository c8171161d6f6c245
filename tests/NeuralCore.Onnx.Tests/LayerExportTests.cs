using NeuralCore.Nn;
using static NeuralCore.Onnx.Tests.OnnxTestKit;

namespace NeuralCore.Onnx.Tests;

/// <summary>Every supported layer, exported alone (in a Sequential) and run by ONNX Runtime against NeuralCore.</summary>
public class LayerExportTests
{
    static readonly Dictionary<string, (Func<Module> Make, long[] Shape)> Layers = new()
    {
        ["Linear"] = (() => new Linear(12, 7), [5, 12]),
        ["Linear3d"] = (() => new Linear(12, 7), [5, 3, 12]),
        ["LinearNoBias"] = (() => new Linear(12, 7, bias: false), [5, 12]),
        ["DenseRelu"] = (() => new Dense(12, 9, Activation.Relu), [4, 12]),
        ["DenseSigmoid"] = (() => new Dense(12, 9, Activation.Sigmoid), [4, 12]),
        ["DenseTanh"] = (() => new Dense(12, 9, Activation.Tanh), [4, 12]),
        ["DenseSoftmax"] = (() => new Dense(12, 9, Activation.Softmax), [4, 12]),
        ["DenseGelu"] = (() => new Dense(12, 9, Activation.Gelu), [4, 12]),
        ["DenseSilu"] = (() => new Dense(12, 9, "silu"), [4, 12]),
        ["DenseElu"] = (() => new Dense(12, 9, "elu"), [4, 12]),
        ["DenseSelu"] = (() => new Dense(12, 9, "selu"), [4, 12]),
        ["DenseLeakyRelu"] = (() => new Dense(12, 9, "leaky_relu"), [4, 12]),
        ["DenseSoftplus"] = (() => new Dense(12, 9, "softplus"), [4, 12]),
        ["Conv2d"] = (() => new Conv2d(3, 8, 3), [2, 3, 10, 9]),
        ["Conv2dStridePadDilation"] = (() => new Conv2d(4, 6, (3, 2), stride: (2, 1), padding: (1, 2), dilation: (2, 1)), [2, 4, 11, 10]),
        ["Conv2dGroups"] = (() => new Conv2d(4, 8, 3, padding: 1, groups: 2), [2, 4, 8, 8]),
        ["Conv2dDepthwiseNoBias"] = (() => new Conv2d(4, 4, 3, groups: 4, bias: false), [2, 4, 8, 8]),
        ["MaxPool2d"] = (() => new MaxPool2d(2), [2, 3, 8, 9]),
        ["MaxPool2dStridePadCeil"] = (() => new MaxPool2d(3, stride: 2, padding: 1, ceilMode: true), [2, 3, 10, 9]),
        ["AvgPool2d"] = (() => new AvgPool2d(2), [2, 3, 8, 8]),
        ["AvgPool2dPadExcluded"] = (() => new AvgPool2d(3, stride: 2, padding: 1, countIncludePad: false), [2, 3, 9, 9]),
        ["AvgPool2dPadIncluded"] = (() => new AvgPool2d(3, stride: 1, padding: 1), [2, 3, 7, 7]),
        ["AdaptiveAvgPool2dGlobal"] = (() => new AdaptiveAvgPool2d(1), [2, 3, 7, 5]),
        ["AdaptiveAvgPool2dDivisible"] = (() => new AdaptiveAvgPool2d((2, 3)), [2, 3, 8, 9]),
        ["BatchNorm1d"] = (() => TrainedBatchNorm(new BatchNorm1d(6), [16, 6]), [4, 6]),
        ["BatchNorm2d"] = (() => TrainedBatchNorm(new BatchNorm2d(3), [8, 3, 5, 5]), [2, 3, 5, 5]),
        ["BatchNorm2dNoAffine"] = (() => TrainedBatchNorm(new BatchNorm2d(3, affine: false), [8, 3, 5, 5]), [2, 3, 5, 5]),
        ["LayerNorm"] = (() => RandomAffine(new LayerNorm(10)), [4, 10]),
        ["LayerNorm2dShape"] = (() => RandomAffine(new LayerNorm([3, 5], eps: 1e-3)), [4, 2, 3, 5]),
        ["LayerNormNoAffine"] = (() => new LayerNorm(10, elementwiseAffine: false), [4, 10]),
        ["Dropout"] = (() => new Dropout(0.5), [4, 10]),
        ["Flatten"] = (() => new Flatten(), [2, 3, 4, 5]),
        ["FlattenMiddle"] = (() => new Flatten(1, 2), [2, 3, 4, 5]),
        ["ReLU"] = (() => new ReLU(), [4, 10]),
        ["Sigmoid"] = (() => new Sigmoid(), [4, 10]),
        ["Tanh"] = (() => new Tanh(), [4, 10]),
        ["GELU"] = (() => new GELU(), [4, 10]),
        ["LeakyReLU"] = (() => new LeakyReLU(0.2), [4, 10]),
        ["ELU"] = (() => new ELU(0.7), [4, 10]),
        ["Softplus"] = (() => new Softplus(), [4, 10]),
        ["Softmax"] = (() => new Softmax(1), [4, 10]),
        ["SoftmaxLast3d"] = (() => new Softmax(), [4, 3, 10]),
        ["LogSoftmax"] = (() => new LogSoftmax(1), [4, 10]),
    };

    public static TheoryData<string> LayerNames() => [.. Layers.Keys];

    static Module TrainedBatchNorm(BatchNormBase bn, long[] shape)
    {
        // A few training batches so the running statistics are not the defaults (0 and 1).
        for (int i = 0; i < 3; i++) bn.Forward(Tensor.Randn(shape) * 2 + 0.5);
        if (bn.Weight is { } w) using (Tensor.NoGrad()) { w.Copy_(Tensor.Rand(w.Shape.ToArray()) + 0.5); bn.Bias!.Copy_(Tensor.Randn(bn.Bias.Shape.ToArray())); }
        return bn;
    }

    static Module RandomAffine(LayerNorm ln)
    {
        using (Tensor.NoGrad()) { ln.Weight!.Copy_(Tensor.Randn(ln.Weight.Shape.ToArray())); ln.Bias!.Copy_(Tensor.Randn(ln.Bias.Shape.ToArray())); }
        return ln;
    }

    [Theory]
    [MemberData(nameof(LayerNames))]
    public void Layer_matches_onnx_runtime_at_two_batch_sizes(string name)
    {
        Rng.ManualSeed(17);
        var (make, shape) = Layers[name];
        var model = new Sequential(make());
        var sample = Tensor.Randn(shape);
        var other = shape.ToArray();
        other[0] = 7;
        var exported = ExportAndVerify(model, sample, null, Tensor.Randn(other));
        Assert.Equal("batch", exported.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimParam);
    }

    [Fact]
    public void Dropout_is_omitted_and_batch_norm_is_one_node()
    {
        Rng.ManualSeed(3);
        var model = new Sequential(new Linear(6, 6), new Dropout(0.3), new BatchNorm1d(6), new ReLU());
        var exported = OnnxExporter.Export(model, Tensor.Randn(2, 6));
        Assert.Equal(["Gemm", "BatchNormalization", "Relu"], exported.Graph.Node.Select(n => n.OpType));
        Assert.True(model.IsTraining, "the export restores training mode");
    }

    [Fact]
    public void Batch_norm_folds_into_the_preceding_conv_and_linear()
    {
        Rng.ManualSeed(5);
        var model = new Sequential(
            new Conv2d(2, 4, 3, padding: 1), TrainedBatchNorm(new BatchNorm2d(4), [8, 4, 6, 6]), new ReLU(), new Flatten(),
            new Linear(4 * 6 * 6, 5), TrainedBatchNorm(new BatchNorm1d(5), [8, 5]));
        var sample = Tensor.Randn(3, 2, 6, 6);
        var folded = ExportAndVerify(model, sample, new OnnxExportOptions { FoldBatchNorm = true }, Tensor.Randn(9, 2, 6, 6));
        Assert.DoesNotContain(folded.Graph.Node, n => n.OpType == "BatchNormalization");
        Assert.Equal(["Conv", "Relu", "Flatten", "Gemm"], folded.Graph.Node.Select(n => n.OpType));
        var unfolded = OnnxExporter.Export(model, sample);
        Assert.Equal(2, unfolded.Graph.Node.Count(n => n.OpType == "BatchNormalization"));
    }

    [Fact]
    public void Elementwise_matmul_reshape_transpose_and_concat_trace_from_a_custom_module()
    {
        Rng.ManualSeed(9);
        var model = new Sequential(new Linear(8, 8), new MixingBlock());
        var sample = Tensor.Randn(3, 8);
        var exported = ExportAndVerify(model, sample, null, Tensor.Randn(6, 8), Tensor.Randn(1, 8));
        var ops = exported.Graph.Node.Select(n => n.OpType).ToHashSet();
        foreach (var op in new[] { "MatMul", "Transpose", "Concat", "Reshape", "Sub", "Div", "Exp", "ReduceSum", "ReduceMax", "Sqrt" })
            Assert.Contains(op, ops);
    }

    /// <summary>A custom module exercising the traced ops: elementwise arithmetic, matmul, reshape, permute, cat, softmax, layer norm.</summary>
    sealed class MixingBlock : Module
    {
        readonly Tensor mix;

        public MixingBlock()
        {
            mix = RegisterParameter("mix", Tensor.Randn(4, 4));
            RegisterBuffer("scale", Tensor.Full([1, 4], 0.5));
        }

        public override Tensor Forward(Tensor x)
        {
            var scale = GetBuffer("scale")!;
            var h = x.Reshape(-1, 2, 4);                       // [N, 2, 4]
            var mixed = h.MatMul(mix) * scale + 1.5;           // matmul, buffer, scalar
            var t = mixed.Permute(0, 2, 1).Reshape(-1, 8);     // [N, 8]
            var both = Tensor.Cat([t, x.Sigmoid() - x.Tanh()], 1);
            var attn = both.Softmax(-1);
            var normed = Functional.LayerNorm(both, [16]);
            return (attn + normed.Square() / 2 + 0.1).Sqrt().Exp().Neg() + x.Abs().Sum(1, keepDim: true);
        }
    }
}
