using NeuralCore.Onnx.Protos;

namespace NeuralCore.Onnx;

/// <summary>
/// The operators of sequence models and of the shape arithmetic exporters write around them: Shape, Cast, Range,
/// comparisons, Not, Where, IsNaN and ConstantOfShape; integer Div and Gather with index tensors of any rank.
/// </summary>
internal static partial class OnnxOps
{
    /// <summary>The kernel of a sequence-model operator, or null when <paramref name="node"/> is another operator.</summary>
    static Func<Tensor?[], Tensor>? SequenceOp(Attrs a, NodeProto node, string[] ins)
    {
        int needed = node.OpType switch
        {
            "Where" or "Range" => 3,
            "Greater" or "Less" or "Equal" or "GreaterOrEqual" or "LessOrEqual" => 2,
            "Shape" or "Cast" or "Not" or "IsNaN" or "ConstantOfShape" => 1,
            _ => -1,
        };
        if (needed < 0) return null;
        if (ins.Length < needed || ins.Take(needed).Any(string.IsNullOrEmpty)) throw a.Fail($"needs {needed} inputs, got {ins.Length}");
        switch (node.OpType)
        {
            case "Shape": return ShapeOf(a);
            case "Cast": return Cast(a);
            case "Range": return Range(a);
            case "Where":
                a.Only();
                return t => Tensor.Where(t[0]!.DType == DType.Bool ? t[0]! : throw new ArgumentException($"{a.Where}: the condition must be Bool, got {t[0]!.DType}."), t[1]!, t[2]!);
            case "IsNaN":
                a.Only("detect_negative", "detect_positive");
                return t => t[0]!.Ne(t[0]!);
            case "Not":
                a.Only();
                return t => t[0]!.LogicalNot();
            case "ConstantOfShape": return ConstantOfShape(a);
            default:
                a.Only();
                return node.OpType switch
                {
                    "Greater" => t => t[0]!.Gt(t[1]!),
                    "Less" => t => t[0]!.Lt(t[1]!),
                    "Equal" => t => t[0]!.Eq(t[1]!),
                    "GreaterOrEqual" => t => t[0]!.Ge(t[1]!),
                    _ => t => t[0]!.Le(t[1]!),
                };
        }
    }

    /// <summary>Div; on two integer tensors it truncates toward zero, as ONNX specifies (shape arithmetic).</summary>
    static Tensor Divide(Tensor x, Tensor y)
    {
        if (x.DType.IsFloatingPoint() || y.DType.IsFloatingPoint()) return x / y;
        if (y.To(DType.Int64).To(Device.Cpu).ToArray<long>().Contains(0)) throw new ArgumentException($"ONNX import: integer Div by zero ({x.Shape} by {y.Shape}).");
        var q = x.To(DType.Float64) / y.To(DType.Float64);
        return Tensor.Where(q.Lt(0), q.Neg().Floor().Neg(), q.Floor()).To(x.DType);
    }

    static Func<Tensor?[], Tensor> ShapeOf(Attrs a)
    {
        a.Only("start", "end");
        long start = a.Int("start", 0);
        long? end = a.Has("end") ? a.Int("end", 0) : null;
        return t =>
        {
            long[] dims = t[0]!.Shape.ToArray();
            int r = dims.Length;
            int s = (int)Math.Clamp(start < 0 ? start + r : start, 0, r);
            int e = (int)Math.Clamp(end is long v ? (v < 0 ? v + r : v) : r, 0, r);
            long[] slice = dims[s..Math.Max(s, e)];
            return Tensor.FromArray(slice, slice.Length);
        };
    }

    static DType ElementType(long onnx, Attrs a) => (TensorProto.Types.DataType)onnx switch
    {
        TensorProto.Types.DataType.Float => DType.Float32,
        TensorProto.Types.DataType.Double => DType.Float64,
        TensorProto.Types.DataType.Int64 => DType.Int64,
        TensorProto.Types.DataType.Int32 => DType.Int32,
        TensorProto.Types.DataType.Bool => DType.Bool,
        _ => throw a.Fail($"element type {(TensorProto.Types.DataType)onnx} is not supported (FLOAT, DOUBLE, INT64, INT32, BOOL)"),
    };

    static Func<Tensor?[], Tensor> Cast(Attrs a)
    {
        a.Only("to", "saturate");
        if (!a.Has("to")) throw a.Fail("needs the \"to\" attribute");
        var to = ElementType(a.Int("to", 0), a);
        return t => t[0]!.DType == to ? t[0]! : t[0]!.To(to);
    }

    static Func<Tensor?[], Tensor> Range(Attrs a)
    {
        a.Only();
        return t =>
        {
            var (start, limit, delta) = (t[0]!, t[1]!, t[2]!);
            if (start.NumElements != 1 || limit.NumElements != 1 || delta.NumElements != 1)
                throw new ArgumentException($"{a.Where}: start, limit and delta must be scalars, got {start.Shape}, {limit.Shape}, {delta.Shape}.");
            double s = start.To(DType.Float64).Item<double>(), l = limit.To(DType.Float64).Item<double>(), d = delta.To(DType.Float64).Item<double>();
            if (d == 0 || !double.IsFinite(s) || !double.IsFinite(l) || !double.IsFinite(d))
                throw new ArgumentException($"{a.Where}: Range({s}, {l}, {d}) needs finite values and a non-zero delta.");
            double count = Math.Max(0, Math.Ceiling((l - s) / d));
            if (count > OnnxTensors.MaxElements) throw new ArgumentException($"{a.Where}: Range({s}, {l}, {d}) has more than {OnnxTensors.MaxElements} elements.");
            var values = new double[(long)count];
            for (long i = 0; i < values.LongLength; i++) values[i] = s + i * d;
            return Tensor.FromArray(values, values.LongLength).To(start.DType);
        };
    }

    static Func<Tensor?[], Tensor> ConstantOfShape(Attrs a)
    {
        a.Only("value");
        Tensor fill = a.Get("value")?.T is { } proto ? OnnxTensors.FromProto(proto) : Tensor.Scalar(0f);
        if (fill.NumElements != 1) throw a.Fail($"value must hold one element, got {fill.Shape}");
        double v = fill.To(DType.Float64).Item<double>();
        return t =>
        {
            long[] shape = Longs(t[0]!, a, "shape");
            double total = 1;
            foreach (long d in shape)
            {
                if (d < 0) throw new ArgumentException($"{a.Where}: negative dimension in shape [{string.Join(", ", shape)}].");
                total *= d;
            }
            if (total > OnnxTensors.MaxElements) throw new ArgumentException($"{a.Where}: shape [{string.Join(", ", shape)}] has more than {OnnxTensors.MaxElements} elements.");
            return Tensor.Full(shape, v, fill.DType);
        };
    }

    /// <summary>Gather along an axis with Int64 or Int32 indices of any rank (negative ones count from the end).</summary>
    static Func<Tensor?[], Tensor> Gather(Attrs a)
    {
        a.Only("axis");
        long axis = a.Int("axis", 0);
        return t =>
        {
            var x = t[0]!;
            var indices = t[1]!;
            if (indices.DType is not (DType.Int64 or DType.Int32)) throw new ArgumentException($"{a.Where}: indices must be Int64 or Int32, got {indices.DType}.");
            int d = Axis(axis, x.Dim, a);
            long size = x.Shape[d];
            var idx = indices.To(DType.Int64).To(Device.Cpu).Contiguous().ToArray<long>();
            for (int i = 0; i < idx.Length; i++)
            {
                if (idx[i] < -size || idx[i] >= size) throw new ArgumentException($"{a.Where}: index {idx[i]} is out of range for dimension {d} of {x.Shape}.");
                if (idx[i] < 0) idx[i] += size;
            }
            if (indices.Dim == 0) return x.Select(d, idx[0]);
            var rows = x.IndexSelect(d, Tensor.FromArray(idx, idx.Length).To(x.Device));
            long[] shape = [.. x.Shape.ToArray()[..d], .. indices.Shape.ToArray(), .. x.Shape.ToArray()[(d + 1)..]];
            return rows.Reshape(shape);
        };
    }
}
