using NeuralCore.Onnx.Protos;

namespace NeuralCore.Onnx;

public static partial class OnnxExporter
{
    internal sealed partial class ExportContext
    {
        /// <summary>
        /// Writes an imported model's nodes again: the graph input becomes <paramref name="x"/>, initializers keep
        /// their ONNX names (prefixed by the module path when nested) with the module's current values, other values
        /// get fresh names. Export → import → export therefore gives the same graph.
        /// </summary>
        Value EmitOnnxModel(OnnxModel m, string path, Value x)
        {
            if (m.Inputs.Count > 1 || m.Outputs.Count > 1)
            {
                Unsupported.Add($"imported model at {Where(path, m)}: it has {m.Inputs.Count} inputs and {m.Outputs.Count} outputs; only single-input, single-output graphs are written again");
                return x;
            }
            string prefix = path.Length == 0 ? "" : path + ".";
            var rename = new Dictionary<string, string>(StringComparer.Ordinal) { [m.InputName] = x.Name };
            string Resolve(string name)
            {
                if (name.Length == 0) return "";
                if (rename.TryGetValue(name, out var r)) return r;
                if (!m.IsInitializer(name)) throw new InvalidOperationException($"ONNX export: value \"{name}\" of {Where(path, m)} is used before it is defined.");
                return rename[name] = Builder.Initializer(m.Initializer(name), prefix + name, m.InitializerType(name));
            }
            foreach (var node in m.Graph.Node)
            {
                string[] inputs = node.Input.Select(Resolve).ToArray();
                string[] outputs = node.Output.Select(o => o.Length == 0 ? "" : rename[o] = Builder.Fresh(prefix + o)).ToArray();
                var copy = Builder.AddNode(node.OpType, inputs, outputs, [.. node.Attribute.Select(at => at.Clone())]);
                copy.Domain = node.Domain;
            }
            Tensor y;
            using (Tensor.NoGrad()) y = m.Forward(x.Sample);
            return new(Resolve(m.OutputName), y);
        }
    }
}
