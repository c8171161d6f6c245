using System.Globalization;
using System.Text;

namespace NeuralCore.Nn;

public abstract partial class Module
{
    /// <summary>
    /// A Keras-style table of layers, output shapes and parameter counts, computed by running one forward pass
    /// on zeros of <paramref name="inputShape"/> (batch dimension included) without recording gradients.
    /// For a <see cref="Sequential"/> every layer gets its output shape; for other modules the rows list the
    /// direct children with their parameter counts and the model's output shape closes the table.
    /// Layers that infer their input size (<see cref="Dense"/>) are built by this call.
    /// </summary>
    public string Summary(params long[] inputShape)
    {
        var rows = new List<(string Layer, string Output, long Params)>();
        var device = Parameters().FirstOrDefault()?.Device ?? Device.Cpu;
        Shape outputShape;
        bool wasTraining = IsTraining;
        Eval();
        try
        {
            using (Tensor.NoGrad())
            {
                var x = Tensor.Zeros(inputShape, DType.Float32, device);
                if (this is Sequential seq)
                {
                    int i = 0;
                    foreach (var layer in seq)
                    {
                        x = layer.Forward(x);
                        rows.Add(($"{i++} ({layer.GetType().Name})", x.Shape.ToString(), layer.ParameterCount));
                    }
                }
                else
                {
                    x = Forward(x);
                    foreach (var (name, child) in children)
                        rows.Add(($"{name} ({child.GetType().Name})", "", child.ParameterCount));
                }
                outputShape = x.Shape;
            }
        }
        finally
        {
            Train(wasTraining);
        }

        var ci = CultureInfo.InvariantCulture;
        int w0 = Math.Max(16, rows.Count == 0 ? 0 : rows.Max(r => r.Layer.Length)) + 2;
        int w1 = Math.Max(14, rows.Count == 0 ? 0 : rows.Max(r => r.Output.Length)) + 2;
        var line = new string('─', w0 + w1 + 12);
        var sb = new StringBuilder();
        sb.AppendLine($"Model: {GetType().Name}").AppendLine(line);
        sb.Append("Layer (type)".PadRight(w0)).Append("Output shape".PadRight(w1)).AppendLine("Param #".PadLeft(12)).AppendLine(line);
        foreach (var (layer, output, count) in rows)
            sb.Append(layer.PadRight(w0)).Append(output.PadRight(w1)).AppendLine(count.ToString("N0", ci).PadLeft(12));
        sb.AppendLine(line);
        sb.AppendLine($"Input shape: {ShapeMath.Format(inputShape)}   Output shape: {outputShape}");
        sb.AppendLine($"Trainable params: {ParameterCount.ToString("N0", ci)}");
        sb.Append($"Buffers: {NamedBuffers().Sum(b => b.Buffer.NumElements).ToString("N0", ci)}");
        return sb.ToString();
    }
}
