using NeuralCore.Onnx.Protos;

namespace NeuralCore.Onnx;

/// <summary>A graph input or output: its name, element type, declared shape (null for symbolic dimensions) and the names of the symbolic dimensions.</summary>
/// <param name="Name">The value name.</param>
/// <param name="DType">Float32, Int64 or Bool.</param>
/// <param name="Shape">Declared sizes; null where the dimension is symbolic.</param>
/// <param name="DimNames">The symbolic dimensions' names (such as "batch" or "sequence"); null where the size is fixed.</param>
public sealed record OnnxValueSpec(string Name, DType DType, IReadOnlyList<long?> Shape, IReadOnlyList<string?> DimNames);

public sealed partial class OnnxModel
{
    IReadOnlyList<OnnxValueSpec>? inputSpecs, outputSpecs;

    /// <summary>The graph inputs (initializers excluded) in graph order.</summary>
    public IReadOnlyList<OnnxValueSpec> Inputs => inputSpecs ??= [.. Graph.Input.Where(i => !IsInitializer(i.Name)).Select(Spec)];

    /// <summary>The graph outputs in graph order.</summary>
    public IReadOnlyList<OnnxValueSpec> Outputs => outputSpecs ??= [.. Graph.Output.Select(Spec)];

    /// <summary>Runs the graph on every input (in the order of <see cref="Inputs"/>) and returns every output (order of <see cref="Outputs"/>).</summary>
    /// <exception cref="ArgumentException">
    /// The number of inputs differs from the graph's, an input's dtype, rank or fixed size differs from its declaration, or
    /// two inputs give one symbolic dimension (such as "sequence") different sizes.
    /// </exception>
    public Tensor[] Run(params Tensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var specs = Inputs;
        if (inputs.Length != specs.Count)
            throw new ArgumentException($"OnnxModel: the graph takes {specs.Count} input(s) ({string.Join(", ", specs.Select(s => s.Name))}), got {inputs.Length}.");
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        var env = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (int k = 0; k < inputs.Length; k++)
        {
            var (spec, x) = (specs[k], inputs[k] ?? throw new ArgumentException($"OnnxModel: input \"{specs[k].Name}\" is null."));
            string shapeText = string.Join(", ", spec.Shape.Select((d, i) => d?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? spec.DimNames[i] ?? "?"));
            if (x.DType != spec.DType)
                throw new ArgumentException($"OnnxModel: input \"{spec.Name}\" must be {spec.DType}, got {x.DType}.");
            if (x.Dim != spec.Shape.Count)
                throw new ArgumentException($"OnnxModel: input \"{spec.Name}\" must have {spec.Shape.Count} dimensions [{shapeText}], got {x.Shape}.");
            for (int i = 0; i < x.Dim; i++)
            {
                if (spec.Shape[i] is long d && d != x.Shape[i])
                    throw new ArgumentException($"OnnxModel: input \"{spec.Name}\" must have shape [{shapeText}], got {x.Shape}.");
                if (spec.DimNames[i] is { } name && sizes.TryGetValue(name, out long seen) && seen != x.Shape[i])
                    throw new ArgumentException($"OnnxModel: dimension \"{name}\" is {seen} in an earlier input but {x.Shape[i]} in \"{spec.Name}\" {x.Shape}.");
                if (spec.DimNames[i] is { } n) sizes[n] = x.Shape[i];
            }
            env[spec.Name] = x;
        }
        return Evaluate(env);
    }

    /// <summary>Runs every node with <paramref name="env"/> holding the graph inputs; returns the graph outputs.</summary>
    Tensor[] Evaluate(Dictionary<string, Tensor> env)
    {
        var state = StateDict();
        foreach (var (onnx, module, _) in initializers) env[onnx] = state[module];
        foreach (var node in nodes)
        {
            var args = new Tensor?[node.Inputs.Length];
            for (int i = 0; i < args.Length; i++)
                args[i] = node.Inputs[i].Length == 0 ? null : env[node.Inputs[i]];
            var results = node.Run(args);
            for (int i = 0; i < node.Outputs.Length; i++)
                if (node.Outputs[i].Length > 0) env[node.Outputs[i]] = results[i];
        }
        return [.. Graph.Output.Select(o => env[o.Name])];
    }

    static OnnxValueSpec Spec(ValueInfoProto v)
    {
        var tt = v.Type.TensorType;
        var dtype = (TensorProto.Types.DataType)tt.ElemType switch
        {
            TensorProto.Types.DataType.Int64 => DType.Int64,
            TensorProto.Types.DataType.Bool => DType.Bool,
            _ => DType.Float32,
        };
        var dims = tt.Shape.Dim;
        return new(v.Name, dtype,
            [.. dims.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : (long?)null)],
            [.. dims.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam ? d.DimParam : null)]);
    }
}
