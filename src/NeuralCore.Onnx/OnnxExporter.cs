using System.Text.Json;
using Google.Protobuf;
using NeuralCore.Nn;
using NeuralCore.Onnx.Protos;
using static NeuralCore.Onnx.GraphBuilder;

namespace NeuralCore.Onnx;

/// <summary>
/// Writes NeuralCore modules as ONNX models (default domain, opset <see cref="OnnxOpset.Version"/>).
/// </summary>
/// <remarks>
/// The export traces a forward pass on a sample input in evaluation mode (the module's training flags are
/// restored afterwards). Built-in layers — <see cref="Sequential"/>, <see cref="Linear"/>, <see cref="Dense"/>,
/// <see cref="Conv2d"/>, pooling, batch and layer norm, <see cref="Dropout"/> (omitted), <see cref="Flatten"/>, the
/// activations and <see cref="OnnxModel"/> — map to ONNX nodes directly. Any other module is traced through the
/// autograd graph its <c>Forward</c> records, each recorded op becoming ONNX nodes. Parameters and buffers become
/// initializers named by their state-dict keys. Dimension 0 is the dynamic "batch" dimension: traced reshapes keep
/// it as −1. Everything that has no mapping is collected and reported in one <see cref="OnnxUnsupportedException"/>.
/// </remarks>
public static partial class OnnxExporter
{
    /// <summary>Metadata key of the class labels (a JSON array of strings).</summary>
    public const string ClassLabelsKey = "class_labels";

    /// <summary>Producer name written to exported models.</summary>
    public const string ProducerName = "NeuralCore";

    /// <summary>Exports <paramref name="module"/> traced on <paramref name="sample"/> (Float32, batch first).</summary>
    /// <param name="module">The model.</param>
    /// <param name="sample">An input of the shape the model takes; its dimension 0 is the batch.</param>
    /// <param name="options">Names, labels and folding; defaults when null.</param>
    /// <exception cref="OnnxUnsupportedException">Some layers or ops have no ONNX mapping (all are listed).</exception>
    /// <exception cref="ArgumentException">
    /// The sample is not a Float32 tensor with a batch dimension, the module holds tensors off the CPU, or the input
    /// and output names are equal.
    /// </exception>
    public static ModelProto Export(Module module, Tensor sample, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(sample);
        options ??= new OnnxExportOptions();
        if (sample.DType != DType.Float32 || sample.Dim == 0 || sample.Shape[0] < 1)
            throw new ArgumentException($"ONNX export: the sample must be a Float32 tensor with a batch dimension of at least 1, got {sample.DType} {sample.Shape}{(sample.DType == DType.Int64 ? "; export token-id models with ExportSequence" : "")}.");
        if (module.Parameters().Concat(module.NamedBuffers().Select(b => b.Buffer)).FirstOrDefault(t => !t.Device.Equals(Device.Cpu)) is { } elsewhere)
            throw new ArgumentException($"ONNX export: the export traces on the CPU, but the module holds tensors on {elsewhere.Device}; call module.To(Device.Cpu) first.");
        if (options.InputName == options.OutputName)
            throw new ArgumentException($"ONNX export: input and output names must differ, both are \"{options.InputName}\".");

        var modes = module.NamedModules().Select(m => (m.Module, m.Module.IsTraining)).ToList();
        module.Eval();
        try
        {
            var ctx = new ExportContext(module, options);
            ctx.Builder.Reserve(options.InputName);
            var input = new Value(options.InputName, sample.Device.Equals(Device.Cpu) ? sample : sample.To(Device.Cpu));
            var output = ctx.Trace(module, "", input);
            if (ctx.Unsupported.Count > 0) throw new OnnxUnsupportedException(ctx.Unsupported);
            return ctx.Finish(input, output);
        }
        finally
        {
            foreach (var (m, training) in modes) m.Train(training);
        }
    }

    /// <summary>Exports to ONNX bytes; see <see cref="Export"/>.</summary>
    public static byte[] ToBytes(Module module, Tensor sample, OnnxExportOptions? options = null) =>
        Export(module, sample, options).ToByteArray();

    /// <summary>Exports to a .onnx file; see <see cref="Export"/>.</summary>
    public static void Save(Module module, Tensor sample, string path, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = ToBytes(module, sample, options);
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>A traced value: its ONNX name and the tensor the sample produced for it.</summary>
    internal readonly record struct Value(string Name, Tensor Sample);

    internal sealed partial class ExportContext(Module root, OnnxExportOptions options)
    {
        readonly Dictionary<Tensor, string> stateNames = new(ReferenceEqualityComparer.Instance);

        public GraphBuilder Builder { get; } = new();
        public List<string> Unsupported { get; } = [];
        public OnnxExportOptions Options => options;

        /// <summary>The state-dict key of a parameter or buffer of the root module, or null.</summary>
        public string? StateName(Tensor t)
        {
            if (stateNames.TryGetValue(t, out var n)) return n;
            // Layers such as Dense create their parameters on the first call; refresh the map then.
            stateNames.Clear();
            foreach (var (name, p) in root.NamedParameters()) stateNames.TryAdd(p, name);
            foreach (var (name, b) in root.NamedBuffers()) stateNames.TryAdd(b, name);
            return stateNames.GetValueOrDefault(t);
        }

        /// <summary>The initializer of a module's tensor, named by its state-dict key when it has one.</summary>
        public string Param(Tensor t, string fallback) => Builder.Initializer(t, StateName(t) ?? fallback);

        public static string Where(string path, Module m) => $"{(path.Length == 0 ? "<root>" : path)} ({m.GetType().Name})";

        public Value Trace(Module m, string path, Value x)
        {
            switch (m)
            {
                case Sequential seq:
                    for (int i = 0; i < seq.Count; i++)
                    {
                        string childPath = Join(path, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                        if (options.FoldBatchNorm && i + 1 < seq.Count && seq[i + 1] is BatchNormBase bn && TryFold(seq[i], childPath, bn, x, out var folded))
                        {
                            x = folded;
                            i++;
                            continue;
                        }
                        x = Trace(seq[i], childPath, x);
                    }
                    return x;
                case OnnxModel onnx:
                    return EmitOnnxModel(onnx, path, x);
                default:
                    return TryQuantized(m, path, x) ?? TryLayer(m, path, x) ?? TraceAutograd(m, path, x);
            }
        }

        static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

        /// <summary>Runs the module on the sample without recording a graph.</summary>
        static Tensor Run(Module m, Tensor x)
        {
            using (Tensor.NoGrad()) return m.Forward(x);
        }

        public ModelProto Finish(Value input, Value output)
        {
            var g = Builder.Graph;
            string outName = options.OutputName;
            bool producedByNode = g.Node.Any(n => n.Output.Contains(output.Name));
            if (producedByNode && output.Name != input.Name) Builder.Rename(output.Name, outName);
            else Builder.AddNode("Identity", [output.Name], [outName]);

            long batch = input.Sample.Shape[0];
            g.Input.Add(ValueInfo(input.Name, input.Sample.Shape.ToArray(), options.DynamicBatch));
            var outShape = output.Sample.Shape.ToArray();
            g.Output.Add(ValueInfo(outName, outShape, options.DynamicBatch && outShape.Length > 0 && outShape[0] == batch));
            return Package(g);
        }

        /// <summary>The model around a finished graph: IR version, opset, producer and metadata.</summary>
        ModelProto Package(GraphProto g)
        {
            g.Name = options.GraphName;
            var model = new ModelProto
            {
                IrVersion = OnnxOpset.IrVersion,
                ProducerName = ProducerName,
                ProducerVersion = typeof(Module).Assembly.GetName().Version?.ToString() ?? "",
                Graph = g,
            };
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OnnxOpset.Version });
            if (options.ClassLabels is { } labels)
                model.MetadataProps.Add(new StringStringEntryProto { Key = ClassLabelsKey, Value = JsonSerializer.Serialize(labels.ToArray(), OnnxJson.Default.StringArray) });
            if (options.Metadata is { } meta)
                foreach (var (k, v) in meta.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
            return model;
        }

        /// <summary>A float tensor value info; dimension 0 is "batch" when <paramref name="dynamicBatch"/>.</summary>
        public static ValueInfoProto ValueInfo(string name, long[] shape, bool dynamicBatch)
        {
            var tensorShape = new TensorShapeProto();
            for (int i = 0; i < shape.Length; i++)
                tensorShape.Dim.Add(i == 0 && dynamicBatch ? new TensorShapeProto.Types.Dimension { DimParam = "batch" } : new TensorShapeProto.Types.Dimension { DimValue = shape[i] });
            return new ValueInfoProto
            {
                Name = name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = tensorShape } },
            };
        }
    }
}

/// <summary>Source-generated JSON for the metadata (trimming-safe).</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(string[]))]
internal sealed partial class OnnxJson : System.Text.Json.Serialization.JsonSerializerContext;
