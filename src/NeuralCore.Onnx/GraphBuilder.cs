using System.Globalization;
using NeuralCore.Onnx.Protos;

namespace NeuralCore.Onnx;

/// <summary>Accumulates nodes and initializers of one ONNX graph with unique value names.</summary>
internal sealed class GraphBuilder
{
    readonly HashSet<string> names = new(StringComparer.Ordinal);
    readonly Dictionary<Tensor, string> initializerOf = new(ReferenceEqualityComparer.Instance);
    readonly Dictionary<string, string> int64Constants = new(StringComparer.Ordinal);
    int nodeCount;

    public GraphProto Graph { get; } = new();

    /// <summary>A name not used yet, based on <paramref name="stem"/>.</summary>
    public string Fresh(string stem)
    {
        if (names.Add(stem)) return stem;
        for (int i = 1; ; i++)
        {
            string candidate = string.Create(CultureInfo.InvariantCulture, $"{stem}_{i}");
            if (names.Add(candidate)) return candidate;
        }
    }

    /// <summary>Reserves an exact name (graph input or output).</summary>
    public void Reserve(string name)
    {
        if (!names.Add(name)) throw new ArgumentException($"ONNX export: the value name \"{name}\" is used twice.");
    }

    /// <summary>Adds a tensor as an initializer once (by reference) and returns its name; <paramref name="imported"/> keeps an imported ONNX type.</summary>
    public string Initializer(Tensor tensor, string stem, TensorProto.Types.DataType? imported = null)
    {
        if (initializerOf.TryGetValue(tensor, out var existing)) return existing;
        string name = Fresh(stem);
        Graph.Initializer.Add(imported is { } type ? OnnxTensors.ToProto(tensor, name, type) : OnnxTensors.ToProto(tensor, name));
        initializerOf[tensor] = name;
        return name;
    }

    /// <summary>A new initializer made from a computed tensor (not shared).</summary>
    public string Constant(Tensor tensor, string stem)
    {
        string name = Fresh(stem);
        Graph.Initializer.Add(OnnxTensors.ToProto(tensor, name));
        return name;
    }

    /// <summary>An Int64 vector initializer (shapes, axes), shared between nodes asking for the same values.</summary>
    public string Int64(string stem, params long[] values)
    {
        string key = string.Join(",", values);
        if (int64Constants.TryGetValue(key, out var existing)) return existing;
        string name = Fresh(stem);
        Graph.Initializer.Add(OnnxTensors.Int64Vector(name, values));
        int64Constants[key] = name;
        return name;
    }

    /// <summary>Adds a node with one fresh output named after <paramref name="stem"/>; returns the output name.</summary>
    public string Node(string opType, string stem, string[] inputs, params AttributeProto[] attributes)
    {
        string output = Fresh(stem);
        AddNode(opType, inputs, [output], attributes);
        return output;
    }

    /// <summary>Adds a node with the given outputs.</summary>
    public NodeProto AddNode(string opType, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = string.Create(CultureInfo.InvariantCulture, $"{opType}_{nodeCount++}") };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return node;
    }

    /// <summary>Renames value <paramref name="from"/> to <paramref name="to"/> wherever a node produces or uses it.</summary>
    public void Rename(string from, string to)
    {
        foreach (var node in Graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++) if (node.Input[i] == from) node.Input[i] = to;
            for (int i = 0; i < node.Output.Count; i++) if (node.Output[i] == from) node.Output[i] = to;
        }
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, double value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = (float)value };

    public static AttributeProto Str(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8(value) };

    public static AttributeProto Strs(string name, params string[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Strings };
        a.Strings.AddRange(values.Select(Google.Protobuf.ByteString.CopyFromUtf8));
        return a;
    }

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }
}
