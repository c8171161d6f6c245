using System.Text.Json;
using Google.Protobuf;
using NeuralCore.Nn;
using NeuralCore.Onnx.Protos;

namespace NeuralCore.Onnx;

/// <summary>
/// An imported ONNX model as a NeuralCore <see cref="Module"/>: the graph's nodes run in order on NeuralCore tensor
/// ops, so the model trains (backward flows through every node) and exports back to the same graph.
/// </summary>
/// <remarks>
/// Float initializers that act as weights (operands of Gemm, MatMul, Conv, Add, Sub, Mul, Div, the scale and
/// bias of the normalisations and the tables Gather looks up, with at least one dimension) are trainable parameters; batch-norm statistics,
/// scalars and Int64 initializers are buffers. Module names may not contain dots, so an initializer
/// <c>fc1.weight</c> is registered as <c>fc1_weight</c>; <see cref="InitializerNames"/> keeps the ONNX names.
/// <see cref="Forward"/> takes the first graph input and returns the first output; <see cref="Run"/> takes every
/// input (Float32, Int64 or Bool, any dimension may be symbolic) and returns every output. Supported operators are
/// listed by <see cref="SupportedOps"/>.
/// </remarks>
public sealed partial class OnnxModel : Module
{
    static readonly HashSet<string> WeightConsumers = ["Gemm", "MatMul", "Conv", "Add", "Sub", "Mul", "Div", "LayerNormalization", "Gather"];

    readonly List<(string OnnxName, string ModuleName, bool Trainable)> initializers = [];
    readonly Dictionary<string, string> moduleNameOf = new(StringComparer.Ordinal);
    readonly Dictionary<string, TensorProto.Types.DataType> typeOf = new(StringComparer.Ordinal);
    readonly List<CompiledNode> nodes = [];

    /// <summary>Builds the module from a parsed model, checking every node first.</summary>
    /// <exception cref="OnnxFormatException">The model is malformed or uses unsupported operators or attributes (all are listed).</exception>
    public OnnxModel(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var problems = OnnxChecker.Problems(model, forImport: true);
        if (problems.Count > 0) throw new OnnxFormatException(problems);
        var graph = model.Graph;
        InputName = graph.Input.First(i => graph.Initializer.All(t => t.Name != i.Name)).Name;
        OutputName = graph.Output[0].Name;
        InputShape = Dims(graph.Input.First(i => i.Name == InputName));
        OutputShape = Dims(graph.Output[0]);
        Metadata = model.MetadataProps.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        if (Metadata.TryGetValue(OnnxExporter.ClassLabelsKey, out var labels))
        {
            try { ClassLabels = JsonSerializer.Deserialize(labels, OnnxJson.Default.StringArray); }
            catch (JsonException e) { throw new OnnxFormatException($"ONNX import: metadata \"{OnnxExporter.ClassLabelsKey}\" is not a JSON array of strings ({e.Message})."); }
        }

        var trainable = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
            for (int i = 0; i < node.Input.Count; i++)
                if (WeightConsumers.Contains(node.OpType) || (node.OpType == "BatchNormalization" && i is 1 or 2)
                    || (OnnxOps.RecurrentOps.Contains(node.OpType) && i is 1 or 2 or 3))
                    trainable.Add(node.Input[i]);
        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (var init in graph.Initializer)
        {
            var t = OnnxTensors.FromProto(init);
            string name = init.Name.Replace('.', '_');
            if (name.Length == 0) name = "initializer";
            string unique = name;
            for (int k = 1; !taken.Add(unique); k++) unique = $"{name}_{k}";
            bool isWeight = t.DType == DType.Float32 && t.Dim > 0 && trainable.Contains(init.Name);
            if (isWeight) RegisterParameter(unique, t);
            else RegisterBuffer(unique, t);
            initializers.Add((init.Name, unique, isWeight));
            moduleNameOf[init.Name] = unique;
            typeOf[init.Name] = (TensorProto.Types.DataType)init.DataType;
        }
        foreach (var node in graph.Node) nodes.Add(OnnxOps.Compile(node));
        Graph = graph.Clone();
        Graph.Initializer.Clear();
    }

    /// <summary>Reads a model from ONNX bytes.</summary>
    /// <exception cref="OnnxFormatException">The bytes are not a valid ONNX model or use unsupported features.</exception>
    public static OnnxModel FromBytes(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ModelProto model;
        try { model = ModelProto.Parser.ParseFrom(bytes); }
        catch (InvalidProtocolBufferException e) { throw new OnnxFormatException($"ONNX import: the data is not an ONNX protobuf ({e.Message})."); }
        return new OnnxModel(model);
    }

    /// <summary>Reads a .onnx file.</summary>
    /// <exception cref="OnnxFormatException">The file is not a valid ONNX model or uses unsupported features.</exception>
    public static OnnxModel Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return FromBytes(File.ReadAllBytes(path));
    }

    /// <summary>The operators the importer runs (default domain, opset 13–17 semantics).</summary>
    public static IReadOnlyCollection<string> SupportedOps => OnnxOps.Supported;

    /// <summary>The graph without its initializers (their values live in this module's parameters and buffers).</summary>
    internal GraphProto Graph { get; }

    /// <summary>Name of the graph input.</summary>
    public string InputName { get; }

    /// <summary>Name of the graph output.</summary>
    public string OutputName { get; }

    /// <summary>Declared input shape; null entries are symbolic (such as "batch").</summary>
    public IReadOnlyList<long?> InputShape { get; }

    /// <summary>Declared output shape; null entries are symbolic.</summary>
    public IReadOnlyList<long?> OutputShape { get; }

    /// <summary>The model's metadata entries.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Class labels from the metadata (<see cref="OnnxExporter.ClassLabelsKey"/>), or null.</summary>
    public IReadOnlyList<string>? ClassLabels { get; }

    /// <summary>Each initializer's ONNX name, its name in this module's state dict, and whether it is trainable.</summary>
    public IReadOnlyList<(string OnnxName, string ModuleName, bool Trainable)> InitializerNames => initializers;

    /// <summary>The module's current tensor (parameter or buffer) for the initializer with ONNX name <paramref name="onnxName"/>.</summary>
    /// <exception cref="ArgumentException">The graph has no initializer of that name.</exception>
    public Tensor Initializer(string onnxName) =>
        moduleNameOf.TryGetValue(onnxName, out var name) ? StateDict()[name]
        : throw new ArgumentException($"OnnxModel: the graph has no initializer \"{onnxName}\".", nameof(onnxName));

    /// <summary>The number of graph nodes.</summary>
    public int NodeCount => nodes.Count;

    internal bool IsInitializer(string onnxName) => moduleNameOf.ContainsKey(onnxName);

    /// <summary>The ONNX data type an initializer was read from (INT8 and INT32 are held widened).</summary>
    internal TensorProto.Types.DataType InitializerType(string onnxName) => typeOf[onnxName];

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The input's dtype (for an Int64 or Bool input), rank or a fixed dimension differs from the declaration, or the graph has several inputs (use <see cref="Run"/>).</exception>
    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (Inputs.Count == 1 && Inputs[0].DType != DType.Float32 && x.DType != Inputs[0].DType)
            throw new ArgumentException($"OnnxModel: input \"{InputName}\" must be {Inputs[0].DType}, got {x.DType}.");
        if (x.Dim != InputShape.Count)
            throw new ArgumentException($"OnnxModel: input \"{InputName}\" must have {InputShape.Count} dimensions [{ShapeText(InputShape)}], got {x.Shape}.");
        for (int i = 0; i < x.Dim; i++)
            if (InputShape[i] is long d && d != x.Shape[i])
                throw new ArgumentException($"OnnxModel: input \"{InputName}\" must have shape [{ShapeText(InputShape)}], got {x.Shape}.");
        if (Inputs.Count > 1)
            throw new ArgumentException($"OnnxModel: the graph has {Inputs.Count} inputs ({string.Join(", ", Inputs.Select(i => i.Name))}); call Run with all of them.");
        return Evaluate(new Dictionary<string, Tensor>(StringComparer.Ordinal) { [InputName] = x })[0];
    }

    static string ShapeText(IReadOnlyList<long?> shape) => string.Join(", ", shape.Select(d => d?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"));

    static long?[] Dims(ValueInfoProto v) =>
        v.Type.TensorType.Shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : (long?)null).ToArray();

    /// <inheritdoc />
    protected override string ExtraRepr() => $"nodes: {nodes.Count}, input: {InputName} [{ShapeText(InputShape)}], output: {OutputName}";
}
