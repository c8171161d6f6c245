using System.Globalization;
using System.Text;
using NeuralCore.Nn;

namespace NeuralCore.Compression.Pruning;

/// <summary>The zeros in one layer's weight.</summary>
/// <param name="Name">The layer's dotted name.</param>
/// <param name="LayerType">Linear or Conv2d.</param>
/// <param name="Shape">The weight's shape.</param>
/// <param name="Parameters">The weight's element count.</param>
/// <param name="Zeros">How many of them are exactly zero.</param>
public sealed record LayerSparsity(string Name, string LayerType, Shape Shape, long Parameters, long Zeros)
{
    /// <summary>Zeros over parameters.</summary>
    public double Sparsity => Parameters == 0 ? 0 : (double)Zeros / Parameters;
}

/// <summary>
/// The sparsity of a model's Linear and Conv2d weights, layer by layer: exactly-zero entries over all entries
/// (biases and normalization parameters are not counted). <see cref="ToString"/> gives a text table.
/// </summary>
public sealed class SparsityReport
{
    SparsityReport(IReadOnlyList<LayerSparsity> layers) => Layers = layers;

    /// <summary>One row per Linear or Conv2d weight, in module order.</summary>
    public IReadOnlyList<LayerSparsity> Layers { get; }

    /// <summary>Weight elements over all layers.</summary>
    public long Parameters => Layers.Sum(l => l.Parameters);

    /// <summary>Zero weight elements over all layers.</summary>
    public long Zeros => Layers.Sum(l => l.Zeros);

    /// <summary>Zeros over parameters, over all layers.</summary>
    public double Sparsity => Parameters == 0 ? 0 : (double)Zeros / Parameters;

    /// <summary>Counts the zeros in the weights of <paramref name="model"/>'s Linear and Conv2d layers.</summary>
    /// <exception cref="ArgumentException">The model has no such layer.</exception>
    public static SparsityReport Of(Module model)
    {
        var rows = new List<LayerSparsity>();
        using (Tensor.NoGrad())
            foreach (var layer in PrunableLayer.Find(model, operation: nameof(SparsityReport)))
            {
                var w = layer.Weight;
                long zeros = w.Eq(0.0).To(DType.Int64).Sum().Item<long>();
                rows.Add(new LayerSparsity(layer.Name, layer.Layer.GetType().Name, w.Shape, w.NumElements, zeros));
            }
        return new SparsityReport(rows);
    }

    /// <summary>A fixed-width table: layer, type, shape, parameters, zeros, sparsity, then a total row.</summary>
    public override string ToString()
    {
        var inv = CultureInfo.InvariantCulture;
        var rows = Layers.Select(l => new[] { l.Name, l.LayerType, l.Shape.ToString(), l.Parameters.ToString("N0", inv), l.Zeros.ToString("N0", inv), l.Sparsity.ToString("P1", inv) })
            .Append(["total", "", "", Parameters.ToString("N0", inv), Zeros.ToString("N0", inv), Sparsity.ToString("P1", inv)])
            .ToList();
        string[] header = ["layer", "type", "shape", "parameters", "zeros", "sparsity"];
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Max(r => r[i].Length))).ToArray();
        var sb = new StringBuilder();
        void Line(string[] cells)
        {
            for (int i = 0; i < cells.Length; i++)
                sb.Append(i < 3 ? cells[i].PadRight(widths[i]) : cells[i].PadLeft(widths[i])).Append(i + 1 < cells.Length ? "  " : "\n");
        }
        Line(header);
        sb.Append('-', widths.Sum() + 2 * (widths.Length - 1)).Append('\n');
        foreach (var r in rows) Line(r);
        return sb.ToString();
    }
}
