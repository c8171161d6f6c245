using System.Globalization;
using System.Text;

namespace NeuralCore;

public sealed partial class Tensor
{
    const int SummarizeThreshold = 1000;
    const int EdgeItems = 3;

    /// <summary>
    /// Prints the values as PyTorch does: <c>tensor([[1.0000, 2.5000], ...])</c>, with "..." for tensors of more
    /// than 1000 elements, and the dtype, device and grad function when they are not the defaults.
    /// </summary>
    public override string ToString()
    {
        if (disposed || storage.IsReleased) return "tensor(<disposed>)";
        var values = ToArray<double>();
        bool summarize = values.Length > SummarizeThreshold;
        var format = ElementFormat(values, summarize);
        var sb = new StringBuilder("tensor(");
        if (values.Length == 0) sb.Append("[]");
        else AppendDim(sb, values, 0, 0, format, summarize, "tensor(".Length);
        if (values.Length == 0 && Dim > 1) sb.Append(", size=").Append(Shape);
        if (DType is not (DType.Float32 or DType.Int64 or DType.Bool)) sb.Append(", dtype=").Append(DType);
        if (!Device.IsCpu) sb.Append(", device=").Append(Device);
        if (GradFn is not null) sb.Append(", grad_fn=<").Append(GradFnName).Append('>');
        else if (RequiresGrad) sb.Append(", requires_grad=True");
        return sb.Append(')').ToString();
    }

    void AppendDim(StringBuilder sb, double[] values, int dim, int flatStart, Func<double, string> format, bool summarize, int indent)
    {
        if (Dim == 0)
        {
            sb.Append(format(values[0]).Trim());
            return;
        }
        int size = shape[dim];
        int inner = 1;
        for (int i = dim + 1; i < Dim; i++) inner *= shape[i];
        sb.Append('[');
        bool skip = summarize && size > 2 * EdgeItems;
        for (int i = 0; i < size; i++)
        {
            if (skip && i == EdgeItems)
            {
                if (dim == Dim - 1) sb.Append(" ..., ");
                else sb.Append("...,").Append('\n', Dim - dim - 1).Append(' ', indent + dim + 1);
                i = size - EdgeItems - 1;
                continue;
            }
            if (dim == Dim - 1) sb.Append(format(values[flatStart + i]));
            else AppendDim(sb, values, dim + 1, flatStart + i * inner, format, summarize, indent);
            if (i < size - 1)
            {
                sb.Append(',');
                if (dim == Dim - 1) sb.Append(' ');
                else sb.Append('\n', Dim - dim - 1).Append(' ', indent + dim + 1);
            }
        }
        sb.Append(']');
    }

    // The elements the printout shows (all of them, or the edge items of every dimension when summarized):
    // PyTorch sizes and chooses the number format from these alone.
    void CollectShown(double[] values, int dim, int flatStart, bool summarize, List<double> shown)
    {
        if (Dim == 0)
        {
            shown.Add(values[0]);
            return;
        }
        int size = shape[dim], inner = 1;
        for (int i = dim + 1; i < Dim; i++) inner *= shape[i];
        bool skip = summarize && size > 2 * EdgeItems;
        for (int i = 0; i < size; i++)
        {
            if (skip && i == EdgeItems) i = size - EdgeItems;
            if (dim == Dim - 1) shown.Add(values[flatStart + i]);
            else CollectShown(values, dim + 1, flatStart + i * inner, summarize, shown);
        }
    }

    // PyTorch's _Formatter: integral floats print as "1.", fractions with 4 decimals, and scientific notation
    // when the non-zero finite magnitudes span more than 1000x, exceed 1e8, or (fractions) go below 1e-4.
    // Widths come from the non-zero finite values; nan and inf are padded to that width.
    Func<double, string> ElementFormat(double[] values, bool summarize)
    {
        var ci = CultureInfo.InvariantCulture;
        if (DType == DType.Bool) return v => v != 0 ? " True" : "False";
        var shown = new List<double>();
        if (values.Length > 0) CollectShown(values, 0, 0, summarize, shown);
        if (!DType.IsFloatingPoint())
        {
            int width = 1;
            foreach (var v in shown) width = Math.Max(width, ((long)v).ToString(ci).Length);
            return v => ((long)v).ToString(ci).PadLeft(width);
        }
        double maxAbs = 0, minAbs = double.PositiveInfinity;
        bool intMode = true;
        foreach (var v in shown)
        {
            if (!double.IsFinite(v) || v == 0) continue;
            double a = Math.Abs(v);
            maxAbs = Math.Max(maxAbs, a);
            minAbs = Math.Min(minAbs, a);
            intMode &= v == Math.Floor(v);
        }
        bool any = maxAbs > 0;
        bool sci = any && (maxAbs / minAbs > 1000 || maxAbs > 1e8 || (!intMode && minAbs < 1e-4));
        Func<double, string> body = sci ? v => Special(v) ?? v.ToString("0.0000e+00", ci)
            : intMode ? v => Special(v) ?? v.ToString("F0", ci) + "."
            : v => Special(v) ?? v.ToString("F4", ci);
        int w = 1;
        foreach (var v in shown)
            if (double.IsFinite(v) && v != 0) w = Math.Max(w, body(v).Length);
        return v => body(v).PadLeft(w);
    }

    static string? Special(double v) =>
        double.IsNaN(v) ? "nan" : double.IsPositiveInfinity(v) ? "inf" : double.IsNegativeInfinity(v) ? "-inf" : null;
}
