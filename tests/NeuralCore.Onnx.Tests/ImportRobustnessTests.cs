using Google.Protobuf;

namespace NeuralCore.Onnx.Tests;

/// <summary>Corrupted ONNX bytes: the importer either loads the model or throws its documented exception.</summary>
public class ImportRobustnessTests
{
    public static TheoryData<string> Fixtures() => ["torch_cnn_bn", "torch_mlp_layernorm"];

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Corrupted_models_load_or_fail_with_a_format_or_argument_exception(string name)
    {
        var original = File.ReadAllBytes(OnnxTestKit.TestData(name + ".onnx"));
        var random = new System.Random(1234);
        var input = Tensor.Rand(2, 1, 28, 28);
        int loaded = 0, rejected = 0;
        for (int trial = 0; trial < 300; trial++)
        {
            var bytes = (byte[])original.Clone();
            int flips = 1 + random.Next(4);
            for (int k = 0; k < flips; k++) bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            if (trial % 10 == 0) bytes = bytes[..random.Next(bytes.Length)];
            OnnxModel model;
            try
            {
                model = OnnxModel.FromBytes(bytes);
            }
            catch (OnnxFormatException)
            {
                rejected++;
                continue;
            }
            loaded++;
            try
            {
                using (Tensor.NoGrad()) model.Forward(input);
            }
            catch (ArgumentException)
            {
                // A loaded graph whose shapes no longer fit its input is refused with the op and shapes named.
            }
        }
        Assert.True(loaded + rejected == 300);
        Assert.True(rejected > 0, "some corruptions must be detected");
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Mutated_graphs_load_or_fail_with_a_format_or_argument_exception(string name)
    {
        var original = Protos.ModelProto.Parser.ParseFrom(File.ReadAllBytes(OnnxTestKit.TestData(name + ".onnx")));
        var ops = OnnxModel.SupportedOps.ToArray();
        var random = new System.Random(99);
        var input = Tensor.Rand(2, 1, 28, 28);
        for (int trial = 0; trial < 300; trial++)
        {
            var model = original.Clone();
            var node = model.Graph.Node[random.Next(model.Graph.Node.Count)];
            switch (random.Next(5))
            {
                case 0: node.OpType = ops[random.Next(ops.Length)]; break;
                case 1: if (node.Input.Count > 0) node.Input.RemoveAt(random.Next(node.Input.Count)); break;
                case 2:
                    foreach (var a in node.Attribute)
                    {
                        for (int i = 0; i < a.Ints.Count; i++) a.Ints[i] = random.Next(-3, 40);
                        if (a.Type == Protos.AttributeProto.Types.AttributeType.Int) a.I = random.Next(-3, 5);
                    }
                    break;
                case 3: if (node.Input.Count > 1) (node.Input[0], node.Input[1]) = (node.Input[1], node.Input[0]); break;
                default: model.Graph.Initializer[random.Next(model.Graph.Initializer.Count)].Dims.Add(random.Next(0, 3)); break;
            }
            OnnxModel loaded;
            try { loaded = new OnnxModel(model); }
            catch (OnnxFormatException) { continue; }
            try { using (Tensor.NoGrad()) loaded.Forward(input); }
            catch (ArgumentException) { }
        }
    }
}
