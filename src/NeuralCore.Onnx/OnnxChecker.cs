using NeuralCore.Onnx.Protos;

namespace NeuralCore.Onnx;

/// <summary>
/// Structural checks of an ONNX model, after ONNX's checker rules: the IR and default-domain opset are declared,
/// names are unique, every node input is a graph input, an initializer or an earlier node's output (topological
/// order), every output is produced once, and the declared inputs are Float, Int64 or Bool tensors and the outputs Float tensors. Shape
/// inference runs the graph (through <see cref="OnnxModel"/>) on zeros at two batch sizes and checks the result
/// against the declared output shape, fixed dimensions equal and symbolic ones following the batch.
/// </summary>
public static class OnnxChecker
{
    /// <summary>Throws when <paramref name="model"/> fails a structural check or its shapes do not infer consistently.</summary>
    /// <exception cref="OnnxFormatException">Lists every problem found.</exception>
    public static void Check(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var problems = Problems(model, forImport: true);
        if (problems.Count > 0) throw new OnnxFormatException(problems);
        var m = new OnnxModel(model);
        foreach (long batch in new long[] { 1, 3 })
        {
            // Symbolic input dimensions: the first input's dimension 0 and every "batch" get the batch size, other names 2.
            var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
            long Size(OnnxValueSpec spec, int i, bool first) =>
                spec.Shape[i] ?? (spec.DimNames[i] is { } name
                    ? sizes.TryGetValue(name, out long s) ? s : sizes[name] = first && i == 0 || name == "batch" ? batch : 2
                    : first && i == 0 ? batch : 1);
            var inputs = m.Inputs.Select((spec, k) => Tensor.Zeros([.. spec.Shape.Select((_, i) => Size(spec, i, k == 0))], spec.DType)).ToArray();
            Tensor[] ys;
            using (Tensor.NoGrad()) ys = m.Run(inputs);
            for (int o = 0; o < ys.Length; o++)
            {
                var (y, declared) = (ys[o], m.Outputs[o]);
                if (y.Dim != declared.Shape.Count)
                {
                    problems.Add($"output \"{declared.Name}\": inferred rank {y.Dim} ({y.Shape}) at batch {batch}, declared {declared.Shape.Count}");
                    continue;
                }
                for (int i = 0; i < y.Dim; i++)
                {
                    long expected = declared.Shape[i] ?? (declared.DimNames[i] is { } name && sizes.TryGetValue(name, out long s) ? s
                        : i == 0 && m.Inputs[0].Shape[0] is null ? batch : y.Shape[i]);
                    if (y.Shape[i] != expected)
                        problems.Add($"output \"{declared.Name}\": inferred {y.Shape} at batch {batch}, declared dimension {i} is {declared.Shape[i]?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? declared.DimNames[i] ?? "the batch"}");
                }
            }
        }
        if (problems.Count > 0) throw new OnnxFormatException(problems);
    }

    /// <summary>The structural problems of <paramref name="model"/> (empty when there are none).</summary>
    /// <param name="model">The model.</param>
    /// <param name="forImport">Also require what <see cref="OnnxModel"/> needs: a supported opset, operators and attributes, at least one input.</param>
    public static List<string> Problems(ModelProto model, bool forImport)
    {
        ArgumentNullException.ThrowIfNull(model);
        var problems = new List<string>();
        if (model.IrVersion < 3) problems.Add($"ir_version {model.IrVersion} is below 3 (opset imports need IR 3 or later)");
        var defaultOpset = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").ToList();
        if (defaultOpset.Count != 1) problems.Add($"the default domain must be imported exactly once, found {defaultOpset.Count} imports");
        else if (forImport && (defaultOpset[0].Version < OnnxOpset.MinImportVersion || defaultOpset[0].Version > OnnxOpset.MaxImportVersion))
            problems.Add($"default-domain opset {defaultOpset[0].Version} is outside the supported {OnnxOpset.MinImportVersion}–{OnnxOpset.MaxImportVersion}");
        var g = model.Graph;
        if (g is null)
        {
            problems.Add("the model has no graph");
            return problems;
        }
        var defined = new HashSet<string>(StringComparer.Ordinal);
        foreach (var init in g.Initializer)
            if (!defined.Add(init.Name)) problems.Add($"initializer \"{init.Name}\" is defined twice");
        var realInputs = new List<ValueInfoProto>();
        foreach (var input in g.Input)
        {
            if (defined.Contains(input.Name) && g.Initializer.Any(t => t.Name == input.Name)) continue;
            realInputs.Add(input);
            if (!defined.Add(input.Name)) problems.Add($"graph input \"{input.Name}\" is defined twice");
            CheckFloatTensor(input, "graph input", problems);
        }
        if (forImport && realInputs.Count < 1) problems.Add("the graph has no (non-initializer) input");
        int index = 0;
        foreach (var node in g.Node)
        {
            string where = $"node {index++} \"{node.Name}\" ({node.OpType})";
            if (string.IsNullOrEmpty(node.OpType)) problems.Add($"{where}: empty op_type");
            foreach (var input in node.Input)
                if (input.Length > 0 && !defined.Contains(input))
                    problems.Add($"{where}: input \"{input}\" is not defined by a graph input, an initializer or an earlier node");
            foreach (var output in node.Output)
                if (output.Length > 0 && !defined.Add(output))
                    problems.Add($"{where}: output \"{output}\" is already defined");
            if (forImport) problems.AddRange(OnnxOps.Problems(node));
        }
        if (g.Output.Count == 0) problems.Add("the graph has no output");
        foreach (var output in g.Output)
        {
            if (!defined.Contains(output.Name)) problems.Add($"graph output \"{output.Name}\" is not produced by any node, input or initializer");
            CheckFloatTensor(output, "graph output", problems);
        }
        return problems;
    }

    static void CheckFloatTensor(ValueInfoProto v, string what, List<string> problems)
    {
        bool input = what == "graph input";
        if (v.Type?.TensorType is not { } tt) { problems.Add($"{what} \"{v.Name}\" has no tensor type"); return; }
        if (input && tt.ElemType is not ((int)TensorProto.Types.DataType.Float or (int)TensorProto.Types.DataType.Int64 or (int)TensorProto.Types.DataType.Bool))
            problems.Add($"{what} \"{v.Name}\" has element type {(TensorProto.Types.DataType)tt.ElemType}; FLOAT, INT64 (indices) or BOOL (masks) is required");
        else if (!input && tt.ElemType != (int)TensorProto.Types.DataType.Float)
            problems.Add($"{what} \"{v.Name}\" has element type {(TensorProto.Types.DataType)tt.ElemType}; FLOAT is required");
        if (tt.Shape is null) problems.Add($"{what} \"{v.Name}\" has no shape");
        else
            foreach (var d in tt.Shape.Dim)
                if (d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue < 0)
                    problems.Add($"{what} \"{v.Name}\" has a negative dimension {d.DimValue}");
                else if (d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.None)
                    problems.Add($"{what} \"{v.Name}\" has a dimension with neither a size nor a name");
    }
}
