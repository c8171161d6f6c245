using System.Text.Json;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;
using NeuralCore.Nn;
using NeuralCore.Onnx.Protos;
using static NeuralCore.Onnx.Tests.OnnxTestKit;

namespace NeuralCore.Onnx.Tests;

/// <summary>
/// Sequence layers, transformers and GptModel exported with dynamic batch and sequence axes: ONNX Runtime against
/// NeuralCore at two batch sizes and two sequence lengths, then imported back and run again.
/// </summary>
public class TransformerExportTests(ITestOutputHelper output)
{
    const int Vocab = 29, Dim = 16;

    /// <summary>A layer, whether it takes token ids, and whether its inputs are sequence first ([L, B, E]).</summary>
    static readonly Dictionary<string, (Func<Module> Make, bool Tokens, bool SeqFirst)> Layers = new()
    {
        ["Embedding"] = (() => new Embedding(Vocab, Dim), true, false),
        ["EmbeddingPaddingIdx"] = (() => new Embedding(Vocab, Dim, paddingIdx: 0), true, false),
        ["EmbeddingMaxNorm"] = (() => new Embedding(Vocab, Dim, maxNorm: 2.5), true, false),
        ["EmbeddingThenSinusoidal"] = (() => new Sequential(new Embedding(Vocab, Dim), new SinusoidalPositionalEncoding(Dim, 64)), true, false),
        ["LearnedPositionalEmbedding"] = (() => new LearnedPositionalEmbedding(32, Dim), false, false),
        ["SinusoidalPositionalEncoding"] = (() => new SinusoidalPositionalEncoding(Dim, 32), false, false),
        ["RotaryEmbedding"] = (() => new RotaryEmbedding(Dim), false, false),
        ["LayerNorm"] = (() => new LayerNorm(Dim), false, false),
        ["RMSNorm"] = (() => new RMSNorm(Dim), false, false),
        ["RMSNormNoWeightEps"] = (() => new RMSNorm(Dim, eps: 1e-5, elementwiseAffine: false), false, false),
        ["GELU"] = (() => new GELU(), false, false),
        ["GELUTanh"] = (() => new GELU("tanh"), false, false),
        ["SiLU"] = (() => new SiLU(), false, false),
        ["MultiheadAttentionBatchFirst"] = (() => new MultiheadAttention(Dim, 4, batchFirst: true), false, false),
        ["MultiheadAttentionSeqFirstNoBias"] = (() => new MultiheadAttention(Dim, 2, bias: false), false, true),
        ["MultiheadAttentionRotary"] = (() => new MultiheadAttention(Dim, 2, batchFirst: true, rotary: true), false, false),
        ["EncoderLayerPostNormRelu"] = (() => new TransformerEncoderLayer(Dim, 4, 24, batchFirst: true), false, false),
        ["EncoderLayerPreNormGeluSeqFirst"] = (() => new TransformerEncoderLayer(Dim, 2, 24, activation: "gelu", normFirst: true), false, true),
        ["EncoderStackWithNorm"] = (() => new TransformerEncoder(new TransformerEncoderLayer(Dim, 4, 24, batchFirst: true), 2, new LayerNorm(Dim)), false, false),
        ["EncoderInSequential"] = (() => new Sequential(new Linear(Dim, Dim), new TransformerEncoderLayer(Dim, 2, 24, batchFirst: true), new Linear(Dim, 3)), false, false),
        ["GptLearned"] = (() => new GptModel(Vocab, 16, dModel: Dim, nhead: 2, numLayers: 2), true, false),
        ["GptSinusoidalUntied"] = (() => new GptModel(Vocab, 16, dModel: Dim, nhead: 4, numLayers: 1, positions: PositionEncoding.Sinusoidal, tieWeights: false), true, false),
        ["GptRotary"] = (() => new GptModel(Vocab, 16, dModel: Dim, nhead: 2, numLayers: 2, positions: PositionEncoding.Rotary), true, false),
    };

    public static TheoryData<string> LayerNames() => [.. Layers.Keys];

    static readonly (long Batch, long Length)[] Sizes = [(2, 5), (3, 5), (2, 9), (3, 9)];

    static Tensor Input(bool tokens, bool seqFirst, long batch, long length) =>
        tokens ? Tensor.RandInt(0, Vocab, [batch, length])
        : seqFirst ? Tensor.Randn(length, batch, Dim) : Tensor.Randn(batch, length, Dim);

    [Theory]
    [MemberData(nameof(LayerNames))]
    public void Layer_matches_onnx_runtime_at_two_batches_and_lengths_and_imports_back(string name)
    {
        Rng.ManualSeed(41);
        var (make, tokens, seqFirst) = Layers[name];
        var module = make();
        var model = OnnxExporter.ExportSequence(module, Input(tokens, seqFirst, 2, 5));
        OnnxChecker.Check(model);
        Dump(model);
        var bytes = model.ToByteArray();
        var imported = OnnxModel.FromBytes(bytes);
        module.Eval();
        double worst = 0, worstImported = 0;
        foreach (var (batch, length) in Sizes)
        {
            var x = Input(tokens, seqFirst, batch, length);
            Tensor expected;
            using (Tensor.NoGrad()) expected = module.Forward(x);
            var (ort, shape) = RunOrtInputs(bytes, ("input", x));
            Assert.Equal(expected.Shape.ToArray(), shape);
            worst = Math.Max(worst, AssertClose(ort, expected.Contiguous().ToArray<float>(), $"{name} on {x.Shape}"));
            Tensor ours;
            using (Tensor.NoGrad()) ours = imported.Run(x)[0];
            worstImported = Math.Max(worstImported, AssertClose(ort, ours.Contiguous().ToArray<float>(), $"imported {name} on {x.Shape}"));
        }
        output.WriteLine($"{name}: largest |ORT - NeuralCore| {worst:E3}, |ORT - imported| {worstImported:E3}");
    }

    [Fact]
    public void Small_gpt_logits_match_onnx_runtime_and_the_import_trains()
    {
        Rng.ManualSeed(7);
        var gpt = new GptModel(Vocab, 24, dModel: 32, nhead: 4, numLayers: 2);
        var model = OnnxExporter.ExportSequence(gpt, Tensor.RandInt(0, Vocab, [2, 6]));
        OnnxChecker.Check(model);
        Dump(model);
        Assert.Equal(["batch", "sequence"], model.Graph.Input[0].Type.TensorType.Shape.Dim.Select(d => d.DimParam));
        Assert.Equal(["batch", "sequence", ""], model.Graph.Output[0].Type.TensorType.Shape.Dim.Select(d => d.DimParam));
        var bytes = model.ToByteArray();
        var imported = OnnxModel.FromBytes(bytes);
        gpt.Eval();
        double worst = 0;
        foreach (var (batch, length) in new (long, long)[] { (1, 24), (4, 3), (3, 11) })
        {
            var tokens = Tensor.RandInt(0, Vocab, [batch, length]);
            Tensor expected, ours;
            using (Tensor.NoGrad())
            {
                expected = gpt.Forward(tokens);
                ours = imported.Forward(tokens);
            }
            var (ort, shape) = RunOrtInputs(bytes, ("input", tokens));
            Assert.Equal([batch, length, Vocab], shape);
            worst = Math.Max(worst, AssertClose(ort, expected.ToArray<float>(), $"GPT logits on {tokens.Shape}"));
            AssertClose(ort, ours.ToArray<float>(), $"imported GPT logits on {tokens.Shape}");
        }
        output.WriteLine($"GPT (2 layers, d = 32) logits: largest |ORT - NeuralCore| {worst:E3}");

        // The imported model is trainable, embedding and position tables included: one SGD step lowers the next-token loss.
        Assert.Contains(imported.InitializerNames, i => i.OnnxName == "wte.weight" && i.Trainable);
        Assert.Contains(imported.InitializerNames, i => i.OnnxName == "wpe.weight" && i.Trainable);
        var seq = Tensor.RandInt(0, Vocab, [4, 9]);
        var (inputs, targets) = (seq.Narrow(1, 0, 8).Contiguous(), seq.Narrow(1, 1, 8).Contiguous());
        imported.Train();
        Tensor Loss() => Functional.CrossEntropy(imported.Forward(inputs).Reshape(-1, Vocab), targets.Reshape(-1));
        var before = Loss();
        before.Backward();
        using (Tensor.NoGrad())
            foreach (var p in imported.Parameters()) if (p.Grad is { } g) p.Sub_(g * 0.5);
        Tensor after;
        using (Tensor.NoGrad()) after = Loss();
        Assert.True(after.Item<float>() < before.Item<float>(), $"loss {before.Item<float>()} → {after.Item<float>()}");
    }

    public static TheoryData<string> MaskedCases() => ["MhaPaddingCausal", "EncoderLayerPadding", "EncoderStackCausalPaddingSeqFirst", "DecoderLayerMemory", "DecoderStackPreNormSeqFirst"];

    /// <summary>Padding masks (with a fully padded sequence, whose rows see no key), causal attention and decoder memory as graph inputs.</summary>
    [Theory]
    [MemberData(nameof(MaskedCases))]
    public void Masks_and_memory_are_graph_inputs_matching_onnx_runtime(string name)
    {
        Rng.ManualSeed(5);
        bool seqFirst = name.EndsWith("SeqFirst", StringComparison.Ordinal);
        Module module = name switch
        {
            "MhaPaddingCausal" => new MultiheadAttention(Dim, 4, batchFirst: true),
            "EncoderLayerPadding" => new TransformerEncoderLayer(Dim, 2, 24, batchFirst: true),
            "EncoderStackCausalPaddingSeqFirst" => new TransformerEncoder(new TransformerEncoderLayer(Dim, 2, 24, activation: "gelu"), 2),
            "DecoderLayerMemory" => new TransformerDecoderLayer(Dim, 2, 24, batchFirst: true),
            _ => new TransformerDecoder(new TransformerDecoderLayer(Dim, 4, 24, normFirst: true), 2, new LayerNorm(Dim)),
        };
        bool decoder = name.StartsWith("Decoder", StringComparison.Ordinal);
        bool causal = name.Contains("Causal", StringComparison.Ordinal) || decoder;
        OnnxSequenceInputs Make(long batch, long length, long memoryLength, bool fullyPadded)
        {
            var lengths = Enumerable.Range(0, (int)batch).Select(i => (long)Math.Max(1, length - 2 * i)).ToArray();
            if (fullyPadded) lengths[^1] = 0;
            var padding = Tensor.FromArray(lengths, batch).Reshape(batch, 1).Le(Tensor.Arange(0, length, 1, DType.Int64).Reshape(1, length));
            Tensor? memory = decoder ? (seqFirst ? Tensor.Randn(memoryLength, batch, Dim) : Tensor.Randn(batch, memoryLength, Dim)) : null;
            var memoryPadding = decoder
                ? Tensor.FromArray(Enumerable.Range(0, (int)batch).Select(i => (long)Math.Max(1, memoryLength - i)).ToArray(), batch).Reshape(batch, 1)
                    .Le(Tensor.Arange(0, memoryLength, 1, DType.Int64).Reshape(1, memoryLength))
                : null;
            return new OnnxSequenceInputs { KeyPaddingMask = padding, Memory = memory, MemoryKeyPaddingMask = memoryPadding, IsCausal = causal };
        }
        var sampleInputs = Make(2, 5, 4, false);
        var model = OnnxExporter.ExportSequence(module, Input(false, seqFirst, 2, 5), sampleInputs);
        OnnxChecker.Check(model);
        Dump(model);
        var bytes = model.ToByteArray();
        var imported = OnnxModel.FromBytes(bytes);
        Assert.Equal(decoder ? 4 : 2, imported.Inputs.Count);
        module.Eval();
        double worst = 0;
        foreach (var (batch, length) in Sizes)
        {
            var x = Input(false, seqFirst, batch, length);
            var extra = Make(batch, length, length + 1, fullyPadded: true);
            Tensor expected;
            using (Tensor.NoGrad())
                expected = module switch
                {
                    MultiheadAttention a => a.Forward(x, x, x, extra.KeyPaddingMask, null, causal),
                    TransformerEncoderLayer l => l.Forward(x, null, extra.KeyPaddingMask, causal),
                    TransformerEncoder e => e.Forward(x, null, extra.KeyPaddingMask, causal),
                    TransformerDecoderLayer d => d.Forward(x, extra.Memory!, null, null, extra.KeyPaddingMask, extra.MemoryKeyPaddingMask, causal),
                    _ => ((TransformerDecoder)module).Forward(x, extra.Memory!, null, null, extra.KeyPaddingMask, extra.MemoryKeyPaddingMask, causal),
                };
            Assert.False(expected.Ne(expected).Any().Item<bool>());
            var feeds = new List<(string, Tensor)> { ("input", x), (OnnxExporter.KeyPaddingMaskName, extra.KeyPaddingMask!) };
            if (decoder) feeds.AddRange([(OnnxExporter.MemoryName, extra.Memory!), (OnnxExporter.MemoryKeyPaddingMaskName, extra.MemoryKeyPaddingMask!)]);
            var (ort, shape) = RunOrtInputs(bytes, [.. feeds]);
            Assert.Equal(expected.Shape.ToArray(), shape);
            worst = Math.Max(worst, AssertClose(ort, expected.Contiguous().ToArray<float>(), $"{name} on {x.Shape}"));
            Tensor ours;
            using (Tensor.NoGrad()) ours = imported.Run([.. feeds.Select(f => f.Item2)])[0];
            worst = Math.Max(worst, AssertClose(ort, ours.Contiguous().ToArray<float>(), $"imported {name} on {x.Shape}"));
        }
        output.WriteLine($"{name}: largest |ORT - NeuralCore or imported| {worst:E3}");
    }

    [Fact]
    public void PyTorch_transformer_encoder_layer_imports_and_matches_pytorch_and_onnx_runtime()
    {
        const string name = "torch_transformer_encoder_layer";
        var bytes = File.ReadAllBytes(TestData(name + ".onnx"));
        var model = OnnxModel.FromBytes(bytes);
        using var meta = JsonDocument.Parse(File.ReadAllText(TestData(name + ".json")));
        long[] Shape(string key) => meta.RootElement.GetProperty(key).EnumerateArray().Select(e => e.GetInt64()).ToArray();
        var input = ReadFloats(TestData(name + ".input.bin"), Shape("input_shape"));
        var expected = ReadFloats(TestData(name + ".output.bin"), Shape("output_shape"));
        Tensor ours;
        using (Tensor.NoGrad()) ours = model.Forward(input);
        Assert.Equal(expected.Shape, ours.Shape);
        output.WriteLine($"{name}: largest |PyTorch - NeuralCore| {AssertClose(expected.ToArray<float>(), ours.ToArray<float>(), $"{name} vs PyTorch"):E3}");
        Rng.ManualSeed(3);
        foreach (var x in new[] { input, Tensor.Randn(1, 7, 16), Tensor.Randn(4, 2, 16) })
        {
            using (Tensor.NoGrad()) ours = model.Forward(x);
            var (ort, shape) = RunOrtInputs(bytes, ("input", x));
            Assert.Equal(shape, ours.Shape.ToArray());
            AssertClose(ort, ours.ToArray<float>(), $"{name} on {x.Shape} vs ONNX Runtime");
        }
        Assert.Contains(model.InitializerNames, i => i.OnnxName == "self_attn.out_proj.weight" && i.Trainable);
        Assert.All(model.Parameters(), p => Assert.True(p.RequiresGrad));
    }

    [Fact]
    public void Unsupported_uses_are_reported_clearly()
    {
        Rng.ManualSeed(1);
        var decoderInside = new Sequential(new TransformerDecoderLayer(Dim, 2, 24, batchFirst: true));
        var e = Assert.Throws<OnnxUnsupportedException>(() => OnnxExporter.ExportSequence(decoderInside, Tensor.Randn(2, 5, Dim)));
        Assert.Contains("TransformerDecoderLayer", e.Message);
        Assert.Contains("Memory", e.Message);

        var embedding = new Sequential(new Embedding(Vocab, Dim));
        var floatIds = Assert.Throws<OnnxUnsupportedException>(() => OnnxExporter.Export(embedding, Tensor.Randn(2, 5)));
        Assert.Contains("Int64", floatIds.Message);

        var masks = new OnnxSequenceInputs { KeyPaddingMask = Tensor.Zeros([2, 5], DType.Bool) };
        var notTaken = Assert.Throws<ArgumentException>(() => OnnxExporter.ExportSequence(new Sequential(new LayerNorm(Dim)), Tensor.Randn(2, 5, Dim), masks));
        Assert.Contains("Sequential takes none", notTaken.Message);

        var wrongMask = new OnnxSequenceInputs { KeyPaddingMask = Tensor.Zeros(2, 5) };
        var dtype = Assert.Throws<ArgumentException>(() => OnnxExporter.ExportSequence(new MultiheadAttention(Dim, 2, batchFirst: true), Tensor.Randn(2, 5, Dim), wrongMask));
        Assert.Contains("KeyPaddingMask must be Bool [2, 5]", dtype.Message);

        var noMemory = Assert.Throws<ArgumentException>(() => OnnxExporter.ExportSequence(new TransformerDecoderLayer(Dim, 2, 24), Tensor.Randn(5, 2, Dim)));
        Assert.Contains("needs OnnxSequenceInputs.Memory", noMemory.Message);

        var gpt = new GptModel(Vocab, 8, dModel: Dim, nhead: 2, numLayers: 1);
        var gptMask = Assert.Throws<ArgumentException>(() => OnnxExporter.ExportSequence(gpt, Tensor.RandInt(0, Vocab, [1, 4]), masks with { KeyPaddingMask = Tensor.Zeros([1, 4], DType.Bool) }));
        Assert.Contains("GptModel takes no padding mask", gptMask.Message);

        // The imported multi-input graph names what Forward cannot do.
        var mha = new MultiheadAttention(Dim, 2, batchFirst: true);
        var two = OnnxModel.FromBytes(OnnxExporter.ExportSequence(mha, Tensor.Randn(2, 5, Dim), masks).ToByteArray());
        var forward = Assert.Throws<ArgumentException>(() => two.Forward(Tensor.Randn(2, 5, Dim)));
        Assert.Contains("call Run", forward.Message);
        var mismatch = Assert.Throws<ArgumentException>(() => two.Run(Tensor.Randn(2, 5, Dim), Tensor.Zeros([2, 6], DType.Bool)));
        Assert.Contains("\"sequence\" is 5", mismatch.Message);
        var reexport = Assert.Throws<OnnxUnsupportedException>(() => OnnxExporter.Export(two, Tensor.Randn(2, 5, Dim)));
        Assert.Contains("2 inputs and 1 outputs", reexport.Message);
        var tokensToExport = Assert.Throws<ArgumentException>(() => OnnxExporter.Export(gpt, Tensor.RandInt(0, Vocab, [1, 4])));
        Assert.Contains("ExportSequence", tokensToExport.Message);
    }

    public static TheoryData<string> RecurrentCases() => ["LSTMTwoLayersBidirectionalBatchFirst", "LSTMHiddenOnly", "GRUSeqFirst", "RNNUnbatched"];

    /// <summary>Initial states as graph inputs and final states as graph outputs of LSTM, GRU and RNN.</summary>
    [Theory]
    [MemberData(nameof(RecurrentCases))]
    public void Recurrent_states_are_extra_inputs_and_outputs_matching_onnx_runtime(string name)
    {
        Rng.ManualSeed(9);
        RNNBase r = name switch
        {
            "LSTMTwoLayersBidirectionalBatchFirst" => new LSTM(5, 6, numLayers: 2, batchFirst: true, bidirectional: true),
            "LSTMHiddenOnly" => new LSTM(5, 4),
            "GRUSeqFirst" => new GRU(5, 7, numLayers: 2),
            _ => new RNN(5, 6, nonlinearity: "relu"),
        };
        bool lstm = r is LSTM, unbatched = name.EndsWith("Unbatched", StringComparison.Ordinal), withCell = lstm && name != "LSTMHiddenOnly";
        long states = r.NumLayers * r.Directions;
        Tensor X(long batch, long steps) => unbatched ? Tensor.Randn(steps, 5) : r.BatchFirst ? Tensor.Randn(batch, steps, 5) : Tensor.Randn(steps, batch, 5);
        Tensor State(long batch) => unbatched ? Tensor.Randn(states, r.HiddenSize) : Tensor.Randn(states, batch, r.HiddenSize);
        var sample = new OnnxSequenceInputs { InitialHidden = State(2), InitialCell = withCell ? State(2) : null };
        var model = OnnxExporter.ExportSequence(r, X(2, 4), sample);
        OnnxChecker.Check(model);
        Dump(model);
        Assert.Equal(lstm ? ["output", "hn", "cn"] : ["output", "hn"], model.Graph.Output.Select(o => o.Name));
        var bytes = model.ToByteArray();
        var imported = OnnxModel.FromBytes(bytes);
        double worst = 0;
        foreach (var (batch, steps) in Sizes)
        {
            var (x, h0, c0) = (X(batch, steps), State(batch), withCell ? State(batch) : null);
            Tensor[] expected;
            using (Tensor.NoGrad())
                expected = r switch
                {
                    LSTM l => l.Forward(x, (h0, c0 ?? Tensor.ZerosLike(h0))) is var (y, (h, c)) ? [y, h, c] : [],
                    GRU g => g.Forward(x, h0) is var (y, h) ? [y, h] : [],
                    _ => ((RNN)r).Forward(x, h0) is var (y, h) ? [y, h] : [],
                };
            var feeds = new List<(string, Tensor)> { ("input", x), (OnnxExporter.InitialHiddenName, h0) };
            if (c0 is not null) feeds.Add((OnnxExporter.InitialCellName, c0));
            var ort = RunOrtAll(bytes, [.. feeds]);
            Tensor[] ours;
            using (Tensor.NoGrad()) ours = imported.Run([.. feeds.Select(f => f.Item2)]);
            Assert.Equal(expected.Length, ort.Count);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.Equal(expected[i].Shape.ToArray(), ort[i].Shape);
                worst = Math.Max(worst, AssertClose(ort[i].Values, expected[i].Contiguous().ToArray<float>(), $"{name} output {i} on {x.Shape}"));
                worst = Math.Max(worst, AssertClose(ort[i].Values, ours[i].Contiguous().ToArray<float>(), $"imported {name} output {i} on {x.Shape}"));
            }
        }
        output.WriteLine($"{name}: largest |ORT - NeuralCore or imported| {worst:E3}");
    }

    /// <summary>Runs a model in ONNX Runtime on named Float32, Int64 or Bool inputs; returns the first output.</summary>
    static (float[] Values, long[] Shape) RunOrtInputs(byte[] model, params (string Name, Tensor Value)[] inputs) => RunOrtAll(model, inputs)[0];

    /// <summary>Runs a model in ONNX Runtime on named Float32, Int64 or Bool inputs; returns every output.</summary>
    static List<(float[] Values, long[] Shape)> RunOrtAll(byte[] model, params (string Name, Tensor Value)[] inputs)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        var values = new List<OrtValue>();
        try
        {
            foreach (var (_, t) in inputs)
            {
                var c = t.Contiguous();
                long[] shape = c.Shape.ToArray();
                values.Add(c.DType switch
                {
                    DType.Int64 => OrtValue.CreateTensorValueFromMemory(c.ToArray<long>(), shape),
                    DType.Bool => OrtValue.CreateTensorValueFromMemory(c.ToArray<bool>(), shape),
                    _ => OrtValue.CreateTensorValueFromMemory(c.ToArray<float>(), shape),
                });
            }
            using var run = new RunOptions();
            using var results = session.Run(run, inputs.Select(i => i.Name).ToArray(), values, session.OutputNames);
            return [.. results.Select(r => (r.GetTensorDataAsSpan<float>().ToArray(), r.GetTensorTypeAndShape().Shape))];
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }
}
