namespace NeuralCore.Onnx;

internal static partial class OnnxOps
{
    /// <summary>
    /// ONNX LSTM, GRU and RNN (layout 0, default activations, no clip, peepholes or sequence lengths): X [T, B, I],
    /// W [D, G·H, I], R [D, G·H, H], optional B [D, 2·G·H], initial_h and initial_c [D, B, H]; outputs Y [T, D, B, H]
    /// and the final states Y_h (and Y_c for LSTM) [D, B, H].
    /// Gates in ONNX order — LSTM (i, o, f, c), GRU (z, r, h) with either linear_before_reset — computed with
    /// NeuralCore ops, so gradients reach every weight.
    /// </summary>
    static Func<Tensor?[], Tensor[]> RecurrentOp(Attrs a, string op, string[] ins)
    {
        a.Only("hidden_size", "direction", "activations", "clip", "input_forget", "layout", "linear_before_reset", "activation_alpha", "activation_beta");
        long hidden = a.Int("hidden_size", 0);
        if (hidden < 1 || hidden > int.MaxValue) throw a.Fail($"needs a positive hidden_size, got {hidden}");
        string direction = a.Str("direction") ?? "forward";
        if (direction is not ("forward" or "reverse" or "bidirectional")) throw a.Fail($"direction \"{direction}\" is not forward, reverse or bidirectional");
        int dirs = direction == "bidirectional" ? 2 : 1;
        if (a.Has("clip")) throw a.Fail("clip is not supported");
        if (a.Has("activation_alpha") || a.Has("activation_beta")) throw a.Fail("activation_alpha/activation_beta are not supported");
        if (a.Int("layout", 0) != 0) throw a.Fail("layout 1 (batch first) is not supported");
        if (a.Int("input_forget", 0) != 0) throw a.Fail("input_forget 1 is not supported");
        if (op != "GRU" && a.Has("linear_before_reset")) throw a.Fail("linear_before_reset applies to GRU only");
        long linearBeforeReset = a.Int("linear_before_reset", 0);
        if (linearBeforeReset is not (0 or 1)) throw a.Fail($"linear_before_reset {linearBeforeReset} must be 0 or 1");
        if (ins.Length > 4 && ins[4].Length > 0) throw a.Fail("the sequence_lens input is not supported");
        if (op == "LSTM" && ins.Length > 7 && ins[7].Length > 0) throw a.Fail("peepholes (input P) are not supported");
        if (op != "LSTM" && ins.Length > 6) throw a.Fail($"has {ins.Length} inputs; {op} takes at most 6");

        string[] defaults = op switch { "LSTM" => ["Sigmoid", "Tanh", "Tanh"], "GRU" => ["Sigmoid", "Tanh"], _ => ["Tanh"] };
        bool relu = false;
        if (a.Strs("activations") is { } acts)
        {
            if (acts.Length != defaults.Length * dirs) throw a.Fail($"has {acts.Length} activations; {op} with direction {direction} needs {defaults.Length * dirs}");
            if (op == "RNN" && acts.All(s => s == "Relu")) relu = true;
            else if (!acts.SequenceEqual(Enumerable.Range(0, dirs).SelectMany(_ => defaults)))
                throw a.Fail($"activations [{string.Join(", ", acts)}] are not supported (only [{string.Join(", ", defaults)}] per direction{(op == "RNN" ? ", or Relu" : "")})");
        }
        int h = (int)hidden;
        int gates = op switch { "LSTM" => 4, "GRU" => 3, _ => 1 };
        return t =>
        {
            var x = t[0]!;
            var w = t[1]!;
            var r = t[2]!;
            var b = t.Length > 3 ? t[3] : null;
            var h0 = t.Length > 5 ? t[5] : null;
            var c0 = t.Length > 6 ? t[6] : null;
            if (x.Dim != 3) throw new ArgumentException($"{a.Where}: X must be [T, B, I], got {x.Shape}.");
            long steps = x.Shape[0], batch = x.Shape[1], inputSize = x.Shape[2];
            Expect(w, [dirs, gates * hidden, inputSize], "W", a);
            Expect(r, [dirs, gates * hidden, hidden], "R", a);
            if (b is not null) Expect(b, [dirs, 2 * gates * hidden], "B", a);
            if (h0 is not null) Expect(h0, [dirs, batch, hidden], "initial_h", a);
            if (c0 is not null) Expect(c0, [dirs, batch, hidden], "initial_c", a);
            if (steps == 0) throw new ArgumentException($"{a.Where}: X {x.Shape} has no time steps.");
            var perDirection = new Tensor[dirs];
            var finalH = new Tensor[dirs];
            var finalC = new Tensor[dirs];
            for (int d = 0; d < dirs; d++)
            {
                var wd = w.Select(0, d);
                var rt = r.Select(0, d).Transpose(0, 1);
                var projected = x.MatMul(wd.Transpose(0, 1));
                Tensor? rb = null;
                if (b is not null)
                {
                    var bd = b.Select(0, d);
                    projected = projected + bd.Narrow(0, 0, gates * hidden);
                    rb = bd.Narrow(0, gates * hidden, gates * hidden);
                }
                var state = h0?.Select(0, d) ?? Tensor.Zeros([batch, hidden], x.DType, x.Device);
                var cell = op == "LSTM" ? c0?.Select(0, d) ?? Tensor.Zeros([batch, hidden], x.DType, x.Device) : null;
                bool reverse = direction == "reverse" || d == 1;
                var outputs = new Tensor[steps];
                for (long s = 0; s < steps; s++)
                {
                    long step = reverse ? steps - 1 - s : s;
                    var gx = projected.Select(0, step);
                    switch (op)
                    {
                        case "LSTM":
                        {
                            var g = gx + Recur(state, rt, rb);
                            var input = g.Narrow(1, 0, h).Sigmoid();
                            var output = g.Narrow(1, h, h).Sigmoid();
                            var forget = g.Narrow(1, 2L * h, h).Sigmoid();
                            var candidate = g.Narrow(1, 3L * h, h).Tanh();
                            cell = forget * cell! + input * candidate;
                            state = output * cell.Tanh();
                            break;
                        }
                        case "GRU":
                        {
                            var zr = gx.Narrow(1, 0, 2L * h) + Recur(state, rt.Narrow(1, 0, 2L * h), rb?.Narrow(0, 0, 2L * h));
                            var z = zr.Narrow(1, 0, h).Sigmoid();
                            var reset = zr.Narrow(1, h, h).Sigmoid();
                            var rh = rt.Narrow(1, 2L * h, h);
                            var rbh = rb?.Narrow(0, 2L * h, h);
                            var hiddenPart = linearBeforeReset == 1 ? reset * Recur(state, rh, rbh) : Recur(reset * state, rh, rbh);
                            var n = (gx.Narrow(1, 2L * h, h) + hiddenPart).Tanh();
                            state = n + z * (state - n);
                            break;
                        }
                        default:
                        {
                            var pre = gx + Recur(state, rt, rb);
                            state = relu ? pre.Relu() : pre.Tanh();
                            break;
                        }
                    }
                    outputs[step] = state;
                }
                perDirection[d] = Tensor.Stack(outputs, 0);
                finalH[d] = state;
                if (cell is not null) finalC[d] = cell;
            }
            var y = Tensor.Stack(perDirection, 1);
            return op == "LSTM" ? [y, Tensor.Stack(finalH, 0), Tensor.Stack(finalC, 0)] : [y, Tensor.Stack(finalH, 0)];
        };
    }

    /// <summary>h·Rᵀ (+ Rb): <paramref name="rt"/> is already transposed.</summary>
    static Tensor Recur(Tensor state, Tensor rt, Tensor? rb)
    {
        var y = state.MatMul(rt);
        return rb is null ? y : y + rb;
    }

    static void Expect(Tensor t, long[] shape, string what, Attrs a)
    {
        if (!t.Shape.ToArray().SequenceEqual(shape))
            throw new ArgumentException($"{a.Where}: {what} is {t.Shape}, expected [{string.Join(", ", shape)}].");
    }
}
