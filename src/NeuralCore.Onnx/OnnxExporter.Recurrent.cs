using NeuralCore.Nn;
using static NeuralCore.Onnx.GraphBuilder;

namespace NeuralCore.Onnx;

public static partial class OnnxExporter
{
    /// <summary>The ONNX operator of a recurrent mode.</summary>
    internal static string RecurrentOp(RecurrentMode mode) => mode switch
    {
        RecurrentMode.Lstm => "LSTM",
        RecurrentMode.Gru => "GRU",
        _ => "RNN",
    };

    /// <summary>
    /// For each ONNX gate block, the PyTorch block it comes from: ONNX orders LSTM gates (i, o, f, c) where PyTorch has
    /// (i, f, g, o), and GRU gates (z, r, h) where PyTorch has (r, z, n).
    /// </summary>
    internal static int[] OnnxGateOrder(RecurrentMode mode) => mode switch
    {
        RecurrentMode.Lstm => [0, 3, 1, 2],
        RecurrentMode.Gru => [1, 0, 2],
        _ => [0],
    };

    internal sealed partial class ExportContext
    {
        /// <summary>
        /// An <see cref="RNNBase"/> as one ONNX LSTM/GRU/RNN node per layer (both directions in one node when
        /// bidirectional). The node's output [T, D, B, H] becomes the next layer's input [T, B, D·H]; batch-first and
        /// unbatched inputs are brought to [T, B, I] and back. Weights are reordered to ONNX's gate order; GRU uses
        /// linear_before_reset = 1, which is PyTorch's formulation. The layer starts from zero states, so the nodes
        /// have no initial-state inputs; inter-layer dropout is inactive in evaluation mode.
        /// </summary>
        Value Recurrent(RNNBase r, string path, Value x, string stem) => Recurrent(r, x, stem, null, null, null, null);

        /// <summary>
        /// The nodes of <paramref name="r"/>; with <paramref name="h0"/> (and <paramref name="c0"/> for LSTM) naming
        /// [layers·directions, (B,) H] initial states, each layer's node reads its slice of them, and the final states
        /// [layers·directions, (B,) H] of every node are concatenated into <paramref name="finalStates"/> (H, then C).
        /// </summary>
        Value Recurrent(RNNBase r, Value x, string stem, string? h0, string? c0, Tensor? y0, List<string>? finalStates)
        {
            var y = y0 ?? Run(r, x.Sample);
            string op = RecurrentOp(r.Mode);
            int[] order = OnnxGateOrder(r.Mode);
            int h = r.HiddenSize, dirs = r.Directions;
            bool unbatched = x.Sample.Dim == 2;
            string seq = x.Name;
            if (unbatched) seq = Builder.Node("Unsqueeze", stem + ".batched", [seq, Builder.Int64(stem + ".axes", 1)]);
            else if (r.BatchFirst) seq = Builder.Node("Transpose", stem + ".time_first", [seq], Ints("perm", 1, 0, 2));
            string? State(string? s, string name) => s is null || !unbatched ? s : Builder.Node("Unsqueeze", $"{stem}.{name}_batched", [s, Builder.Int64(stem + ".axes", 1)]);
            (h0, c0) = (State(h0, "h0"), State(c0, "c0"));
            var finalH = new List<string>();
            var finalC = new List<string>();

            for (int layer = 0; layer < r.NumLayers; layer++)
            {
                string layerStem = r.NumLayers == 1 ? stem : $"{stem}.l{layer}";
                var w = new Tensor[dirs];
                var rw = new Tensor[dirs];
                var b = new Tensor[dirs];
                using (Tensor.NoGrad())
                {
                    for (int d = 0; d < dirs; d++)
                    {
                        string suffix = $"_l{layer}{(d == 1 ? "_reverse" : "")}";
                        w[d] = Reorder(r.Parameter("weight_ih" + suffix)!, order, h);
                        rw[d] = Reorder(r.Parameter("weight_hh" + suffix)!, order, h);
                        if (r.HasBias)
                            b[d] = Tensor.Cat([Reorder(r.Parameter("bias_ih" + suffix)!, order, h), Reorder(r.Parameter("bias_hh" + suffix)!, order, h)], 0);
                    }
                }
                var inputs = new List<string>
                {
                    seq,
                    Builder.Constant(Tensor.Stack(w, 0).Contiguous(), layerStem + ".W"),
                    Builder.Constant(Tensor.Stack(rw, 0).Contiguous(), layerStem + ".R"),
                };
                if (r.HasBias) inputs.Add(Builder.Constant(Tensor.Stack(b, 0).Contiguous(), layerStem + ".B"));
                if (h0 is not null)
                {
                    string Rows(string states, string name) => Builder.Node("Slice", $"{layerStem}.{name}", [states, Builder.Int64(stem + ".layer_start", (long)layer * dirs),
                        Builder.Int64(stem + ".layer_end", (long)(layer + 1) * dirs), Builder.Int64(stem + ".axis0", 0)]);
                    if (!r.HasBias) inputs.Add("");
                    inputs.AddRange(["", Rows(h0, "initial_h")]);
                    if (c0 is not null) inputs.Add(Rows(c0, "initial_c"));
                }
                var attributes = new List<Protos.AttributeProto> { Int("hidden_size", h), Str("direction", dirs == 2 ? "bidirectional" : "forward") };
                if (r.Mode == RecurrentMode.Gru) attributes.Add(Int("linear_before_reset", 1));
                if (r.Mode is RecurrentMode.RnnTanh or RecurrentMode.RnnRelu)
                    attributes.Add(Strs("activations", [.. Enumerable.Repeat(r.Mode == RecurrentMode.RnnRelu ? "Relu" : "Tanh", dirs)]));
                string all = Builder.Fresh(layerStem + ".Y");
                var outputs = new List<string> { all };
                if (finalStates is not null)
                {
                    finalH.Add(Builder.Fresh(layerStem + ".Y_h"));
                    outputs.Add(finalH[^1]);
                    if (r.Mode == RecurrentMode.Lstm)
                    {
                        finalC.Add(Builder.Fresh(layerStem + ".Y_c"));
                        outputs.Add(finalC[^1]);
                    }
                }
                Builder.AddNode(op, [.. inputs], [.. outputs], [.. attributes]);
                // [T, D, B, H] → [T, B, D·H]
                seq = dirs == 1
                    ? Builder.Node("Squeeze", layerStem + ".out", [all, Builder.Int64(stem + ".axes", 1)])
                    : Builder.Node("Reshape", layerStem + ".out",
                        [Builder.Node("Transpose", layerStem + ".directions_last", [all], Ints("perm", 0, 2, 1, 3)), Builder.Int64(stem + ".concat_directions", 0, 0, -1)]);
            }

            if (unbatched) seq = Builder.Node("Squeeze", stem, [seq, Builder.Int64(stem + ".axes", 1)]);
            else if (r.BatchFirst) seq = Builder.Node("Transpose", stem, [seq], Ints("perm", 1, 0, 2));
            foreach (var (states, name) in new[] { (finalH, "hn"), (finalC, "cn") })
            {
                if (finalStates is null || states.Count == 0) continue;
                string all = states.Count == 1 ? states[0] : Builder.Node("Concat", $"{stem}.{name}_layers", [.. states], Int("axis", 0));
                finalStates.Add(unbatched ? Builder.Node("Squeeze", $"{stem}.{name}", [all, Builder.Int64(stem + ".axes", 1)]) : all);
            }
            return new(seq, y);
        }

        /// <summary>The gate blocks (of <paramref name="h"/> rows each) of a PyTorch weight or bias in ONNX order.</summary>
        static Tensor Reorder(Tensor t, int[] order, int h) => Tensor.Cat(order.Select(g => t.Narrow(0, (long)g * h, h)).ToArray(), 0);
    }
}
