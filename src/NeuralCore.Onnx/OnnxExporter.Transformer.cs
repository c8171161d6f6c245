using NeuralCore.Nn;
using NeuralCore.Onnx.Protos;
using static NeuralCore.Onnx.GraphBuilder;

namespace NeuralCore.Onnx;

public static partial class OnnxExporter
{
    /// <summary>Graph input name of the key padding mask (Bool [batch, sequence], true at padded positions).</summary>
    public const string KeyPaddingMaskName = "key_padding_mask";

    /// <summary>Graph input name of a decoder's encoder output.</summary>
    public const string MemoryName = "memory";

    /// <summary>Graph input name of the memory's padding mask (Bool [batch, memory_sequence]).</summary>
    public const string MemoryKeyPaddingMaskName = "memory_key_padding_mask";

    /// <summary>Graph input name of a recurrent layer's initial hidden state.</summary>
    public const string InitialHiddenName = "h0";

    /// <summary>Graph input name of an LSTM's initial cell state.</summary>
    public const string InitialCellName = "c0";

    /// <summary>Graph output name of a recurrent layer's final hidden state (when the initial one is an input).</summary>
    public const string FinalHiddenName = "hn";

    /// <summary>Graph output name of an LSTM's final cell state (when the initial hidden state is an input).</summary>
    public const string FinalCellName = "cn";

    /// <summary>
    /// Exports a sequence model with dynamic batch and sequence axes: token ids (Int64 [batch, sequence]) or
    /// embeddings (Float32, batch first, or sequence first for layers built with <c>batchFirst: false</c>) as the
    /// input, plus the optional padding masks and decoder memory of <paramref name="inputs"/> as further graph inputs.
    /// </summary>
    /// <remarks>
    /// Embedding, the positional encodings, RoPE, RMSNorm, GELU (exact and tanh), SiLU, MultiheadAttention, the
    /// transformer layers and stacks and <see cref="GptModel"/> (all positions' logits, no key/value cache) are
    /// written as ONNX nodes whose shapes follow the inputs: head splits reshape with copied dimensions, the causal
    /// mask is built from the run-time length (Shape, Range, Greater, Where) and position tables are sliced to it.
    /// Masks and memory reach the top-level module only; inside a <see cref="Sequential"/> the layers run unmasked.
    /// A top-level LSTM, GRU or RNN given <see cref="OnnxSequenceInputs.InitialHidden"/> takes its initial states as
    /// inputs and returns its final states as further outputs.
    /// A padded query that sees no key gives 0, as in NeuralCore. Other modules export as by <see cref="Export"/>.
    /// </remarks>
    /// <param name="module">The model.</param>
    /// <param name="input">Sample input: Int64 token ids or Float32 values with batch and sequence dimensions.</param>
    /// <param name="inputs">Masks, memory, causality; none when null.</param>
    /// <param name="options">Names and metadata; <see cref="OnnxExportOptions.DynamicBatch"/> false fixes every dimension.</param>
    /// <exception cref="OnnxUnsupportedException">Some layers or ops have no ONNX mapping (all are listed).</exception>
    /// <exception cref="ArgumentException">
    /// The input or a mask has the wrong dtype or shape, a mask or memory is given to a module that takes none, a
    /// decoder has no memory, or graph names collide.
    /// </exception>
    public static ModelProto ExportSequence(Module module, Tensor input, OnnxSequenceInputs? inputs = null, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(input);
        inputs ??= new OnnxSequenceInputs();
        options ??= new OnnxExportOptions();
        const string op = "ONNX sequence export";
        if (input.DType is not (DType.Float32 or DType.Int64) || input.Dim < 2 || input.NumElements == 0)
            throw new ArgumentException($"{op}: the input must be Int64 token ids [batch, sequence] or Float32 values with at least 2 non-empty dimensions, got {input.DType} {input.Shape}.");
        if (inputs.MaxSequenceLength < 1) throw new ArgumentException($"{op}: MaxSequenceLength must be positive, got {inputs.MaxSequenceLength}.");
        if (module.Parameters().Concat(module.NamedBuffers().Select(b => b.Buffer)).FirstOrDefault(t => !t.Device.Equals(Device.Cpu)) is { } elsewhere)
            throw new ArgumentException($"{op}: the export traces on the CPU, but the module holds tensors on {elsewhere.Device}; call module.To(Device.Cpu) first.");
        input = input.To(Device.Cpu);

        bool batchFirst = input.DType == DType.Int64 || module.NamedModules().Select(m => m.Module).FirstOrDefault(m => m is MultiheadAttention or RNNBase) switch
        {
            MultiheadAttention a => a.BatchFirst,
            RNNBase r => r.BatchFirst,
            _ => true,
        };
        // An unbatched recurrent input [T, I] has no batch axis.
        bool unbatched = module is RNNBase && input.Dim == 2;
        int batchAxis = unbatched ? -1 : batchFirst ? 0 : 1, seqAxis = batchFirst && !unbatched ? 1 : 0;
        long batch = unbatched ? 1 : input.Shape[batchAxis];
        CheckMask(inputs.KeyPaddingMask, batch, input.Shape[seqAxis], "KeyPaddingMask");
        if (inputs.Memory is { } mem && (mem.DType != DType.Float32 || mem.Dim != 3 || mem.Shape[batchAxis] != batch))
            throw new ArgumentException($"{op}: Memory must be Float32 [{(batchFirst ? "batch, memory sequence" : "memory sequence, batch")}, features] with batch {batch}, got {mem.DType} {mem.Shape}.");
        if (inputs.MemoryKeyPaddingMask is not null && inputs.Memory is null)
            throw new ArgumentException($"{op}: MemoryKeyPaddingMask needs Memory.");
        if (inputs.Memory is { } m2) CheckMask(inputs.MemoryKeyPaddingMask, batch, m2.Shape[seqAxis], "MemoryKeyPaddingMask");
        var rnn = module as RNNBase;
        if (inputs.InitialHidden is { } h0)
        {
            if (rnn is null) throw new ArgumentException($"{op}: InitialHidden applies to a top-level LSTM, GRU or RNN, not {module.GetType().Name}.");
            long[] stateShape = input.Dim == 2 ? [rnn.NumLayers * rnn.Directions, rnn.HiddenSize] : [rnn.NumLayers * rnn.Directions, batch, rnn.HiddenSize];
            foreach (var (state, what) in new[] { (h0, "InitialHidden"), (inputs.InitialCell, "InitialCell") })
                if (state is not null && (state.DType != DType.Float32 || !state.Shape.ToArray().SequenceEqual(stateShape)))
                    throw new ArgumentException($"{op}: {what} must be Float32 [{string.Join(", ", stateShape)}], got {state.DType} {state.Shape}.");
        }
        if (inputs.InitialCell is not null && (inputs.InitialHidden is null || rnn?.Mode != RecurrentMode.Lstm))
            throw new ArgumentException($"{op}: InitialCell needs InitialHidden and a top-level LSTM.");
        if (rnn is not null && inputs.InitialHidden is null && (inputs.KeyPaddingMask is not null || inputs.Memory is not null || inputs.IsCausal))
            throw new ArgumentException($"{op}: {module.GetType().Name} takes no masks, memory or causality.");
        var names = new List<string> { options.InputName, options.OutputName };
        if (inputs.KeyPaddingMask is not null) names.Add(KeyPaddingMaskName);
        if (inputs.Memory is not null) names.Add(MemoryName);
        if (inputs.MemoryKeyPaddingMask is not null) names.Add(MemoryKeyPaddingMaskName);
        if (inputs.InitialHidden is not null) names.AddRange(rnn!.Mode == RecurrentMode.Lstm ? [InitialHiddenName, FinalHiddenName, FinalCellName] : [InitialHiddenName, FinalHiddenName]);
        if (inputs.InitialCell is not null) names.Add(InitialCellName);
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
            throw new ArgumentException($"{op}: graph input and output names must differ, got {string.Join(", ", names)}.");

        var modes = module.NamedModules().Select(m => (m.Module, m.Module.IsTraining)).ToList();
        module.Eval();
        try
        {
            var ctx = new ExportContext(module, options);
            foreach (var n in names) ctx.Builder.Reserve(n);
            var graphInputs = new List<(Value Value, string?[] Dims)>();
            string? Dim(int axis, string seqName) => axis == batchAxis ? "batch" : axis == seqAxis ? seqName : null;
            var x = new Value(options.InputName, input);
            graphInputs.Add((x, [.. Enumerable.Range(0, input.Dim).Select(i => Dim(i, "sequence"))]));
            var extra = new SequenceGraphInputs(inputs);
            if (inputs.KeyPaddingMask is { } kpm) graphInputs.Add((new(KeyPaddingMaskName, kpm.To(Device.Cpu)), ["batch", "sequence"]));
            if (inputs.Memory is { } memory) graphInputs.Add((new(MemoryName, memory.To(Device.Cpu)), [.. Enumerable.Range(0, 3).Select(i => Dim(i, "memory_sequence"))]));
            if (inputs.MemoryKeyPaddingMask is { } mkpm) graphInputs.Add((new(MemoryKeyPaddingMaskName, mkpm.To(Device.Cpu)), ["batch", "memory_sequence"]));
            var inDims = graphInputs[0].Dims;
            string?[] DimsLike(Tensor sample) => [.. sample.Shape.ToArray().Select((d, i) => i < input.Dim && input.Shape[i] == d ? inDims[i] : null)];
            if (inputs.InitialHidden is { } hidden)
            {
                string?[] stateDims = input.Dim == 2 ? [null, null] : [null, "batch", null];
                graphInputs.Add((new(InitialHiddenName, hidden.To(Device.Cpu)), stateDims));
                if (inputs.InitialCell is { } cell) graphInputs.Add((new(InitialCellName, cell.To(Device.Cpu)), stateDims));
                var (y, hn, cn) = RunRecurrent(rnn!, input, hidden.To(Device.Cpu), inputs.InitialCell?.To(Device.Cpu));
                var finals = new List<string>();
                var seqOut = ctx.RecurrentWithStates(rnn!, x, InitialHiddenName, inputs.InitialCell is null ? null : InitialCellName, y, finals);
                var outs = new List<(Value, string?[], string)> { (seqOut, DimsLike(y), options.OutputName), (new(finals[0], hn), stateDims, FinalHiddenName) };
                if (cn is not null) outs.Add((new(finals[1], cn), stateDims, FinalCellName));
                return ctx.FinishMany(graphInputs, outs);
            }
            var output = ctx.TraceSequenceTop(module, x, extra);
            if (ctx.Unsupported.Count > 0) throw new OnnxUnsupportedException(ctx.Unsupported);
            return ctx.FinishMany(graphInputs, [(output, DimsLike(output.Sample), options.OutputName)]);
        }
        finally
        {
            foreach (var (m, training) in modes) m.Train(training);
        }

        static (Tensor Output, Tensor H, Tensor? C) RunRecurrent(RNNBase r, Tensor x, Tensor h0, Tensor? c0)
        {
            using (Tensor.NoGrad())
                switch (r)
                {
                    case LSTM lstm:
                    {
                        var (y, (h, c)) = lstm.Forward(x, (h0, c0 ?? Tensor.ZerosLike(h0)));
                        return (y, h, c);
                    }
                    case GRU gru:
                    {
                        var (y, h) = gru.Forward(x, h0);
                        return (y, h, null);
                    }
                    case RNN rnn:
                    {
                        var (y, h) = rnn.Forward(x, h0);
                        return (y, h, null);
                    }
                    default:
                        throw new ArgumentException($"ONNX sequence export: initial states of {r.GetType().Name} are not supported (LSTM, GRU and RNN are).");
                }
        }

        static void CheckMask(Tensor? mask, long batch, long length, string what)
        {
            if (mask is not null && (mask.DType != DType.Bool || mask.Dim != 2 || mask.Shape[0] != batch || mask.Shape[1] != length))
                throw new ArgumentException($"{op}: {what} must be Bool [{batch}, {length}] (true at padded positions), got {mask.DType} {mask.Shape}.");
        }
    }

    /// <summary>The graph names of the masks and memory (null where absent) and the sample tensors to run the module with.</summary>
    internal sealed record SequenceGraphInputs(OnnxSequenceInputs Samples)
    {
        public string? KeyPadding => Samples.KeyPaddingMask is null ? null : KeyPaddingMaskName;
        public string? Memory => Samples.Memory is null ? null : MemoryName;
        public string? MemoryPadding => Samples.MemoryKeyPaddingMask is null ? null : MemoryKeyPaddingMaskName;
        public bool Any => Samples.KeyPaddingMask is not null || Samples.Memory is not null || Samples.IsCausal;
    }

    internal sealed partial class ExportContext
    {
        int rotaryLength = 2048;
        readonly Dictionary<(int Dim, double Theta, int Length), (string Cos, string Sin)> rotaryTables = [];

        /// <summary>The top-level module of <see cref="ExportSequence"/>, which receives the masks and memory.</summary>
        public Value TraceSequenceTop(Module m, Value x, SequenceGraphInputs g)
        {
            rotaryLength = g.Samples.MaxSequenceLength;
            var s = g.Samples;
            string stem = m.GetType().Name.ToLowerInvariant();
            Tensor Sample(Func<Tensor> run)
            {
                using (Tensor.NoGrad()) return run();
            }
            if (m is GptModel && (s.KeyPaddingMask is not null || s.Memory is not null))
                throw new ArgumentException("ONNX sequence export: GptModel takes no padding mask or memory.");
            if (m is not (TransformerDecoderLayer or TransformerDecoder) && s.Memory is not null)
                throw new ArgumentException($"ONNX sequence export: {m.GetType().Name} takes no memory; only decoder layers and stacks do.");
            switch (m)
            {
                case GptModel gpt:
                    return new(Gpt(gpt, x.Name, stem), Sample(() => gpt.Forward(x.Sample)));
                case MultiheadAttention a:
                {
                    string? causal = s.IsCausal ? CausalMask(x.Name, a.BatchFirst ? 1 : 0, stem) : null;
                    return new(Attention(a, x.Name, null, g.KeyPadding, causal, stem),
                        Sample(() => a.Forward(x.Sample, x.Sample, x.Sample, s.KeyPaddingMask, null, s.IsCausal)));
                }
                case TransformerEncoderLayer l:
                {
                    string? causal = s.IsCausal ? CausalMask(x.Name, l.Settings.BatchFirst ? 1 : 0, stem) : null;
                    return new(EncoderLayer(l, x.Name, g.KeyPadding, causal, stem), Sample(() => l.Forward(x.Sample, null, s.KeyPaddingMask, s.IsCausal)));
                }
                case TransformerEncoder e:
                    return new(Encoder(e, x.Name, g.KeyPadding, s.IsCausal, stem), Sample(() => e.Forward(x.Sample, null, s.KeyPaddingMask, s.IsCausal)));
                case TransformerDecoderLayer or TransformerDecoder:
                {
                    if (s.Memory is not { } memory) throw new ArgumentException($"ONNX sequence export: {m.GetType().Name} needs OnnxSequenceInputs.Memory.");
                    var layers = m is TransformerDecoder d ? d.Layers.ToArray() : [(TransformerDecoderLayer)m];
                    var norm = (m as TransformerDecoder)?.Norm;
                    string? causal = s.IsCausal ? CausalMask(x.Name, layers[0].Settings.BatchFirst ? 1 : 0, stem) : null;
                    string y = x.Name;
                    for (int i = 0; i < layers.Length; i++)
                        y = DecoderLayer(layers[i], y, g.Memory!, g.KeyPadding, g.MemoryPadding, causal, layers.Length == 1 ? stem : $"{stem}.layers.{i}");
                    if (norm is not null) y = LayerNormNode(norm, y, stem + ".norm");
                    return new(y, Sample(() => m is TransformerDecoder dec
                        ? dec.Forward(x.Sample, memory, null, null, s.KeyPaddingMask, s.MemoryKeyPaddingMask, s.IsCausal)
                        : ((TransformerDecoderLayer)m).Forward(x.Sample, memory, null, null, s.KeyPaddingMask, s.MemoryKeyPaddingMask, s.IsCausal)));
                }
                default:
                    if (g.Any)
                        throw new ArgumentException($"ONNX sequence export: masks and causality reach only a top-level MultiheadAttention, transformer layer or stack; {m.GetType().Name} takes none.");
                    return Trace(m, "", x);
            }
        }

        /// <summary>A top-level recurrent layer with its initial states as graph inputs; the final states' names are added to <paramref name="finalStates"/>.</summary>
        public Value RecurrentWithStates(RNNBase r, Value x, string h0, string? c0, Tensor y, List<string> finalStates) =>
            Recurrent(r, x, r.GetType().Name.ToLowerInvariant(), h0, c0, y, finalStates);

        /// <summary>The sequence-model layers (called by <see cref="TryLayer"/> for modules it does not map); null for others.</summary>
        Value? TrySequenceLayer(Module m, string path, Value x, string stem)
        {
            switch (m)
            {
                case GELU g when g.Approximate == "tanh":
                    return new(GeluTanhNode(x.Name, stem), Run(m, x.Sample));
                case SiLU:
                    return new(Builder.Node("Mul", stem, [x.Name, Builder.Node("Sigmoid", stem + ".sigmoid", [x.Name])]), Run(m, x.Sample));
                case RMSNorm r:
                    return new(RmsNormNode(r, x.Name, stem), Run(m, x.Sample));
                case Embedding e:
                    if (x.Sample.DType != DType.Int64)
                    {
                        Unsupported.Add($"Embedding at {Where(path, m)}: its indices must be the Int64 graph input (use ExportSequence with token ids), got {x.Sample.DType}");
                        return x;
                    }
                    return new(EmbeddingNode(e, x.Name, stem), Run(m, x.Sample));
                case LearnedPositionalEmbedding l:
                    return new(AddLearnedPositions(x.Name, Param(l.Weight, stem + ".weight"), stem, x.Sample.Dim), Run(m, x.Sample));
                case SinusoidalPositionalEncoding s:
                    return new(AddPositions(x.Name, Builder.Initializer(s.NamedBuffers().First().Buffer, stem + ".pe"), stem), Run(m, x.Sample));
                case RotaryEmbedding r:
                    return new(Rope(x.Name, r.Dim, r.Theta, stem), Run(m, x.Sample));
                case MultiheadAttention a:
                    return new(Attention(a, x.Name, null, null, null, stem), Run(m, x.Sample));
                case TransformerEncoderLayer l:
                    return new(EncoderLayer(l, x.Name, null, null, stem), Run(m, x.Sample));
                case TransformerEncoder e:
                    return new(Encoder(e, x.Name, null, false, stem), Run(m, x.Sample));
                case GptModel g:
                    return new(Gpt(g, x.Name, stem), Run(m, x.Sample));
                case TransformerDecoderLayer or TransformerDecoder:
                    Unsupported.Add($"{m.GetType().Name} at {Where(path, m)}: a decoder needs the encoder output; export it as the top-level module of ExportSequence with OnnxSequenceInputs.Memory");
                    return x;
                default:
                    return null;
            }
        }

        static T Child<T>(Module m, string name) where T : Module => (T)m.NamedChildren().First(c => c.Name == name).Module;

        /// <summary>Exact GELU, 0.5·x·(1 + erf(x/√2)); opset 17 has no Gelu operator.</summary>
        public string GeluNode(string x, string stem)
        {
            string scaled = Builder.Node("Div", stem + ".scaled", [x, Scalar(Math.Sqrt(2.0), stem + ".sqrt2")]);
            string erf = Builder.Node("Erf", stem + ".erf", [scaled]);
            string onePlus = Builder.Node("Add", stem + ".one_plus", [erf, Scalar(1.0, stem + ".one")]);
            string times = Builder.Node("Mul", stem + ".times_x", [x, onePlus]);
            return Builder.Node("Mul", stem, [times, Scalar(0.5, stem + ".half")]);
        }

        /// <summary>Tanh GELU as NeuralCore computes it: x·0.5·(1 + tanh((x + 0.044715·x³)·√(2/π))).</summary>
        string GeluTanhNode(string x, string stem)
        {
            string cube = Builder.Node("Mul", stem + ".cube", [Builder.Node("Mul", stem + ".square", [x, x]), x]);
            string inner = Builder.Node("Add", stem + ".inner", [x, Builder.Node("Mul", stem + ".cubic", [cube, Scalar(0.044715, stem + ".c")])]);
            string tanh = Builder.Node("Tanh", stem + ".tanh", [Builder.Node("Mul", stem + ".scaled", [inner, Scalar(Math.Sqrt(2 / Math.PI), stem + ".k")])]);
            string half = Builder.Node("Mul", stem + ".half_x", [x, Scalar(0.5, stem + ".half")]);
            return Builder.Node("Mul", stem, [half, Builder.Node("Add", stem + ".one_plus", [tanh, Scalar(1.0, stem + ".one")])]);
        }

        /// <summary>RMSNorm decomposed: x · 1/√(mean(x²) + ε) (· weight), over the normalised trailing dimensions.</summary>
        string RmsNormNode(RMSNorm r, string x, string stem)
        {
            int k = r.NormalizedShape.Count;
            double eps = r.Eps ?? 1.1920928955078125e-07;
            long[] axes = [.. Enumerable.Range(-k, k).Select(i => (long)i)];
            string mean = Builder.Node("ReduceMean", stem + ".mean_square", [Builder.Node("Mul", stem + ".square", [x, x])], Ints("axes", axes), Int("keepdims", 1));
            string inv = Builder.Node("Reciprocal", stem + ".inv_rms", [Builder.Node("Sqrt", stem + ".rms", [Builder.Node("Add", stem + ".plus_eps", [mean, Scalar(eps, stem + ".eps")])])]);
            string y = Builder.Node("Mul", r.Weight is null ? stem : stem + ".normalized", [x, inv]);
            return r.Weight is { } w ? Builder.Node("Mul", stem, [y, Param(w, stem + ".weight")]) : y;
        }

        /// <summary>LayerNormalization (opset 17) of a <see cref="LayerNorm"/>; missing affine parameters become constants.</summary>
        public string LayerNormNode(LayerNorm ln, string x, string stem)
        {
            var shape = ln.NormalizedShape.ToArray();
            string scale = ln.Weight is { } w ? Param(w, stem + ".weight") : Builder.Constant(Tensor.Ones(shape), stem + ".ones");
            string bias = ln.Bias is { } b ? Param(b, stem + ".bias") : Builder.Constant(Tensor.Zeros(shape), stem + ".zeros");
            return Builder.Node("LayerNormalization", stem, [x, scale, bias], Int("axis", -shape.Length), Float("epsilon", ln.Eps));
        }

        /// <summary>
        /// Gather of the looked-up rows. The padding index only affects training. With <c>maxNorm</c>, each looked-up row
        /// is scaled by maxNorm / (‖row‖ + 1e-7) where its norm exceeds maxNorm, the values NeuralCore's in-place renorm gives.
        /// </summary>
        string EmbeddingNode(Embedding e, string tokens, string stem)
        {
            string weight = Param(e.Weight, stem + ".weight");
            if (e.MaxNorm is not double maxNorm) return Builder.Node("Gather", stem, [weight, tokens], Int("axis", 0));
            string rows = Builder.Node("Gather", stem + ".rows", [weight, tokens], Int("axis", 0));
            string norm = Builder.Node("Sqrt", stem + ".norm", [Builder.Node("ReduceSum", stem + ".sum_square",
                [Builder.Node("Mul", stem + ".square", [rows, rows]), Builder.Int64(stem + ".last", -1)], Int("keepdims", 1))]);
            string bound = Scalar(maxNorm, stem + ".max_norm");
            string factor = Builder.Node("Div", stem + ".factor", [bound, Builder.Node("Add", stem + ".norm_eps", [norm, Scalar(1e-7, stem + ".eps")])]);
            string over = Builder.Node("Greater", stem + ".over", [norm, bound]);
            string scale = Builder.Node("Where", stem + ".scale", [over, factor, Scalar(1.0, stem + ".one")]);
            return Builder.Node("Mul", stem, [rows, scale]);
        }

        /// <summary>The run-time length of axis −2 of <paramref name="x"/> as an Int64 [1] tensor.</summary>
        string LengthOf(string x, string stem, int axis = -2) =>
            Builder.Node("Slice", stem + ".length", [Builder.Node("Shape", stem + ".shape", [x]), Builder.Int64(stem + ".axis_start", axis), Builder.Int64(stem + ".axis_end", axis + 1 == 0 ? long.MaxValue : axis + 1)]);

        /// <summary>
        /// x + weight[positions] for x [*, L, E] and a learned table [maxLength, E]: a Gather on Range(0, L), so an
        /// imported model trains the table as it trains an embedding.
        /// </summary>
        string AddLearnedPositions(string x, string weight, string stem, int rank)
        {
            string rows = Builder.Node("Gather", stem + ".rows", [weight, Positions(x, rank - 2, stem)], Int("axis", 0));
            return Builder.Node("Add", stem, [x, rows]);
        }

        /// <summary>x + table[0:L] for x [*, L, E] and a constant position table [maxLength, E].</summary>
        string AddPositions(string x, string table, string stem)
        {
            string rows = Builder.Node("Slice", stem + ".rows", [table, Builder.Int64(stem + ".zero", 0), LengthOf(x, stem), Builder.Int64(stem + ".zero", 0)]);
            return Builder.Node("Add", stem, [x, rows]);
        }

        /// <summary>
        /// Rotary embedding (rotate-half) of x [*, L, D] at positions 0..L−1: the cosine and sine tables of
        /// <see cref="rotaryLength"/> positions are constants sliced to L, then [x₁·cos − x₂·sin, x₂·cos + x₁·sin].
        /// </summary>
        string Rope(string x, int dim, double theta, string stem)
        {
            int half = dim / 2;
            if (!rotaryTables.TryGetValue((dim, theta, rotaryLength), out var tables))
            {
                Tensor table;
                using (Tensor.NoGrad())
                {
                    // Rotating [1…1, 0…0] gives [cos, sin] exactly as the forward pass computes them.
                    var unit = Tensor.Cat([Tensor.Ones(rotaryLength, half), Tensor.Zeros(rotaryLength, half)], 1);
                    table = Nn.Functional.ApplyRotaryEmbedding(unit, 0, theta);
                }
                string key = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"rope{dim}_{rotaryLength}");
                tables = (Builder.Constant(table.Narrow(1, 0, half).Contiguous(), key + "_cos"), Builder.Constant(table.Narrow(1, half, half).Contiguous(), key + "_sin"));
                rotaryTables[(dim, theta, rotaryLength)] = tables;
            }
            string len = LengthOf(x, stem);
            string zero = Builder.Int64(stem + ".zero", 0);
            string cos = Builder.Node("Slice", stem + ".cos", [tables.Cos, zero, len, zero]);
            string sin = Builder.Node("Slice", stem + ".sin", [tables.Sin, zero, len, zero]);
            string last = Builder.Int64(stem + ".last", -1);
            string x1 = Builder.Node("Slice", stem + ".x1", [x, zero, Builder.Int64(stem + ".half", half), last]);
            string x2 = Builder.Node("Slice", stem + ".x2", [x, Builder.Int64(stem + ".half", half), Builder.Int64(stem + ".dim", dim), last]);
            string first = Builder.Node("Sub", stem + ".first", [Builder.Node("Mul", stem + ".x1cos", [x1, cos]), Builder.Node("Mul", stem + ".x2sin", [x2, sin])]);
            string second = Builder.Node("Add", stem + ".second", [Builder.Node("Mul", stem + ".x2cos", [x2, cos]), Builder.Node("Mul", stem + ".x1sin", [x1, sin])]);
            return Builder.Node("Concat", stem, [first, second], Int("axis", -1));
        }

        /// <summary>The positions 0..L−1 (Int64 [L]) of axis <paramref name="seqAxis"/> of <paramref name="x"/> (Shape, Gather, Range).</summary>
        string Positions(string x, int seqAxis, string stem)
        {
            string len = Builder.Node("Gather", stem + ".length", [Builder.Node("Shape", stem + ".shape", [x]),
                Builder.Constant(Tensor.Scalar((long)seqAxis, DType.Int64), stem + ".seq_axis")], Int("axis", 0));
            return Builder.Node("Range", stem + ".positions", [Builder.Constant(Tensor.Scalar(0L, DType.Int64), stem + ".start"), len,
                Builder.Constant(Tensor.Scalar(1L, DType.Int64), stem + ".step")]);
        }

        /// <summary>
        /// The additive causal mask [L, L] of the sequence axis of <paramref name="x"/>: 0 where key j ≤ query i,
        /// −∞ elsewhere (Shape, Gather, Range, Unsqueeze, Greater, Where).
        /// </summary>
        string CausalMask(string x, int seqAxis, string stem)
        {
            string positions = Positions(x, seqAxis, stem + ".causal");
            string rows = Builder.Node("Unsqueeze", stem + ".rows", [positions, Builder.Int64(stem + ".axis1", 1)]);
            string cols = Builder.Node("Unsqueeze", stem + ".cols", [positions, Builder.Int64(stem + ".axis0", 0)]);
            string future = Builder.Node("Greater", stem + ".future", [cols, rows]);
            return Builder.Node("Where", stem + ".causal_mask", [future, Scalar(double.NegativeInfinity, stem + ".minus_inf"), Scalar(0.0, stem + ".zero_f")]);
        }

        /// <summary>x·Wᵀ (+ b) with the transposed weight as a constant (MatMul, Add).</summary>
        string Project(string x, Tensor weight, Tensor? bias, string stem)
        {
            string wt;
            using (Tensor.NoGrad()) wt = Builder.Constant(weight.Transpose(0, 1).Contiguous(), stem + ".weight_t");
            string mm = Builder.Node("MatMul", bias is null ? stem : stem + ".matmul", [x, wt]);
            return bias is null ? mm : Builder.Node("Add", stem, [mm, Param(bias, stem + ".bias")]);
        }

        /// <summary>
        /// Multi-head attention: projections, heads [B, H, L, D] by Reshape with copied dimensions and Transpose,
        /// optional RoPE, softmax(q·kᵀ/√D + masks)·v, heads merged and the output projection. A key padding mask
        /// (Bool [B, Lk]) adds −∞ at padded keys; rows left without any key give NaN in Softmax and are set to 0.
        /// </summary>
        string Attention(MultiheadAttention a, string query, string? memory, string? keyPadding, string? causalMask, string stem)
        {
            int e = a.EmbedDim, h = a.NumHeads, d = a.HeadDim;
            string q = a.BatchFirst ? query : Builder.Node("Transpose", stem + ".batch_first", [query], Ints("perm", 1, 0, 2));
            string kv = memory is null ? q : a.BatchFirst ? memory : Builder.Node("Transpose", stem + ".memory_batch_first", [memory], Ints("perm", 1, 0, 2));
            string Heads(string x, string name) => Builder.Node("Transpose", $"{stem}.{name}_heads", [Builder.Node("Reshape", $"{stem}.{name}_split",
                [x, Builder.Int64(stem + ".split_shape", 0, 0, h, d)])], Ints("perm", 0, 2, 1, 3));
            Tensor? Part(Tensor? t, int i) => t?.Narrow(0, (long)i * e, e);
            string qh, kh, vh;
            using (Tensor.NoGrad())
            {
                qh = Heads(Project(q, Part(a.InProjWeight, 0)!, Part(a.InProjBias, 0), stem + ".q_proj"), "q");
                kh = Heads(Project(kv, Part(a.InProjWeight, 1)!, Part(a.InProjBias, 1), stem + ".k_proj"), "k");
                vh = Heads(Project(kv, Part(a.InProjWeight, 2)!, Part(a.InProjBias, 2), stem + ".v_proj"), "v");
            }
            if (a.Rotary is { } r)
            {
                qh = Rope(qh, r.Dim, r.Theta, stem + ".q_rope");
                kh = Rope(kh, r.Dim, r.Theta, stem + ".k_rope");
            }
            string scores = Builder.Node("Mul", stem + ".scores", [Builder.Node("MatMul", stem + ".qk", [qh, Builder.Node("Transpose", stem + ".k_t", [kh], Ints("perm", 0, 1, 3, 2))]),
                Scalar(1 / Math.Sqrt(d), stem + ".scale")]);
            string? mask = causalMask;
            if (keyPadding is not null)
            {
                string additive = Builder.Node("Where", stem + ".padding_additive", [keyPadding, Scalar(double.NegativeInfinity, stem + ".minus_inf"), Scalar(0.0, stem + ".zero_f")]);
                string padding = Builder.Node("Unsqueeze", stem + ".padding_mask", [additive, Builder.Int64(stem + ".axes12", 1, 2)]);
                mask = mask is null ? padding : Builder.Node("Add", stem + ".mask", [mask, padding]);
            }
            if (mask is not null) scores = Builder.Node("Add", stem + ".masked_scores", [scores, mask]);
            string weights = Builder.Node("Softmax", stem + ".weights", [scores], Int("axis", -1));
            if (keyPadding is not null)
                weights = Builder.Node("Where", stem + ".safe_weights", [Builder.Node("IsNaN", stem + ".empty_rows", [weights]), Scalar(0.0, stem + ".zero_f"), weights]);
            string merged = Builder.Node("Reshape", stem + ".merged", [Builder.Node("Transpose", stem + ".heads_last",
                [Builder.Node("MatMul", stem + ".attended", [weights, vh])], Ints("perm", 0, 2, 1, 3)), Builder.Int64(stem + ".merge_shape", 0, 0, e)]);
            var outProj = a.OutProj;
            string y = Project(merged, outProj.Weight, outProj.Bias, stem + ".out_proj");
            return a.BatchFirst ? y : Builder.Node("Transpose", stem + ".out", [y], Ints("perm", 1, 0, 2));
        }

        /// <summary>linear2(activation(linear1(x))) of a transformer layer (dropout is inactive at inference).</summary>
        string FeedForward(Module layer, TransformerLayerSettings s, string x, string stem)
        {
            var l1 = Child<Linear>(layer, "linear1");
            var l2 = Child<Linear>(layer, "linear2");
            string hidden = Project(x, l1.Weight, l1.Bias, stem + ".linear1");
            hidden = s.Activation == "gelu" ? GeluNode(hidden, stem + ".gelu") : Builder.Node("Relu", stem + ".relu", [hidden]);
            return Project(hidden, l2.Weight, l2.Bias, stem + ".linear2");
        }

        string EncoderLayer(TransformerEncoderLayer l, string x, string? keyPadding, string? causalMask, string stem)
        {
            var n1 = Child<LayerNorm>(l, "norm1");
            var n2 = Child<LayerNorm>(l, "norm2");
            string Attend(string v) => Attention(l.SelfAttn, v, null, keyPadding, causalMask, stem + ".self_attn");
            if (l.Settings.NormFirst)
            {
                x = Builder.Node("Add", stem + ".residual1", [x, Attend(LayerNormNode(n1, x, stem + ".norm1"))]);
                return Builder.Node("Add", stem, [x, FeedForward(l, l.Settings, LayerNormNode(n2, x, stem + ".norm2"), stem)]);
            }
            x = LayerNormNode(n1, Builder.Node("Add", stem + ".residual1", [x, Attend(x)]), stem + ".norm1");
            return LayerNormNode(n2, Builder.Node("Add", stem + ".residual2", [x, FeedForward(l, l.Settings, x, stem)]), stem);
        }

        string Encoder(TransformerEncoder enc, string x, string? keyPadding, bool causal, string stem)
        {
            string? mask = causal ? CausalMask(x, enc.Layers[0].Settings.BatchFirst ? 1 : 0, stem) : null;
            for (int i = 0; i < enc.Layers.Count; i++) x = EncoderLayer(enc.Layers[i], x, keyPadding, mask, $"{stem}.layers.{i}");
            return enc.Norm is null ? x : LayerNormNode(enc.Norm, x, stem + ".norm");
        }

        string DecoderLayer(TransformerDecoderLayer l, string x, string memory, string? keyPadding, string? memoryPadding, string? causalMask, string stem)
        {
            var s = l.Settings;
            var (n1, n2, n3) = (Child<LayerNorm>(l, "norm1"), Child<LayerNorm>(l, "norm2"), Child<LayerNorm>(l, "norm3"));
            string Self(string v) => Attention(Child<MultiheadAttention>(l, "self_attn"), v, null, keyPadding, causalMask, stem + ".self_attn");
            string Cross(string v) => Attention(Child<MultiheadAttention>(l, "multihead_attn"), v, memory, memoryPadding, null, stem + ".multihead_attn");
            if (s.NormFirst)
            {
                x = Builder.Node("Add", stem + ".residual1", [x, Self(LayerNormNode(n1, x, stem + ".norm1"))]);
                x = Builder.Node("Add", stem + ".residual2", [x, Cross(LayerNormNode(n2, x, stem + ".norm2"))]);
                return Builder.Node("Add", stem, [x, FeedForward(l, s, LayerNormNode(n3, x, stem + ".norm3"), stem)]);
            }
            x = LayerNormNode(n1, Builder.Node("Add", stem + ".residual1", [x, Self(x)]), stem + ".norm1");
            x = LayerNormNode(n2, Builder.Node("Add", stem + ".residual2", [x, Cross(x)]), stem + ".norm2");
            return LayerNormNode(n3, Builder.Node("Add", stem + ".residual3", [x, FeedForward(l, s, x, stem)]), stem);
        }

        /// <summary>GptModel's full-sequence forward: token and position embeddings, the causal pre-norm stack, logits for every position.</summary>
        string Gpt(GptModel g, string tokens, string stem)
        {
            int saved = rotaryLength;
            rotaryLength = g.ContextLength;
            try
            {
                var wte = Child<Embedding>(g, "wte");
                string x = EmbeddingNode(wte, tokens, stem + ".wte");
                var wpe = g.NamedChildren().FirstOrDefault(c => c.Name == "wpe").Module;
                x = wpe switch
                {
                    LearnedPositionalEmbedding l => AddLearnedPositions(x, Param(l.Weight, stem + ".wpe.weight"), stem + ".wpe", 3),
                    SinusoidalPositionalEncoding s => AddPositions(x, Builder.Initializer(s.NamedBuffers().First().Buffer, stem + ".wpe.pe"), stem + ".wpe"),
                    _ => x,
                };
                x = Encoder(Child<TransformerEncoder>(g, "blocks"), x, null, causal: true, stem + ".blocks");
                if (g.NamedChildren().FirstOrDefault(c => c.Name == "lm_head").Module is Linear head) return Project(x, head.Weight, head.Bias, stem + ".lm_head");
                string tied = Builder.Node("Transpose", stem + ".wte_t", [Param(wte.Weight, stem + ".wte.weight")], Ints("perm", 1, 0));
                return Builder.Node("MatMul", stem + ".logits", [x, tied]);
            }
            finally
            {
                rotaryLength = saved;
            }
        }

        /// <summary>Finishes a graph with several inputs and outputs, each typed by its sample and with named symbolic dimensions.</summary>
        public ModelProto FinishMany(IReadOnlyList<(Value Value, string?[] Dims)> inputs, IReadOnlyList<(Value Value, string?[] Dims, string Name)> outputs)
        {
            var g = Builder.Graph;
            var inputNames = inputs.Select(i => i.Value.Name).ToHashSet(StringComparer.Ordinal);
            for (int i = 0; i < outputs.Count; i++)
            {
                var (value, dims, outName) = outputs[i];
                if (g.Node.Any(n => n.Output.Contains(value.Name)) && !inputNames.Contains(value.Name)) Builder.Rename(value.Name, outName);
                else Builder.AddNode("Identity", [value.Name], [outName]);
                g.Output.Add(TypedValueInfo(outName, value.Sample, dims));
            }
            foreach (var (value, dims) in inputs) g.Input.Add(TypedValueInfo(value.Name, value.Sample, dims));
            return Package(g);
        }

        ValueInfoProto TypedValueInfo(string name, Tensor sample, string?[] dims)
        {
            var elem = sample.DType switch
            {
                DType.Float32 => TensorProto.Types.DataType.Float,
                DType.Int64 => TensorProto.Types.DataType.Int64,
                DType.Bool => TensorProto.Types.DataType.Bool,
                _ => throw new ArgumentException($"ONNX export: graph value \"{name}\" has dtype {sample.DType}; Float32, Int64 and Bool are supported."),
            };
            var shape = new TensorShapeProto();
            for (int i = 0; i < sample.Dim; i++)
                shape.Dim.Add(Options.DynamicBatch && i < dims.Length && dims[i] is { } p
                    ? new TensorShapeProto.Types.Dimension { DimParam = p }
                    : new TensorShapeProto.Types.Dimension { DimValue = sample.Shape[i] });
            return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)elem, Shape = shape } } };
        }
    }
}
