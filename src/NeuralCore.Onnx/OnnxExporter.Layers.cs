using NeuralCore.Nn;
using NeuralCore.Onnx.Protos;
using static NeuralCore.Onnx.GraphBuilder;

namespace NeuralCore.Onnx;

public static partial class OnnxExporter
{
    internal sealed partial class ExportContext
    {
        /// <summary>The ONNX nodes of a built-in layer, or null when <paramref name="m"/> is not one.</summary>
        Value? TryLayer(Module m, string path, Value x)
        {
            string stem = path.Length == 0 ? m.GetType().Name.ToLowerInvariant() : path;
            switch (m)
            {
                case Linear l:
                    return Linear(x, l.Weight, l.Bias, Run(m, x.Sample), stem);
                case Dense d:
                {
                    var y = Run(m, x.Sample);
                    var pre = Linear(x, d.Weight, d.Bias, Nn.Functional.Linear(x.Sample, d.Weight, d.Bias), stem);
                    return Activation(d.ActivationFunction, pre, y, stem);
                }
                case Conv2d c:
                    return Conv(x, c.Weight, c.Bias, c.Stride, c.Padding, c.Dilation, c.Groups, Run(m, x.Sample), stem);
                case Conv1d c:
                {
                    string w = Param(c.Weight, stem + ".weight");
                    string[] inputs = c.Bias is null ? [x.Name, w] : [x.Name, w, Param(c.Bias, stem + ".bias")];
                    return new(Builder.Node("Conv", stem, inputs, Ints("kernel_shape", c.KernelSize), Ints("strides", c.Stride),
                        Ints("pads", c.Padding, c.Padding), Ints("dilations", c.Dilation), Int("group", c.Groups)), Run(m, x.Sample));
                }
                // ONNX's LSTM has no projection (proj_size): such a layer is traced op by op or reported.
                case RNNBase r when r.ProjSize == 0:
                    return Recurrent(r, path, x, stem);
                case MaxPool2d p:
                    return new(Builder.Node("MaxPool", stem, [x.Name], Ints("kernel_shape", p.KernelSize.H, p.KernelSize.W),
                        Ints("strides", p.Stride.H, p.Stride.W), Ints("pads", p.Padding.H, p.Padding.W, p.Padding.H, p.Padding.W),
                        Int("ceil_mode", p.CeilMode ? 1 : 0)), Run(m, x.Sample));
                case AvgPool2d p:
                    return new(Builder.Node("AveragePool", stem, [x.Name], Ints("kernel_shape", p.KernelSize.H, p.KernelSize.W),
                        Ints("strides", p.Stride.H, p.Stride.W), Ints("pads", p.Padding.H, p.Padding.W, p.Padding.H, p.Padding.W),
                        Int("ceil_mode", p.CeilMode ? 1 : 0), Int("count_include_pad", p.CountIncludePad ? 1 : 0)), Run(m, x.Sample));
                case AdaptiveAvgPool2d a:
                    return AdaptiveAvg(a, path, x, stem);
                case BatchNormBase bn:
                    return BatchNorm(bn, path, x, stem);
                case LayerNorm ln:
                    return new(LayerNormNode(ln, x.Name, stem), Run(m, x.Sample));
                case Dropout:
                    return x;
                case Flatten f:
                    return Reshape(x, Run(m, x.Sample), stem, FlattenStart(f, x.Sample.Dim));
                case ReLU: return new(Builder.Node("Relu", stem, [x.Name]), Run(m, x.Sample));
                case Sigmoid: return new(Builder.Node("Sigmoid", stem, [x.Name]), Run(m, x.Sample));
                case Tanh: return new(Builder.Node("Tanh", stem, [x.Name]), Run(m, x.Sample));
                case Softplus: return new(Builder.Node("Softplus", stem, [x.Name]), Run(m, x.Sample));
                case GELU g when g.Approximate == "none": return Gelu(x, Run(m, x.Sample), stem);
                case LeakyReLU lr: return new(Builder.Node("LeakyRelu", stem, [x.Name], Float("alpha", lr.NegativeSlope)), Run(m, x.Sample));
                case ELU e: return new(Builder.Node("Elu", stem, [x.Name], Float("alpha", e.Alpha)), Run(m, x.Sample));
                case Nn.Softmax s: return new(Builder.Node("Softmax", stem, [x.Name], Int("axis", s.DimIndex)), Run(m, x.Sample));
                case Nn.LogSoftmax s: return new(Builder.Node("LogSoftmax", stem, [x.Name], Int("axis", s.DimIndex)), Run(m, x.Sample));
                default:
                    return TrySequenceLayer(m, path, x, stem);
            }
        }

        static int FlattenStart(Flatten f, int rank) => f.StartDim < 0 ? f.StartDim + rank : f.StartDim;

        /// <summary>
        /// A Reshape to <paramref name="y"/>'s shape that keeps the batch dynamic: dimensions before
        /// <paramref name="keepLeading"/> are copied from the input (0), the first other one is inferred (−1).
        /// A 2-d result that keeps only dimension 0 becomes ONNX Flatten.
        /// </summary>
        public Value Reshape(Value x, Tensor y, string stem, int keepLeading)
        {
            var outShape = y.Shape.ToArray();
            if (keepLeading == 1 && outShape.Length == 2 && x.Sample.Dim >= 2)
                return new(Builder.Node("Flatten", stem, [x.Name], Int("axis", 1)), y);
            var target = new long[outShape.Length];
            for (int i = 0; i < outShape.Length; i++)
                target[i] = i < keepLeading && i < x.Sample.Dim && x.Sample.Shape[i] == outShape[i] ? 0 : outShape[i];
            int infer = Array.FindIndex(target, v => v != 0);
            if (options.DynamicBatch && infer >= 0 && (infer > 0 || outShape[0] != 0)) target[infer] = -1;
            return new(Builder.Node("Reshape", stem, [x.Name, Builder.Int64(stem + ".shape", target)]), y);
        }

        Value Linear(Value x, Tensor weight, Tensor? bias, Tensor y, string stem)
        {
            if (x.Sample.Dim == 2)
            {
                string w = Param(weight, stem + ".weight");
                string[] inputs = bias is null ? [x.Name, w] : [x.Name, w, Param(bias, stem + ".bias")];
                return new(Builder.Node("Gemm", stem, inputs, Int("transB", 1)), y);
            }
            string wt;
            using (Tensor.NoGrad()) wt = Builder.Constant(weight.Transpose(0, 1).Contiguous(), stem + ".weight_t");
            string mm = Builder.Node("MatMul", bias is null ? stem : stem + ".matmul", [x.Name, wt]);
            return bias is null ? new(mm, y) : new(Builder.Node("Add", stem, [mm, Param(bias, stem + ".bias")]), y);
        }

        Value Conv(Value x, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups, Tensor y, string stem)
        {
            string w = Param(weight, stem + ".weight");
            string[] inputs = bias is null ? [x.Name, w] : [x.Name, w, Param(bias, stem + ".bias")];
            return new(Builder.Node("Conv", stem, inputs,
                Ints("kernel_shape", weight.Shape[2], weight.Shape[3]), Ints("strides", stride.H, stride.W),
                Ints("pads", padding.H, padding.W, padding.H, padding.W), Ints("dilations", dilation.H, dilation.W),
                Int("group", groups)), y);
        }

        Value Activation(Activation a, Value x, Tensor y, string stem) => a switch
        {
            Nn.Activation.None => x,
            Nn.Activation.Relu => new(Builder.Node("Relu", stem + ".relu", [x.Name]), y),
            Nn.Activation.Sigmoid => new(Builder.Node("Sigmoid", stem + ".sigmoid", [x.Name]), y),
            Nn.Activation.Tanh => new(Builder.Node("Tanh", stem + ".tanh", [x.Name]), y),
            Nn.Activation.Softmax => new(Builder.Node("Softmax", stem + ".softmax", [x.Name], Int("axis", -1)), y),
            Nn.Activation.Gelu => Gelu(x, y, stem + ".gelu"),
            Nn.Activation.Silu => new(Builder.Node("Mul", stem + ".silu", [x.Name, Builder.Node("Sigmoid", stem + ".silu_sigmoid", [x.Name])]), y),
            Nn.Activation.Elu => new(Builder.Node("Elu", stem + ".elu", [x.Name], Float("alpha", 1f)), y),
            Nn.Activation.Selu => new(Builder.Node("Selu", stem + ".selu", [x.Name],
                Float("alpha", (float)ActivationExtensions.SeluAlpha), Float("gamma", (float)ActivationExtensions.SeluScale)), y),
            Nn.Activation.LeakyRelu => new(Builder.Node("LeakyRelu", stem + ".leaky_relu", [x.Name], Float("alpha", (float)ActivationExtensions.LeakyReluSlope)), y),
            Nn.Activation.Softplus => new(Builder.Node("Softplus", stem + ".softplus", [x.Name]), y),
            _ => throw new ArgumentOutOfRangeException(nameof(a), a, "Unknown activation."),
        };

        /// <summary>Exact GELU, 0.5·x·(1 + erf(x/√2)); opset 17 has no Gelu operator.</summary>
        public Value Gelu(Value x, Tensor y, string stem) => new(GeluNode(x.Name, stem), y);

        /// <summary>A 0-d Float32 constant.</summary>
        public string Scalar(double value, string stem) => Builder.Constant(Tensor.Scalar((float)value), stem);

        Value? AdaptiveAvg(AdaptiveAvgPool2d a, string path, Value x, string stem)
        {
            var y = Run(a, x.Sample);
            if (a.OutputSize == (1, 1)) return new(Builder.Node("GlobalAveragePool", stem, [x.Name]), y);
            int rank = x.Sample.Dim;
            long h = x.Sample.Shape[rank - 2], w = x.Sample.Shape[rank - 1];
            if (h % a.OutputSize.H != 0 || w % a.OutputSize.W != 0)
            {
                Unsupported.Add($"AdaptiveAvgPool2d at {Where(path, a)}: input {h}x{w} is not a multiple of the output {a.OutputSize.H}x{a.OutputSize.W}, so no fixed AveragePool window matches");
                return x;
            }
            long kh = h / a.OutputSize.H, kw = w / a.OutputSize.W;
            return new(Builder.Node("AveragePool", stem, [x.Name], Ints("kernel_shape", kh, kw), Ints("strides", kh, kw)), y);
        }

        Value BatchNorm(BatchNormBase bn, string path, Value x, string stem)
        {
            if (bn.RunningMean is not { } mean || bn.RunningVar is not { } variance)
            {
                Unsupported.Add($"{bn.GetType().Name} at {Where(path, bn)}: without running statistics it normalises with batch statistics in evaluation mode, which ONNX BatchNormalization (inference) cannot express");
                return x;
            }
            long c = bn.NumFeatures;
            string scale = bn.Weight is { } w ? Param(w, stem + ".weight") : Builder.Constant(Tensor.Ones(c), stem + ".ones");
            string bias = bn.Bias is { } b ? Param(b, stem + ".bias") : Builder.Constant(Tensor.Zeros(c), stem + ".zeros");
            return new(Builder.Node("BatchNormalization", stem, [x.Name, scale, bias, Param(mean, stem + ".running_mean"), Param(variance, stem + ".running_var")],
                Float("epsilon", bn.Eps)), Run(bn, x.Sample));
        }

        /// <summary>
        /// Writes <paramref name="layer"/> (Conv2d, Linear, or Dense without activation) with the following batch
        /// norm folded into its weight and bias: w' = w·γ/√(var + ε) per output channel, b' = (b − mean)·γ/√(var + ε) + β.
        /// </summary>
        bool TryFold(Module layer, string path, BatchNormBase bn, Value x, out Value result)
        {
            result = x;
            if (bn.RunningMean is not { } mean || bn.RunningVar is not { } variance) return false;
            Tensor weight;
            Tensor? bias;
            switch (layer)
            {
                case Conv2d c: weight = c.Weight; bias = c.Bias; break;
                case Linear l: weight = l.Weight; bias = l.Bias; break;
                case Dense d when d.ActivationFunction == Nn.Activation.None:
                    Run(d, x.Sample);
                    weight = d.Weight; bias = d.Bias; break;
                default: return false;
            }
            if (weight.Shape[0] != bn.NumFeatures) return false;
            int outCh = (int)weight.Shape[0];
            double[] m = mean.To(DType.Float64).ToArray<double>(), v = variance.To(DType.Float64).ToArray<double>();
            double[] g = bn.Weight?.To(DType.Float64).ToArray<double>() ?? Enumerable.Repeat(1.0, outCh).ToArray();
            double[] be = bn.Bias?.To(DType.Float64).ToArray<double>() ?? new double[outCh];
            double[] b0 = bias?.To(DType.Float64).ToArray<double>() ?? new double[outCh];
            double[] w = weight.To(DType.Float64).Contiguous().ToArray<double>();
            int per = w.Length / outCh;
            var fw = new float[w.Length];
            var fb = new float[outCh];
            for (int o = 0; o < outCh; o++)
            {
                double k = g[o] / Math.Sqrt(v[o] + bn.Eps);
                for (int j = 0; j < per; j++) fw[o * per + j] = (float)(w[o * per + j] * k);
                fb[o] = (float)((b0[o] - m[o]) * k + be[o]);
            }
            var foldedWeight = Tensor.FromArray(fw, weight.Shape.ToArray());
            var foldedBias = Tensor.FromArray(fb, outCh);
            string stem = path;
            var y = Run(bn, Run(layer, x.Sample));
            var conv = layer as Conv2d;
            string wName = Builder.Constant(foldedWeight, stem + ".weight");
            string bName = Builder.Constant(foldedBias, stem + ".bias");
            if (conv is not null)
            {
                result = new(Builder.Node("Conv", stem, [x.Name, wName, bName],
                    Ints("kernel_shape", weight.Shape[2], weight.Shape[3]), Ints("strides", conv.Stride.H, conv.Stride.W),
                    Ints("pads", conv.Padding.H, conv.Padding.W, conv.Padding.H, conv.Padding.W), Ints("dilations", conv.Dilation.H, conv.Dilation.W),
                    Int("group", conv.Groups)), y);
            }
            else if (x.Sample.Dim == 2)
            {
                result = new(Builder.Node("Gemm", stem, [x.Name, wName, bName], Int("transB", 1)), y);
            }
            else
            {
                string wt = Builder.Constant(foldedWeight.Transpose(0, 1).Contiguous(), stem + ".weight_t");
                result = new(Builder.Node("Add", stem, [Builder.Node("MatMul", stem + ".matmul", [x.Name, wt]), bName]), y);
            }
            return true;
        }
    }
}
