using System.Globalization;
using NeuralCore.Autograd;
using NeuralCore.Autograd.Rules;
using NeuralCore.Nn;
using NeuralCore.Onnx.Protos;
using static NeuralCore.Onnx.GraphBuilder;

namespace NeuralCore.Onnx;

public static partial class OnnxExporter
{
    internal sealed partial class ExportContext
    {
        /// <summary>
        /// Traces a module without a direct mapping: runs its forward pass on the sample with the input recording a
        /// graph, then writes every recorded op in topological order. Parameters and buffers become initializers by
        /// state-dict key; other constants become initializers of their own, except detached maxima of a traced
        /// value (the stabilising shift of Softmax/LogSoftmax/LogSumExp), which become ReduceMax nodes.
        /// </summary>
        Value TraceAutograd(Module m, string path, Value x)
        {
            if (!GradMode.Enabled)
                throw new InvalidOperationException($"ONNX export: tracing {Where(path, m)} records its autograd graph; call Export outside Tensor.NoGrad().");
            var leaf = x.Sample.Detach().RequiresGrad_();
            var y = m.Forward(leaf);
            if (ReferenceEquals(y, leaf)) return x;
            if (y.GradFn is null)
            {
                Unsupported.Add($"custom module at {Where(path, m)}: its output does not depend on its input through recorded ops (detached or computed outside autograd)");
                return x;
            }
            var tracer = new AutogradTracer(this, path, m, leaf, x.Name);
            var secondRun = m.Forward(Tensor.RandnLike(x.Sample).Detach().RequiresGrad_());
            return new(tracer.Emit(y, secondRun), y.Detach());
        }
    }

    sealed class AutogradTracer(ExportContext ctx, string path, Module module, Tensor leaf, string inputName)
    {
        readonly Dictionary<Node, string> nodeNames = new(ReferenceEqualityComparer.Instance);
        readonly Dictionary<Tensor, string> constants = new(ReferenceEqualityComparer.Instance);
        readonly List<(string Name, Tensor Value)> values = [];
        readonly List<Tensor> anonymous = [];
        readonly string stem = path.Length == 0 ? module.GetType().Name.ToLowerInvariant() : path;
        GraphBuilder B => ctx.Builder;

        public string Emit(Tensor output, Tensor secondRun)
        {
            values.Add((inputName, leaf));
            var order = Topological(output, out var outputOf);
            foreach (var node in order) nodeNames[node] = EmitNode(node, outputOf[node]);
            CheckConstantsStable(secondRun);
            return nodeNames[output.GradFn!];
        }

        /// <summary>
        /// Constants that change when the input changes were computed from it outside the recorded graph; the
        /// export would freeze them, so they are reported instead.
        /// </summary>
        void CheckConstantsStable(Tensor secondRun)
        {
            var again = new List<Tensor>();
            var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
            var order = Topological(secondRun, out var outputOf);
            var traced = order.Select(n => outputOf[n]).ToList();
            foreach (var node in order)
                foreach (var t in node.Inputs)
                    if (t.GradFn is null && !t.RequiresGrad && ctx.StateName(t) is null && seen.Add(t)) traced.Add(t);
            seen.Clear();
            foreach (var node in order)
                foreach (var t in node.Inputs)
                    if (t.GradFn is null && !t.RequiresGrad && ctx.StateName(t) is null && seen.Add(t) && !traced.Any(v => ShiftDim(t, v) >= 0))
                        again.Add(t);
            bool stable = again.Count == anonymous.Count;
            for (int i = 0; stable && i < again.Count; i++)
                stable = again[i].Shape == anonymous[i].Shape && again[i].DType == anonymous[i].DType
                    && again[i].To(DType.Float64).Eq(anonymous[i].To(DType.Float64)).All().Item<bool>();
            if (!stable)
                ctx.Unsupported.Add($"custom module at {ExportContext.Where(path, module)}: a value computed from the input was detached from the recorded graph (Detach, NoGrad, ToArray or a data-dependent branch), so the export would freeze it");
        }

        static List<Node> Topological(Tensor output, out Dictionary<Node, Tensor> outputOf)
        {
            var order = new List<Node>();
            outputOf = new Dictionary<Node, Tensor>(ReferenceEqualityComparer.Instance);
            var done = new HashSet<Node>(ReferenceEqualityComparer.Instance);
            var stack = new Stack<(Tensor T, bool Expanded)>();
            stack.Push((output, false));
            while (stack.Count > 0)
            {
                var (t, expanded) = stack.Pop();
                var node = t.GradFn!;
                if (done.Contains(node)) continue;
                if (expanded)
                {
                    done.Add(node);
                    outputOf[node] = t;
                    order.Add(node);
                    continue;
                }
                stack.Push((t, true));
                for (int i = node.Inputs.Length - 1; i >= 0; i--)
                    if (node.Inputs[i].GradFn is { } inner && !done.Contains(inner)) stack.Push((node.Inputs[i], false));
            }
            return order;
        }

        string Name(Tensor t)
        {
            if (t.GradFn is { } node) return nodeNames[node];
            if (ReferenceEquals(t, leaf)) return inputName;
            if (ctx.StateName(t) is not null) return ctx.Param(t, "const");
            if (constants.TryGetValue(t, out var c)) return c;
            string? shift = ShiftOf(t);
            if (shift is null && !t.RequiresGrad) anonymous.Add(t);
            string name = shift ?? B.Constant(t.Detach(), stem + ".const");
            constants[t] = name;
            return name;
        }

        /// <summary>A ReduceMax of a traced value equal to <paramref name="c"/>, when <paramref name="c"/> is one.</summary>
        string? ShiftOf(Tensor c)
        {
            foreach (var (name, v) in values)
                if (ShiftDim(c, v) is var dim and >= 0)
                    return B.Node("ReduceMax", stem + ".max", [name], Ints("axes", dim), Int("keepdims", 1));
            return null;
        }

        /// <summary>The dimension along which <paramref name="c"/> is <paramref name="v"/>'s kept-dimension maximum, or −1.</summary>
        static int ShiftDim(Tensor c, Tensor v)
        {
            if (c.DType != DType.Float32 || v.DType != DType.Float32 || c.Dim == 0 || v.Dim != c.Dim || v.NumElements == 0 || ReferenceEquals(c, v)) return -1;
            int dim = -1;
            for (int i = 0; i < v.Dim; i++)
            {
                if (v.Shape[i] == c.Shape[i]) continue;
                if (c.Shape[i] == 1 && dim < 0) dim = i;
                else return -1;
            }
            if (dim < 0) return -1;
            using (Tensor.NoGrad()) return v.Max(dim, keepDim: true).Eq(c).All().Item<bool>() ? dim : -1;
        }

        string Unsupported(Node node, string why)
        {
            ctx.Unsupported.Add($"{node.Rule.Name} in custom module at {ExportContext.Where(path, module)}: {why}");
            return B.Fresh(stem + ".unsupported");
        }

        string Fresh(string op) => stem + "." + op.ToLowerInvariant();

        string EmitNode(Node node, Tensor output)
        {
            var rule = node.Rule;
            var ins = node.Inputs;
            string X() => Name(ins[0]);
            string Y() => Name(ins[1]);
            string Op(string op, params AttributeProto[] attrs) => B.Node(op, Fresh(op), [X()], attrs);
            string Bin(string op) => B.Node(op, Fresh(op), [X(), Y()]);
            string ScalarRight(string op) => B.Node(op, Fresh(op), [X(), ctx.Scalar(node.A, stem + ".scalar")]);
            string ScalarLeft(string op) => B.Node(op, Fresh(op), [ctx.Scalar(node.A, stem + ".scalar"), X()]);

            string result;
            if (ins.Any(t => t.DType != DType.Float32 && t.DType != DType.Int64))
                result = Unsupported(node, $"operands of dtype {string.Join(", ", ins.Select(t => t.DType).Distinct())}; only Float32 graphs are exported");
            else if (ReferenceEquals(rule, ElementwiseRules.AddScalar)) result = ScalarRight("Add");
            else if (ReferenceEquals(rule, ElementwiseRules.SubScalar)) result = ScalarRight("Sub");
            else if (ReferenceEquals(rule, ElementwiseRules.ScalarSub)) result = ScalarLeft("Sub");
            else if (ReferenceEquals(rule, ElementwiseRules.MulScalar)) result = ScalarRight("Mul");
            else if (ReferenceEquals(rule, ElementwiseRules.DivScalar)) result = ScalarRight("Div");
            else if (ReferenceEquals(rule, ElementwiseRules.ScalarDiv)) result = ScalarLeft("Div");
            else if (ReferenceEquals(rule, ElementwiseRules.PowScalar)) result = ScalarRight("Pow");
            else result = rule.Name switch
            {
                "Add" or "Sub" or "Mul" or "Div" or "Pow" => Bin(rule.Name),
                "Maximum" => Bin("Max"),
                "Minimum" => Bin("Min"),
                "MatMul" => Bin("MatMul"),
                "Neg" or "Abs" or "Exp" or "Log" or "Sqrt" or "Reciprocal" or "Tanh" or "Sigmoid" or "Relu" or "Erf" or "Sin" or "Cos" or "Softplus" => Op(rule.Name),
                "Rsqrt" => B.Node("Reciprocal", Fresh("rsqrt"), [B.Node("Sqrt", Fresh("sqrt"), [X()])]),
                "Square" => B.Node("Mul", Fresh("square"), [X(), X()]),
                "LeakyRelu" => Op("LeakyRelu", Float("alpha", node.A)),
                "Elu" => Op("Elu", Float("alpha", node.A)),
                "Gelu" => ctx.Gelu(new Value(X(), ins[0]), output, Fresh("gelu")).Name,
                "Clone" or "ToDevice" => Op("Identity"),
                "ToCopy" => output.DType == DType.Float32 ? Op("Identity") : Unsupported(node, $"a cast to {output.DType}"),
                "Linear" => LinearNode(ins),
                "Conv2d" or "Conv2dBias" => ConvNode(node, ins),
                "MaxPool2d" or "AvgPool2d" => PoolNode(node),
                "Reshape" => ctx.Reshape(new Value(X(), ins[0]), output, Fresh("reshape"), ins[0].Dim > 0 && output.Dim > 0 && ins[0].Shape[0] == output.Shape[0] ? 1 : 0).Name,
                "Permute" => Op("Transpose", Ints("perm", node.Ints.Select(i => (long)i).ToArray())),
                "Expand" => ExpandNode(ins[0], output),
                "Cat" => B.Node("Concat", Fresh("concat"), ins.Select(Name).ToArray(), Int("axis", node.Ints[0])),
                "Sum" => SumNode(ins[0], output, node.Ints),
                "ExtremeAlong" => ExtremeNode(node, ins[0], output),
                "Narrow" => B.Node("Slice", Fresh("slice"), [X(), B.Int64(stem + ".starts", node.Ints[1]),
                    B.Int64(stem + ".ends", node.Ints[1] + output.Shape[node.Ints[0]]), B.Int64(stem + ".axes", node.Ints[0])]),
                "Select" => B.Node("Gather", Fresh("select"), [X(), B.Constant(Tensor.Scalar((long)node.Ints[1], DType.Int64), stem + ".index")], Int("axis", node.Ints[0])),
                _ => Unsupported(node, "no ONNX mapping for this op"),
            };
            values.Add((result, output.Detach()));
            return result;
        }

        string LinearNode(Tensor[] ins)
        {
            var (x, w) = (ins[0], ins[1]);
            string wName = Name(w);
            if (x.Dim == 2)
                return B.Node("Gemm", Fresh("gemm"), ins.Length > 2 ? [Name(x), wName, Name(ins[2])] : [Name(x), wName], Int("transB", 1));
            string wt = B.Node("Transpose", Fresh("weight_t"), [wName], Ints("perm", 1, 0));
            string mm = B.Node("MatMul", Fresh("matmul"), [Name(x), wt]);
            return ins.Length > 2 ? B.Node("Add", Fresh("add"), [mm, Name(ins[2])]) : mm;
        }

        string ConvNode(Node node, Tensor[] ins)
        {
            var p = node.Ints;
            var w = ins[1];
            string[] inputs = ins.Length > 2 ? [Name(ins[0]), Name(w), Name(ins[2])] : [Name(ins[0]), Name(w)];
            return B.Node("Conv", Fresh("conv"), inputs, Ints("kernel_shape", w.Shape[2], w.Shape[3]), Ints("strides", p[0], p[1]),
                Ints("pads", p[2], p[3], p[2], p[3]), Ints("dilations", p[4], p[5]), Int("group", p[6]));
        }

        string PoolNode(Node node)
        {
            var p = node.Ints;
            var common = new List<AttributeProto>
            {
                Ints("kernel_shape", p[0], p[1]), Ints("strides", p[2], p[3]), Ints("pads", p[4], p[5], p[4], p[5]), Int("ceil_mode", p[6]),
            };
            if (node.Rule.Name == "AvgPool2d") common.Add(Int("count_include_pad", p[7]));
            string op = node.Rule.Name == "MaxPool2d" ? "MaxPool" : "AveragePool";
            return B.Node(op, Fresh(op), [Name(node.Inputs[0])], [.. common]);
        }

        /// <summary>Expand to the output shape, with 1 wherever the input already has the size (keeps the batch dynamic).</summary>
        string ExpandNode(Tensor x, Tensor output)
        {
            var target = output.Shape.ToArray();
            int offset = target.Length - x.Dim;
            for (int i = 0; i < x.Dim; i++) if (x.Shape[i] == target[offset + i]) target[offset + i] = 1;
            return B.Node("Expand", Fresh("expand"), [Name(x), B.Int64(stem + ".expand_shape", target)]);
        }

        string SumNode(Tensor x, Tensor output, int[] dims)
        {
            bool keep = output.Dim == x.Dim;
            long[] axes = keep
                ? Enumerable.Range(0, x.Dim).Where(i => output.Shape[i] == 1 && x.Shape[i] != 1).Select(i => (long)i).ToArray()
                : dims.Select(d => (long)d).ToArray();
            if (axes.Length == 0) return B.Node("Identity", Fresh("sum"), [Name(x)]);
            return B.Node("ReduceSum", Fresh("reducesum"), [Name(x), B.Int64(stem + ".axes", axes)], Int("keepdims", keep ? 1 : 0));
        }

        string ExtremeNode(Node node, Tensor x, Tensor output)
        {
            int d = node.Ints[0];
            bool keep = node.Ints[1] != 0;
            bool isMax;
            using (Tensor.NoGrad()) isMax = x.Max(d, keep).Eq(output).All().Item<bool>();
            string op = isMax ? "ReduceMax" : "ReduceMin";
            return B.Node(op, Fresh(op), [Name(x)], Ints("axes", d), Int("keepdims", keep ? 1 : 0));
        }
    }
}
