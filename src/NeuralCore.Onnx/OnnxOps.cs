using NeuralCore.Nn;
using NeuralCore.Onnx.Protos;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Onnx;

/// <summary>One imported node: its input names ("" for an omitted optional input), output names ("" for an unused optional output) and kernel.</summary>
internal sealed record CompiledNode(string[] Inputs, string[] Outputs, Func<Tensor?[], Tensor[]> Run);

/// <summary>ONNX operator semantics on NeuralCore tensors; attributes are checked when a node is compiled.</summary>
internal static partial class OnnxOps
{
    public static readonly HashSet<string> Supported =
    [
        "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Neg", "Abs", "Exp", "Log", "Sqrt", "Reciprocal",
        "Tanh", "Sigmoid", "Relu", "Erf", "Sin", "Cos", "Softplus", "LeakyRelu", "Elu", "Selu", "Identity", "Dropout", "Conv",
        "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization", "LayerNormalization", "Flatten", "Reshape",
        "Transpose", "Concat", "Softmax", "LogSoftmax", "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "Expand",
        "Slice", "Gather", "Squeeze", "Unsqueeze", "Constant", "Pad", "LSTM", "GRU", "RNN",
        "Shape", "Cast", "Range", "Where", "IsNaN", "Not", "Greater", "Less", "Equal", "GreaterOrEqual", "LessOrEqual", "ConstantOfShape",
        "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger",
    ];

    /// <summary>The recurrent operators; their inputs W, R and B (1 to 3) are weights.</summary>
    public static readonly HashSet<string> RecurrentOps = ["LSTM", "GRU", "RNN"];

    /// <summary>The problems that keep <paramref name="node"/> from being imported (empty when it can be).</summary>
    public static IEnumerable<string> Problems(NodeProto node)
    {
        string where = $"node \"{node.Name}\" ({node.OpType})";
        if (node.Domain is not ("" or "ai.onnx")) { yield return $"{where}: domain \"{node.Domain}\" is not supported"; yield break; }
        if (!Supported.Contains(node.OpType)) { yield return $"{where}: operator {node.OpType} is not supported"; yield break; }
        string? problem = null;
        try { Compile(node); }
        catch (OnnxFormatException e) { problem = e.Message; }
        if (problem is not null) yield return problem;
    }

    public static CompiledNode Compile(NodeProto node)
    {
        var a = new Attrs(node);
        string[] ins = [.. node.Input];
        if (node.Output.Count < 1) throw a.Fail("has no output");
        if (QuantizedOps.Contains(node.OpType)) return CompileQuantized(node, a, ins);
        int needed = node.OpType switch
        {
            "Gemm" or "MatMul" or "Add" or "Sub" or "Mul" or "Div" or "Pow" or "Reshape" or "Expand" or "Gather" or "Unsqueeze" => 2,
            "Conv" => 2,
            "BatchNormalization" => 5,
            "LayerNormalization" => 2,
            "Slice" => 3,
            "Constant" => 0,
            "Pad" => 2,
            "LSTM" or "GRU" or "RNN" => 3,
            _ => 1,
        };
        if (ins.Length < needed || ins.Take(needed).Any(string.IsNullOrEmpty))
            throw a.Fail($"needs at least {needed} inputs, got {ins.Length}");
        if (node.OpType == "Dropout" && node.Output.Count > 1 && node.Output[1].Length > 0) throw a.Fail("the mask output is not supported");
        if (node.Output[0].Length == 0 && !RecurrentOps.Contains(node.OpType)) throw a.Fail("has an empty first output");
        if (RecurrentOps.Contains(node.OpType))
        {
            int most = node.OpType == "LSTM" ? 3 : 2;
            if (node.Output.Count > most) throw a.Fail($"has {node.Output.Count} outputs; {node.OpType} has at most {most} (Y, Y_h{(most == 3 ? ", Y_c" : "")})");
            return new CompiledNode(ins, [.. node.Output], RecurrentOp(a, node.OpType, ins));
        }
        if (node.OpType is not ("Dropout" or "BatchNormalization" or "LayerNormalization" or "LSTM" or "GRU" or "RNN") && node.Output.Count > 1)
            throw a.Fail($"has {node.Output.Count} outputs; one is supported");
        if (node.OpType is "BatchNormalization" or "LayerNormalization" && node.Output.Skip(1).Any(o => o.Length > 0))
            throw a.Fail("only the first output (inference) is supported");
        Func<Tensor?[], Tensor> run = node.OpType switch
        {
            "Gemm" => Gemm(a),
            "MatMul" => t => t[0]!.MatMul(t[1]!),
            "Add" => t => t[0]! + t[1]!,
            "Sub" => t => t[0]! - t[1]!,
            "Mul" => t => t[0]! * t[1]!,
            "Div" => t => Divide(t[0]!, t[1]!),
            "Pow" => t => t[0]!.Pow(t[1]!),
            "Max" => Variadic(ins, a, (x, y) => x.Maximum(y)),
            "Min" => Variadic(ins, a, (x, y) => x.Minimum(y)),
            "Neg" => t => t[0]!.Neg(),
            "Abs" => t => t[0]!.Abs(),
            "Exp" => t => t[0]!.Exp(),
            "Log" => t => t[0]!.Log(),
            "Sqrt" => t => t[0]!.Sqrt(),
            "Reciprocal" => t => t[0]!.Reciprocal(),
            "Tanh" => t => t[0]!.Tanh(),
            "Sigmoid" => t => t[0]!.Sigmoid(),
            "Relu" => t => t[0]!.Relu(),
            "Erf" => t => t[0]!.Erf(),
            "Sin" => t => t[0]!.Sin(),
            "Cos" => t => t[0]!.Cos(),
            "Softplus" => t => t[0]!.Softplus(),
            "LeakyRelu" => LeakyRelu(a),
            "Elu" => Elu(a),
            "Selu" => Selu(a),
            "Identity" or "Dropout" => t => t[0]!,
            "Conv" => Conv(a),
            "MaxPool" or "AveragePool" => Pool(a, node.OpType == "MaxPool"),
            "GlobalAveragePool" => t => GlobalAverage(t[0]!, a),
            "BatchNormalization" => BatchNorm(a),
            "LayerNormalization" => LayerNorm(a),
            "Flatten" => Flatten(a),
            "Reshape" => Reshape(a),
            "Transpose" => Transpose(a),
            "Concat" => Concat(a),
            "Softmax" => Softmax(a, log: false),
            "LogSoftmax" => Softmax(a, log: true),
            "ReduceSum" => Reduce(a, ins, "sum"),
            "ReduceMean" => Reduce(a, ins, "mean"),
            "ReduceMax" => Reduce(a, ins, "max"),
            "ReduceMin" => Reduce(a, ins, "min"),
            "Expand" => t => Expand(t[0]!, Longs(t[1]!, a, "shape"), a),
            "Slice" => Slice(a, ins),
            "Gather" => Gather(a),
            "Squeeze" => Squeeze(a, ins),
            "Unsqueeze" => Unsqueeze(a),
            "Constant" => Constant(a, node),
            "Pad" => Pad(a, ins),
            _ => SequenceOp(a, node, ins) ?? throw a.Fail("is not supported"),
        };
        return new CompiledNode(ins, [node.Output[0]], t => [run(t)]);
    }

    sealed class Attrs(NodeProto node)
    {
        readonly Dictionary<string, AttributeProto> map = node.Attribute.GroupBy(x => x.Name).ToDictionary(g => g.Key, g => g.Last());

        public string Where => $"node \"{node.Name}\" ({node.OpType})";

        public OnnxFormatException Fail(string why) => new($"ONNX import: {Where} {why}.");

        public long Int(string name, long fallback) => map.TryGetValue(name, out var v) ? v.I : fallback;

        public float Float(string name, float fallback) => map.TryGetValue(name, out var v) ? v.F : fallback;

        public AttributeProto? Get(string name) => map.GetValueOrDefault(name);

        public long[]? Ints(string name) => map.TryGetValue(name, out var v) ? [.. v.Ints] : null;

        public string? Str(string name) => map.TryGetValue(name, out var v) ? v.S.ToStringUtf8() : null;

        public string[]? Strs(string name) => map.TryGetValue(name, out var v) ? v.Strings.Select(b => b.ToStringUtf8()).ToArray() : null;

        public bool Has(string name) => map.ContainsKey(name);

        public void Only(params string[] allowed)
        {
            foreach (var name in map.Keys)
                if (!allowed.Contains(name)) throw Fail($"has attribute \"{name}\", which is not supported");
        }
    }

    static Func<Tensor?[], Tensor> Variadic(string[] ins, Attrs a, Func<Tensor, Tensor, Tensor> f)
    {
        if (ins.Length < 1) throw a.Fail("needs at least one input");
        return t =>
        {
            var r = t[0]!;
            for (int i = 1; i < t.Length; i++) r = f(r, t[i]!);
            return r;
        };
    }

    static Func<Tensor?[], Tensor> Gemm(Attrs a)
    {
        a.Only("alpha", "beta", "transA", "transB");
        float alpha = a.Float("alpha", 1f), beta = a.Float("beta", 1f);
        bool ta = a.Int("transA", 0) != 0, tb = a.Int("transB", 0) != 0;
        return t =>
        {
            if (t[0]!.Dim != 2 || t[1]!.Dim != 2) throw new ArgumentException($"{a.Where}: Gemm needs 2-d operands, got {t[0]!.Shape} and {t[1]!.Shape}.");
            var A = ta ? t[0]!.Transpose(0, 1) : t[0]!;
            Tensor y;
            if (tb && alpha == 1f && t.Length > 2 && t[2] is { Dim: 1 } bias && beta == 1f) return F.Linear(A, t[1]!, bias);
            if (tb) y = F.Linear(A, t[1]!);
            else y = A.MatMul(t[1]!);
            if (alpha != 1f) y = y * alpha;
            if (t.Length > 2 && t[2] is { } c) y = y + (beta == 1f ? c : c * beta);
            return y;
        };
    }

    static Func<Tensor?[], Tensor> LeakyRelu(Attrs a)
    {
        a.Only("alpha");
        double alpha = a.Float("alpha", 0.01f);
        return t => t[0]!.LeakyRelu(alpha);
    }

    static Func<Tensor?[], Tensor> Selu(Attrs a)
    {
        a.Only("alpha", "gamma");
        double alpha = a.Float("alpha", 1.67326319217681884765625f), gamma = a.Float("gamma", 1.05070102214813232421875f);
        return t => t[0]!.Elu(alpha) * gamma;
    }

    static Func<Tensor?[], Tensor> Elu(Attrs a)
    {
        a.Only("alpha");
        double alpha = a.Float("alpha", 1f);
        return t => t[0]!.Elu(alpha);
    }

    /// <summary>(begin, end) pads per spatial axis must agree: NeuralCore pads symmetrically.</summary>
    static (int H, int W) Pads(Attrs a)
    {
        if (a.Str("auto_pad") is { } autoPad && autoPad != "NOTSET") throw a.Fail($"auto_pad {autoPad} is not supported (use explicit pads)");
        var p = a.Ints("pads") ?? [0, 0, 0, 0];
        if (p.Length != 4) throw a.Fail($"pads must have 4 entries for 2-d, got {p.Length}");
        if (p[0] != p[2] || p[1] != p[3]) throw a.Fail($"asymmetric pads [{string.Join(", ", p)}] are not supported");
        return (Checked(p[0], a, "pads"), Checked(p[1], a, "pads"));
    }

    static (int H, int W) Pair(Attrs a, string name, (int H, int W) fallback)
    {
        var v = a.Ints(name);
        if (v is null) return fallback;
        if (v.Length != 2) throw a.Fail($"{name} must have 2 entries (2-d only), got {v.Length}");
        return (Checked(v[0], a, name), Checked(v[1], a, name));
    }

    static int Checked(long v, Attrs a, string name) =>
        v is >= 0 and <= int.MaxValue ? (int)v : throw a.Fail($"{name} entry {v} is out of range");

    /// <summary>
    /// Conv over 1 or 2 spatial axes. The rank comes from kernel_shape (or the other per-axis attributes) and otherwise
    /// from the weight; pads must be symmetric per axis.
    /// </summary>
    static Func<Tensor?[], Tensor> Conv(Attrs a)
    {
        a.Only("kernel_shape", "strides", "pads", "dilations", "group", "auto_pad");
        if (a.Str("auto_pad") is { } autoPad && autoPad != "NOTSET") throw a.Fail($"auto_pad {autoPad} is not supported (use explicit pads)");
        long[]? kernel = a.Ints("kernel_shape"), strides = a.Ints("strides"), pads = a.Ints("pads"), dilations = a.Ints("dilations");
        int? rank = kernel?.Length ?? strides?.Length ?? dilations?.Length ?? (pads is null ? null : pads.Length / 2);
        if (rank is not (null or 1 or 2)) throw a.Fail($"only 1-d and 2-d convolutions are supported, the attributes give {rank} spatial axes");
        int groups = Checked(a.Int("group", 1), a, "group");
        if (groups < 1) throw a.Fail($"group {groups} must be at least 1");
        if (rank is { } r) PerAxis(a, r, strides, dilations, pads, kernel);
        return t =>
        {
            var w = t[1]!;
            int k = rank ?? w.Dim - 2;
            if (w.Dim != k + 2 || k is not (1 or 2))
                throw new ArgumentException($"{a.Where}: weight {w.Shape} does not fit a {(k is 1 or 2 ? $"{k}-d" : "1-d or 2-d")} convolution.");
            var (s, d, p) = PerAxis(a, k, strides, dilations, pads, kernel);
            if (kernel is not null && !w.Shape.ToArray()[2..].SequenceEqual(kernel))
                throw new ArgumentException($"{a.Where}: weight {w.Shape} does not match kernel_shape [{string.Join(", ", kernel)}].");
            var bias = t.Length > 2 ? t[2] : null;
            return k == 1
                ? F.Conv1d(t[0]!, w, bias, s[0], p[0], d[0], groups)
                : F.Conv2d(t[0]!, w, bias, (s[0], s[1]), (p[0], p[1]), (d[0], d[1]), groups);
        };
    }

    /// <summary>Strides, dilations (default 1) and symmetric pads (default 0) for <paramref name="rank"/> spatial axes.</summary>
    static (int[] Strides, int[] Dilations, int[] Pads) PerAxis(Attrs a, int rank, long[]? strides, long[]? dilations, long[]? pads, long[]? kernel)
    {
        int[] Each(long[]? v, string name, int fallback, int length)
        {
            if (v is null) return Enumerable.Repeat(fallback, rank).ToArray();
            if (v.Length != length) throw a.Fail($"{name} has {v.Length} entries; a {rank}-d convolution needs {length}");
            return v.Select(x => Checked(x, a, name)).ToArray();
        }
        if (kernel is not null && kernel.Length != rank) throw a.Fail($"kernel_shape has {kernel.Length} entries; the weight is {rank}-d");
        var s = Each(strides, "strides", 1, rank);
        var d = Each(dilations, "dilations", 1, rank);
        var p = Each(pads, "pads", 0, 2 * rank);
        for (int i = 0; i < rank; i++)
            if (p[i] != p[i + rank]) throw a.Fail($"asymmetric pads [{string.Join(", ", p)}] are not supported");
        if (s.Any(v => v < 1) || d.Any(v => v < 1)) throw a.Fail("strides and dilations must be positive");
        return (s, d, p[..rank]);
    }

    static Func<Tensor?[], Tensor> Pool(Attrs a, bool max)
    {
        if (max) a.Only("kernel_shape", "strides", "pads", "ceil_mode", "auto_pad", "dilations", "storage_order");
        else a.Only("kernel_shape", "strides", "pads", "ceil_mode", "auto_pad", "count_include_pad");
        var kernel = Pair(a, "kernel_shape", (0, 0));
        if (kernel.H < 1 || kernel.W < 1) throw a.Fail("needs a positive 2-d kernel_shape");
        var strides = Pair(a, "strides", (1, 1));
        var pads = Pads(a);
        if (a.Ints("dilations") is { } d && d.Any(v => v != 1)) throw a.Fail("dilated pooling is not supported");
        if (a.Int("storage_order", 0) != 0) throw a.Fail("storage_order 1 is not supported");
        if (pads.H > kernel.H / 2 || pads.W > kernel.W / 2) throw a.Fail($"pads ({pads.H}, {pads.W}) exceed half the kernel ({kernel.H}, {kernel.W})");
        bool ceil = a.Int("ceil_mode", 0) != 0;
        bool includePad = a.Int("count_include_pad", 0) != 0;
        return max
            ? t => F.MaxPool2d(t[0]!, kernel, strides, pads, ceil)
            : t => F.AvgPool2d(t[0]!, kernel, strides, pads, includePad, ceil);
    }

    static Tensor GlobalAverage(Tensor x, Attrs a)
    {
        if (x.Dim < 3) throw new ArgumentException($"{a.Where}: GlobalAveragePool needs [N, C, spatial...], got {x.Shape}.");
        return x.Mean(Enumerable.Range(2, x.Dim - 2).ToArray(), keepDim: true);
    }

    static Func<Tensor?[], Tensor> BatchNorm(Attrs a)
    {
        a.Only("epsilon", "momentum", "training_mode");
        if (a.Int("training_mode", 0) != 0) throw a.Fail("training_mode 1 is not supported");
        double eps = a.Float("epsilon", 1e-5f);
        return t => F.BatchNorm(t[0]!, t[3], t[4], t[1], t[2], training: false, eps: eps);
    }

    static Func<Tensor?[], Tensor> LayerNorm(Attrs a)
    {
        a.Only("axis", "epsilon", "stash_type");
        long axis = a.Int("axis", -1);
        double eps = a.Float("epsilon", 1e-5f);
        return t =>
        {
            var x = t[0]!;
            int ax = Axis(axis, x.Dim, a);
            long[] shape = x.Shape.ToArray()[ax..];
            return F.LayerNorm(x, shape, t[1], t.Length > 2 ? t[2] : null, eps);
        };
    }

    static int Axis(long axis, int rank, Attrs a, bool inclusiveEnd = false)
    {
        long r = axis < 0 ? axis + rank : axis;
        if (r < 0 || r > rank || (r == rank && !inclusiveEnd)) throw new ArgumentException($"{a.Where}: axis {axis} is out of range for rank {rank}.");
        return (int)r;
    }

    static Func<Tensor?[], Tensor> Flatten(Attrs a)
    {
        a.Only("axis");
        long axis = a.Int("axis", 1);
        return t =>
        {
            var x = t[0]!;
            int ax = Axis(axis, x.Dim, a, inclusiveEnd: true);
            long outer = 1;
            for (int i = 0; i < ax; i++) outer *= x.Shape[i];
            return x.Reshape(outer, outer == 0 ? 0 : x.NumElements / outer);
        };
    }

    static long[] Longs(Tensor t, Attrs a, string what)
    {
        if (t.DType != DType.Int64 || t.Dim > 1) throw new ArgumentException($"{a.Where}: {what} must be a 0-d or 1-d Int64 tensor, got {t.DType} {t.Shape}.");
        return t.To(Device.Cpu).ToArray<long>();
    }

    static Func<Tensor?[], Tensor> Reshape(Attrs a)
    {
        a.Only("allowzero");
        if (a.Int("allowzero", 0) != 0) throw a.Fail("allowzero 1 is not supported");
        return t =>
        {
            var x = t[0]!;
            var target = Longs(t[1]!, a, "shape");
            for (int i = 0; i < target.Length; i++)
            {
                if (target[i] == 0)
                {
                    if (i >= x.Dim) throw new ArgumentException($"{a.Where}: shape entry {i} is 0 (copy) but the input {x.Shape} has no dimension {i}.");
                    target[i] = x.Shape[i];
                }
                else if (target[i] < -1) throw new ArgumentException($"{a.Where}: invalid shape entry {target[i]}.");
            }
            return x.Reshape(target);
        };
    }

    static Func<Tensor?[], Tensor> Transpose(Attrs a)
    {
        a.Only("perm");
        var perm = a.Ints("perm");
        return t =>
        {
            var x = t[0]!;
            int[] p = perm is null ? Enumerable.Range(0, x.Dim).Reverse().ToArray() : perm.Select(v => Axis(v, x.Dim, a)).ToArray();
            return x.Permute(p);
        };
    }

    static Func<Tensor?[], Tensor> Concat(Attrs a)
    {
        a.Only("axis");
        long axis = a.Ints("axis") is null && a.Int("axis", long.MinValue) == long.MinValue ? throw a.Fail("needs the axis attribute") : a.Int("axis", 0);
        return t => Tensor.Cat(t.Select(v => v!), Axis(axis, t[0]!.Dim, a));
    }

    static Func<Tensor?[], Tensor> Softmax(Attrs a, bool log)
    {
        a.Only("axis");
        long axis = a.Int("axis", -1);
        return t => log ? t[0]!.LogSoftmax(Axis(axis, t[0]!.Dim, a)) : t[0]!.Softmax(Axis(axis, t[0]!.Dim, a));
    }

    /// <summary>Reductions: ReduceSum takes axes as input 1 (opset 13); the others as an attribute (opset ≤ 17).</summary>
    static Func<Tensor?[], Tensor> Reduce(Attrs a, string[] ins, string kind)
    {
        a.Only("axes", "keepdims", "noop_with_empty_axes");
        bool keep = a.Int("keepdims", 1) != 0;
        bool noopEmpty = a.Int("noop_with_empty_axes", 0) != 0;
        var attrAxes = a.Ints("axes");
        if (kind == "sum" && attrAxes is not null) throw a.Fail("takes axes as an input in opset 13 and later, not an attribute");
        return t =>
        {
            var x = t[0]!;
            long[]? axes = kind == "sum" ? (ins.Length > 1 && t[1] is { } ax ? Longs(ax, a, "axes") : null) : attrAxes;
            if (axes is null || axes.Length == 0)
            {
                if (noopEmpty) return x;
                axes = Enumerable.Range(0, x.Dim).Select(i => (long)i).ToArray();
            }
            int[] dims = axes.Select(v => Axis(v, x.Dim, a)).Distinct().Order().ToArray();
            switch (kind)
            {
                case "sum": return x.Sum(dims, keep);
                case "mean": return x.Mean(dims, keep);
                default:
                    var r = x;
                    foreach (var d in dims.Reverse()) r = kind == "max" ? r.Max(d, keepDim: keep) : r.Min(d, keepDim: keep);
                    return r;
            }
        };
    }

    static Tensor Expand(Tensor x, long[] shape, Attrs a)
    {
        int rank = Math.Max(x.Dim, shape.Length);
        var target = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long xs = i - (rank - x.Dim) >= 0 ? x.Shape[i - (rank - x.Dim)] : 1;
            long ss = i - (rank - shape.Length) >= 0 ? shape[i - (rank - shape.Length)] : 1;
            if (xs != ss && xs != 1 && ss != 1) throw new ArgumentException($"{a.Where}: cannot expand {x.Shape} to [{string.Join(", ", shape)}].");
            target[i] = xs == 1 ? ss : xs;
        }
        var view = x;
        while (view.Dim < rank) view = view.Unsqueeze(0);
        return view.Expand(target);
    }

    static Func<Tensor?[], Tensor> Slice(Attrs a, string[] ins)
    {
        a.Only();
        return t =>
        {
            var x = t[0]!;
            var starts = Longs(t[1]!, a, "starts");
            var ends = Longs(t[2]!, a, "ends");
            var axes = ins.Length > 3 && t[3] is { } ax ? Longs(ax, a, "axes") : Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
            var steps = ins.Length > 4 && t[4] is { } st ? Longs(st, a, "steps") : null;
            if (starts.Length != ends.Length || axes.Length != starts.Length) throw new ArgumentException($"{a.Where}: starts, ends and axes must have equal lengths.");
            if (steps is not null && steps.Any(s => s != 1)) throw new ArgumentException($"{a.Where}: only step 1 is supported.");
            for (int i = 0; i < axes.Length; i++)
            {
                int d = Axis(axes[i], x.Dim, a);
                long size = x.Shape[d];
                long s = Math.Clamp(starts[i] < 0 ? starts[i] + size : starts[i], 0, size);
                long e = Math.Clamp(ends[i] < 0 ? ends[i] + size : ends[i], 0, size);
                x = x.Narrow(d, s, Math.Max(0, e - s));
            }
            return x;
        };
    }

    static Func<Tensor?[], Tensor> Squeeze(Attrs a, string[] ins)
    {
        a.Only();
        return t =>
        {
            var x = t[0]!;
            if (ins.Length < 2 || t[1] is null) return x.Squeeze();
            foreach (var d in Longs(t[1]!, a, "axes").Select(v => Axis(v, x.Dim, a)).OrderDescending().ToArray()) x = x.Squeeze(d);
            return x;
        };
    }

    static Func<Tensor?[], Tensor> Unsqueeze(Attrs a)
    {
        a.Only();
        return t =>
        {
            var x = t[0]!;
            var axes = Longs(t[1]!, a, "axes");
            int rank = x.Dim + axes.Length;
            foreach (var d in axes.Select(v => Axis(v, rank, a)).Order()) x = x.Unsqueeze(d);
            return x;
        };
    }

    static Func<Tensor?[], Tensor> Constant(Attrs a, NodeProto node)
    {
        a.Only("value", "value_float", "value_floats", "value_int", "value_ints");
        if (node.Attribute.Count != 1) throw a.Fail("needs exactly one value attribute");
        var at = node.Attribute[0];
        Tensor value = at.Name switch
        {
            "value" => OnnxTensors.FromProto(at.T ?? throw a.Fail("has an empty value")),
            "value_float" => Tensor.Scalar(at.F),
            "value_floats" => Tensor.FromArray(at.Floats.ToArray(), at.Floats.Count),
            "value_int" => Tensor.Scalar(at.I, DType.Int64),
            _ => Tensor.FromArray(at.Ints.ToArray(), at.Ints.Count),
        };
        return _ => value;
    }

    /// <summary>Constant-mode Pad with non-negative pads, built from concatenated constant blocks.</summary>
    static Func<Tensor?[], Tensor> Pad(Attrs a, string[] ins)
    {
        a.Only("mode");
        if (a.Str("mode") is { } mode && mode != "constant") throw a.Fail($"mode \"{mode}\" is not supported (constant only)");
        if (ins.Length > 3 && ins[3].Length > 0) throw a.Fail("the axes input is not supported");
        return t =>
        {
            var x = t[0]!;
            var pads = Longs(t[1]!, a, "pads");
            if (pads.Length != 2 * x.Dim) throw new ArgumentException($"{a.Where}: pads has {pads.Length} entries; input {x.Shape} needs {2 * x.Dim}.");
            if (pads.Any(p => p < 0)) throw new ArgumentException($"{a.Where}: negative pads [{string.Join(", ", pads)}] are not supported.");
            double fill = t.Length > 2 && t[2] is { } c ? c.To(DType.Float64).Item<double>() : 0.0;
            double total = 1;
            for (int d = 0; d < x.Dim; d++) total *= x.Shape[d] + pads[d] + pads[d + x.Dim];
            if (total > OnnxTensors.MaxElements)
                throw new ArgumentException($"{a.Where}: padding {x.Shape} by [{string.Join(", ", pads)}] gives more than {OnnxTensors.MaxElements} elements.");
            for (int d = 0; d < x.Dim; d++)
            {
                long before = pads[d], after = pads[d + x.Dim];
                if (before == 0 && after == 0) continue;
                var parts = new List<Tensor>();
                var shape = x.Shape.ToArray();
                if (before > 0) { shape[d] = before; parts.Add(Tensor.Full(shape, fill)); }
                parts.Add(x);
                if (after > 0) { shape[d] = after; parts.Add(Tensor.Full(shape, fill)); }
                x = Tensor.Cat(parts, d);
            }
            return x;
        };
    }
}
