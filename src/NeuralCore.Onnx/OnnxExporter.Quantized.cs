using Google.Protobuf;
using NeuralCore.Compression;
using NeuralCore.Nn;
using NeuralCore.Onnx.Protos;
using static NeuralCore.Onnx.GraphBuilder;

namespace NeuralCore.Onnx;

public static partial class OnnxExporter
{
    internal sealed partial class ExportContext
    {
        /// <summary>
        /// The ONNX nodes of an int8 layer (<see cref="QuantizedLinear"/>, <see cref="QuantizedConv2d"/>), or null when
        /// <paramref name="m"/> is not one. <see cref="DynamicQuantizedLSTM"/> has no faithful ONNX form and is reported.
        /// </summary>
        /// <remarks>
        /// Static layers become a QDQ graph: the input goes through QuantizeLinear (uint8, the calibrated scale and zero
        /// point) and DequantizeLinear, the int8 weight is an INT8 initializer dequantized per output channel
        /// (DequantizeLinear, the channel axis, zero points 0), and Gemm / MatMul + Add / Conv take the float bias,
        /// followed by Relu when the layer fuses one. A dynamic Linear becomes DynamicQuantizeLinear → MatMulInteger
        /// (uint8 × int8, the activation zero point) → Cast to float → Mul by the activation scale times the weight
        /// scales → Add bias (→ Relu): the integer product is exact, as in the int8 GEMM. A dynamic convolution becomes
        /// DynamicQuantizeLinear → DequantizeLinear → Conv on the dequantized weight.
        /// </remarks>
        Value? TryQuantized(Module m, string path, Value x)
        {
            string stem = path.Length == 0 ? m.GetType().Name.ToLowerInvariant() : path;
            switch (m)
            {
                case QuantizedLinear l:
                    return QuantizedLinear(l, path, x, stem);
                case QuantizedConv2d c:
                    return QuantizedConv(c, path, x, stem);
                case DynamicQuantizedLSTM lstm:
                    Unsupported.Add($"DynamicQuantizedLSTM at {Where(path, lstm)}: its gate matrices quantize the input and the hidden state "
                        + "per time step over each step's own range, which ONNX's LSTM (float weights, no per-step quantization) cannot express; "
                        + "export the float LSTM or quantize only the other layers");
                    return new(x.Name, Run(m, x.Sample));
                default:
                    return null;
            }
        }

        Value QuantizedLinear(QuantizedLinear l, string path, Value x, string stem)
        {
            var y = Run(l, x.Sample);
            string? bias = Buffer(l, "bias") is { } b ? Param(b, stem + ".bias") : null;
            string result;
            if (l.IsDynamic)
            {
                // DynamicQuantizeLinear → MatMulInteger (A uint8 with its zero point, B int8 [in, out], zero point 0).
                string xq = Builder.Fresh(stem + ".input_quantized"), xs = Builder.Fresh(stem + ".input_scale"), xz = Builder.Fresh(stem + ".input_zero_point");
                Builder.AddNode("DynamicQuantizeLinear", [x.Name], [xq, xs, xz]);
                string wt = Int8Initializer(Transposed(l.QuantizedWeights(), l.OutFeatures, l.InFeatures), [l.InFeatures, l.OutFeatures], stem + ".weight_quantized_t");
                string acc = Builder.Node("MatMulInteger", stem + ".matmul_integer", [xq, wt, xz]);
                string accFloat = Builder.Node("Cast", stem + ".matmul_float", [acc], Int("to", (long)TensorProto.Types.DataType.Float));
                string scale = Builder.Node("Mul", stem + ".output_scale", [xs, Param(Buffer(l, "weight_scale")!, stem + ".weight_scale")]);
                result = Builder.Node("Mul", bias is null && !l.FusedRelu ? stem : stem + ".scaled", [accFloat, scale]);
                if (bias is not null) result = Builder.Node("Add", l.FusedRelu ? stem + ".biased" : stem, [result, bias]);
            }
            else
            {
                string xd = QuantizeDequantizeInput(l, x, stem);
                if (x.Sample.Dim == 2)
                {
                    string w = DequantizedWeight(l.QuantizedWeights(), [l.OutFeatures, l.InFeatures], Buffer(l, "weight_scale")!, 0, stem);
                    string[] inputs = bias is null ? [xd, w] : [xd, w, bias];
                    result = Builder.Node("Gemm", l.FusedRelu ? stem + ".gemm" : stem, inputs, Int("transB", 1));
                }
                else
                {
                    // MatMul takes the weight as [in, out]: the channel axis of the transposed weight is 1.
                    string w = DequantizedWeight(Transposed(l.QuantizedWeights(), l.OutFeatures, l.InFeatures), [l.InFeatures, l.OutFeatures],
                        Buffer(l, "weight_scale")!, 1, stem);
                    result = Builder.Node("MatMul", bias is null && !l.FusedRelu ? stem : stem + ".matmul", [xd, w]);
                    if (bias is not null) result = Builder.Node("Add", l.FusedRelu ? stem + ".biased" : stem, [result, bias]);
                }
            }
            if (l.FusedRelu) result = Builder.Node("Relu", stem, [result]);
            return new(result, y);
        }

        Value? QuantizedConv(QuantizedConv2d c, string path, Value x, string stem)
        {
            if (x.Sample.Dim != 4)
            {
                Unsupported.Add($"QuantizedConv2d at {Where(path, c)}: the input {x.Sample.Shape} is not batched [N, C, H, W]; ONNX Conv needs the batch dimension");
                return new(x.Name, Run(c, x.Sample));
            }
            var y = Run(c, x.Sample);
            string xd;
            if (c.IsDynamic)
            {
                string xq = Builder.Fresh(stem + ".input_quantized"), xs = Builder.Fresh(stem + ".input_scale"), xz = Builder.Fresh(stem + ".input_zero_point");
                Builder.AddNode("DynamicQuantizeLinear", [x.Name], [xq, xs, xz]);
                xd = Builder.Node("DequantizeLinear", stem + ".input_dequantized", [xq, xs, xz]);
            }
            else xd = QuantizeDequantizeInput(c, x, stem);
            string w = DequantizedWeight(c.QuantizedWeights(), [c.OutChannels, c.InChannels, c.KernelSize.H, c.KernelSize.W], Buffer(c, "weight_scale")!, 0, stem);
            string[] inputs = Buffer(c, "bias") is { } b ? [xd, w, Param(b, stem + ".bias")] : [xd, w];
            string result = Builder.Node("Conv", c.FusedRelu ? stem + ".conv" : stem, inputs,
                Ints("kernel_shape", c.KernelSize.H, c.KernelSize.W), Ints("strides", c.Stride.H, c.Stride.W),
                Ints("pads", c.Padding.H, c.Padding.W, c.Padding.H, c.Padding.W), Ints("dilations", c.Dilation.H, c.Dilation.W), Int("group", 1));
            if (c.FusedRelu) result = Builder.Node("Relu", stem, [result]);
            return new(result, y);
        }

        /// <summary>QuantizeLinear → DequantizeLinear of the input with a static layer's calibrated uint8 parameters (0-d scale and zero point).</summary>
        string QuantizeDequantizeInput(QuantizedLayer layer, Value x, string stem)
        {
            var p = layer.InputParams!.Value;
            string scale = Builder.Constant(Tensor.Scalar(p.Scale), stem + ".input_scale");
            string zero = Add(Proto(stem + ".input_zero_point", TensorProto.Types.DataType.Uint8, [], [checked((byte)p.ZeroPoint)]));
            string q = Builder.Node("QuantizeLinear", stem + ".input_quantized", [x.Name, scale, zero]);
            return Builder.Node("DequantizeLinear", stem + ".input_dequantized", [q, scale, zero]);
        }

        /// <summary>DequantizeLinear of an INT8 weight initializer with per-channel scales along <paramref name="axis"/> and zero points 0.</summary>
        string DequantizedWeight(sbyte[] values, long[] shape, Tensor scales, int axis, string stem)
        {
            string w = Int8Initializer(values, shape, stem + ".weight_quantized");
            string scale = axis == 0 ? Param(scales, stem + ".weight_scale") : Builder.Constant(scales.Clone(), stem + ".weight_scale");
            string zero = Int8Initializer(new sbyte[shape[axis]], [shape[axis]], stem + ".weight_zero_point");
            return Builder.Node("DequantizeLinear", stem + ".weight", [w, scale, zero], Int("axis", axis));
        }

        string Int8Initializer(sbyte[] values, long[] shape, string stem) =>
            Add(Proto(stem, TensorProto.Types.DataType.Int8, shape, (byte[])(Array)values));

        string Add(TensorProto proto)
        {
            proto.Name = Builder.Fresh(proto.Name);
            Builder.Graph.Initializer.Add(proto);
            return proto.Name;
        }

        static TensorProto Proto(string name, TensorProto.Types.DataType type, long[] shape, byte[] raw)
        {
            var p = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
            p.Dims.AddRange(shape);
            return p;
        }

        /// <summary>A layer's own buffer by name (null when it has none).</summary>
        static Tensor? Buffer(Module m, string name)
        {
            foreach (var (n, b) in m.NamedBuffers())
                if (n == name) return b;
            return null;
        }

        /// <summary>The [cols, rows] transpose of a row-major [rows, cols] matrix.</summary>
        static sbyte[] Transposed(sbyte[] m, int rows, int cols)
        {
            var t = new sbyte[m.Length];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
            return t;
        }
    }
}
