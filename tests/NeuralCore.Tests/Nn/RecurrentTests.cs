using NeuralCore.Nn;
using NeuralCore.Serialization;
using NeuralCore.Testing;
using static NeuralCore.Tests.Nn.ConvReference;
using static NeuralCore.Tests.Nn.RecurrentReference;
using F = NeuralCore.Nn.Functional;

namespace NeuralCore.Tests.Nn;

public class RecurrentTests
{
    static RNNBase Build(Kind kind, int input, int hidden, int layers, bool bias = true, bool batchFirst = false, double dropout = 0,
        bool bidirectional = false) => kind switch
    {
        Kind.Lstm => new LSTM(input, hidden, layers, bias, batchFirst, dropout, bidirectional),
        Kind.Gru => new GRU(input, hidden, layers, bias, batchFirst, dropout, bidirectional),
        Kind.Relu => new RNN(input, hidden, layers, "relu", bias, batchFirst, dropout, bidirectional),
        _ => new RNN(input, hidden, layers, "tanh", bias, batchFirst, dropout, bidirectional),
    };

    // Runs the module with explicit initial states; c0 is ignored by RNN and GRU.
    static (Tensor Output, Tensor H, Tensor? C) Run(RNNBase module, Tensor x, Tensor h0, Tensor c0) => module switch
    {
        LSTM l => l.Forward(x, (h0, c0)) is var (o, (h, c)) ? (o, h, c) : default,
        GRU g => g.Forward(x, h0) is var (o, h) ? (o, h, null) : default,
        RNN r => r.Forward(x, h0) is var (o, h) ? (o, h, null) : default,
        _ => throw new ArgumentException("unknown module"),
    };

    static Func<string, double[]?> Weights(Module m) => name => m.StateDict().TryGetValue(name, out var t) ? t.ToArray<double>() : null;

    public static TheoryData<Kind, int, bool, bool> Configs => new()
    {
        { Kind.Tanh, 1, false, true },
        { Kind.Relu, 2, true, true },
        { Kind.Lstm, 1, false, true },
        { Kind.Lstm, 2, true, true },
        { Kind.Lstm, 3, false, false },
        { Kind.Gru, 1, true, true },
        { Kind.Gru, 2, false, false },
        { Kind.Tanh, 2, true, false },
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void Forward_MatchesScalarReference(Kind kind, int layers, bool bidirectional, bool bias)
    {
        const int T = 5, B = 3, I = 4, H = 3;
        int dirs = bidirectional ? 2 : 1;
        var module = Build(kind, I, H, layers, bias, bidirectional: bidirectional);
        module.To(DType.Float64);
        var x = Values(1, T * B * I);
        var h0 = Values(2, layers * dirs * B * H, 0.5);
        var c0 = Values(3, layers * dirs * B * H, 0.5);
        var expected = RecurrentReference.Run(kind, Weights(module), layers, bidirectional, H, Nest(x, T, B, I),
            Nest(h0, layers * dirs, B, H), Nest(c0, layers * dirs, B, H));

        var (output, hn, cn) = Run(module, Make(x, [T, B, I], DType.Float64), Make(h0, [layers * dirs, B, H], DType.Float64),
            Make(c0, [layers * dirs, B, H], DType.Float64));

        Assert.Equal(new Shape(T, B, dirs * H), output.Shape);
        Assert.Equal(new Shape(layers * dirs, B, H), hn.Shape);
        AssertClose(Flat(expected.Output), output.ToArray<double>(), 1e-12);
        AssertClose(Flat(expected.H), hn.ToArray<double>(), 1e-12);
        if (kind == Kind.Lstm) AssertClose(Flat(expected.C), cn!.ToArray<double>(), 1e-12);
        else Assert.Null(cn);

        // Float32 follows the same numbers to single precision.
        module.To(DType.Float32);
        var (output32, _, _) = Run(module, Make(x, [T, B, I], DType.Float32), Make(h0, [layers * dirs, B, H], DType.Float32),
            Make(c0, [layers * dirs, B, H], DType.Float32));
        AssertClose(Flat(expected.Output), output32.ToArray<double>(), 2e-5);
    }

    static void AssertClose(double[] expected, double[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * (1 + Math.Abs(expected[i])), $"element {i}: expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void ParameterNamesAndShapes_FollowPyTorch()
    {
        var lstm = new LSTM(5, 3, numLayers: 2, bidirectional: true);
        var expected = new List<(string, long[])>();
        foreach (var layer in new[] { 0, 1 })
            foreach (var suffix in new[] { "", "_reverse" })
            {
                long input = layer == 0 ? 5 : 6;
                expected.Add(($"weight_ih_l{layer}{suffix}", [12, input]));
                expected.Add(($"weight_hh_l{layer}{suffix}", [12, 3]));
                expected.Add(($"bias_ih_l{layer}{suffix}", [12]));
                expected.Add(($"bias_hh_l{layer}{suffix}", [12]));
            }
        Assert.Equal(expected.Select(e => e.Item1), lstm.NamedParameters().Select(p => p.Name));
        Assert.Equal(expected.Select(e => new Shape(e.Item2)), lstm.NamedParameters().Select(p => p.Parameter.Shape));
        Assert.Equal(["weight_ih_l0", "weight_hh_l0"], new GRU(2, 4, bias: false).NamedParameters().Select(p => p.Name));
        Assert.Equal(new Shape(12, 2), new GRU(2, 4, bias: false).Parameter("weight_ih_l0")!.Shape);
        // PyTorch's initialisation bound 1/√H.
        var big = new LSTM(8, 16);
        foreach (var p in big.Parameters())
        {
            Assert.True(p.Abs().Max().Item<float>() <= 0.25f);
            Assert.True(p.Abs().Max().Item<float>() > 0.2f);
        }
    }

    [Theory]
    [InlineData(Kind.Lstm)]
    [InlineData(Kind.Gru)]
    [InlineData(Kind.Tanh)]
    public void GradCheck_InputAndInitialStates(Kind kind)
    {
        var module = Build(kind, 3, 2, 2, bidirectional: true);
        module.To(DType.Float64);
        var x = Make(Values(4, 3 * 2 * 3), [3, 2, 3], DType.Float64).RequiresGrad_();
        var h0 = Make(Values(5, 4 * 2 * 2, 0.5), [4, 2, 2], DType.Float64).RequiresGrad_();
        var c0 = Make(Values(6, 4 * 2 * 2, 0.5), [4, 2, 2], DType.Float64).RequiresGrad_();
        var mix = Make(Values(7, 3 * 2 * 4), [3, 2, 4], DType.Float64);
        GradCheck.Assert(t =>
        {
            var (o, h, c) = Run(module, t[0], t[1], t[2]);
            var loss = (o * mix).Sum() + h.Square().Sum();
            return c is null ? loss : loss + c.Sum();
        }, kind == Kind.Lstm ? [x, h0, c0] : [x, h0, c0.Detach()]);
    }

    [Theory]
    [InlineData(Kind.Lstm, true)]
    [InlineData(Kind.Gru, true)]
    [InlineData(Kind.Relu, false)]
    public void ParameterGradients_MatchFiniteDifferences(Kind kind, bool bidirectional)
    {
        var module = Build(kind, 3, 2, 2, bidirectional: bidirectional);
        module.To(DType.Float64);
        var x = Make(Values(8, 4 * 2 * 3), [4, 2, 3], DType.Float64);
        int width = bidirectional ? 4 : 2;
        var mix = Make(Values(9, 4 * 2 * width), [4, 2, width], DType.Float64);
        Tensor Loss() => (module.Forward(x) * mix).Sum();

        Loss().Backward();
        const double eps = 1e-6;
        foreach (var (name, p) in module.NamedParameters())
        {
            var analytic = p.Grad!.ToArray<double>();
            var values = p.ToArray<double>();
            for (int i = 0; i < values.Length; i++)
            {
                double Perturbed(double delta)
                {
                    var v = (double[])values.Clone();
                    v[i] += delta;
                    using (Tensor.NoGrad())
                    {
                        p.Copy_(Tensor.FromArray(v, p.Shape.ToArray()));
                        return Loss().Item<double>();
                    }
                }
                double numeric = (Perturbed(eps) - Perturbed(-eps)) / (2 * eps);
                using (Tensor.NoGrad()) p.Copy_(Tensor.FromArray(values, p.Shape.ToArray()));
                Assert.True(Math.Abs(numeric - analytic[i]) <= 1e-5 + 1e-3 * Math.Abs(numeric),
                    $"{name}[{i}]: finite difference {numeric}, backward {analytic[i]}");
            }
        }
    }

    [Fact]
    public void GradCheck_Cells_AllOperands()
    {
        Tensor M(int seed, params int[] shape) => Make(Values(seed, Count(shape), 0.7), shape, DType.Float64).RequiresGrad_();
        GradCheck.Assert(t => F.LstmCell(t[0], t[1], t[2], t[3], t[4], t[5], t[6]) is var (h, c) ? h * 2 + c : null!,
            [M(1, 3, 4), M(2, 3, 2), M(3, 3, 2), M(4, 8, 4), M(5, 8, 2), M(6, 8), M(7, 8)]);
        GradCheck.Assert(t => F.GruCell(t[0], t[1], t[2], t[3], t[4], t[5]), [M(1, 3, 4), M(2, 3, 2), M(4, 6, 4), M(5, 6, 2), M(6, 6), M(7, 6)]);
        GradCheck.Assert(t => F.RnnCell(t[0], t[1], t[2], t[3], t[4], t[5]), [M(1, 4), M(2, 2), M(4, 2, 4), M(5, 2, 2), M(6, 2), M(7, 2)]);
    }

    [Fact]
    public void Cells_SteppedOverTime_EqualOneLayer()
    {
        var lstm = new LSTM(3, 4);
        var cell = new LSTMCell(3, 4);
        var gru = new GRU(3, 4);
        var gruCell = new GRUCell(3, 4);
        var rnn = new RNN(3, 4, nonlinearity: "relu");
        var rnnCell = new RNNCell(3, 4, nonlinearity: "relu");
        foreach (var (layer, c) in new (Module, Module)[] { (lstm, cell), (gru, gruCell), (rnn, rnnCell) })
            foreach (var (name, p) in c.NamedParameters())
                using (Tensor.NoGrad()) p.Copy_(layer.StateDict()[name + "_l0"]);
        var x = Make(Values(11, 5 * 2 * 3), [5, 2, 3], DType.Float32);
        (Tensor H, Tensor C) state = (Tensor.Zeros(2, 4), Tensor.Zeros(2, 4));
        Tensor hg = Tensor.Zeros(2, 4), hr = Tensor.Zeros(2, 4);
        var lstmOut = lstm.Forward(x);
        var gruOut = gru.Forward(x);
        var rnnOut = rnn.Forward(x);
        for (int t = 0; t < 5; t++)
        {
            state = cell.Forward(x.Select(0, t), state);
            hg = gruCell.Forward(x.Select(0, t), hg);
            hr = rnnCell.Forward(x.Select(0, t), hr);
            AssertClose(lstmOut.Select(0, t).ToArray<double>(), state.H.ToArray<double>(), 1e-6);
            AssertClose(gruOut.Select(0, t).ToArray<double>(), hg.ToArray<double>(), 1e-6);
            AssertClose(rnnOut.Select(0, t).ToArray<double>(), hr.ToArray<double>(), 1e-6);
        }
        // Without a state the cells start from zeros; unbatched inputs give unbatched states.
        AssertClose(cell.Forward(x.Select(0, 0)).ToArray<double>(), lstmOut.Select(0, 0).ToArray<double>(), 1e-6);
        Assert.Equal(new Shape(4), gruCell.Forward(x[0, 0]).Shape);
    }

    [Fact]
    public void BatchFirstAndUnbatched_AgreeWithTimeFirst()
    {
        var timeFirst = new GRU(3, 2, numLayers: 2, bidirectional: true);
        var batchFirst = new GRU(3, 2, numLayers: 2, batchFirst: true, bidirectional: true);
        batchFirst.LoadStateDict(timeFirst.StateDict());
        var x = Make(Values(12, 4 * 3 * 3), [4, 3, 3], DType.Float32);
        var h0 = Make(Values(13, 4 * 3 * 2), [4, 3, 2], DType.Float32);

        var (y, h) = timeFirst.Forward(x, h0);
        var (yb, hb) = batchFirst.Forward(x.Transpose(0, 1), h0);
        Assert.Equal(new Shape(3, 4, 4), yb.Shape);
        Assert.Equal(y.Transpose(0, 1).ToArray<float>(), yb.ToArray<float>());
        Assert.Equal(h.ToArray<float>(), hb.ToArray<float>());

        var (y1, h1) = timeFirst.Forward(x.Select(1, 2), h0.Select(1, 2));
        Assert.Equal(new Shape(4, 4), y1.Shape);
        Assert.Equal(new Shape(4, 2), h1.Shape);
        AssertClose(y.Select(1, 2).ToArray<double>(), y1.ToArray<double>(), 1e-6);
        AssertClose(h.Select(1, 2).ToArray<double>(), h1.ToArray<double>(), 1e-6);
    }

    [Fact]
    public void Dropout_AppliesBetweenLayersInTrainingOnly()
    {
        const int T = 3, B = 2, I = 2, H = 3;
        var lstm = new LSTM(I, H, numLayers: 2, dropout: 1.0);
        lstm.To(DType.Float64);
        var x = Values(14, T * B * I);
        var zeros = Nest(new double[2 * B * H], 2, B, H);
        var dropped = RecurrentReference.Run(Kind.Lstm, Weights(lstm), 2, false, H, Nest(x, T, B, I), zeros, zeros, zeroBetweenLayers: true);
        var plain = RecurrentReference.Run(Kind.Lstm, Weights(lstm), 2, false, H, Nest(x, T, B, I), zeros, zeros);

        AssertClose(Flat(dropped.Output), lstm.Forward(Make(x, [T, B, I], DType.Float64)).ToArray<double>(), 1e-12);
        lstm.Eval();
        AssertClose(Flat(plain.Output), lstm.Forward(Make(x, [T, B, I], DType.Float64)).ToArray<double>(), 1e-12);
        // The last layer's output is never dropped: a one-layer stack ignores the setting.
        var single = new GRU(I, H, dropout: 1.0);
        Assert.True(single.Forward(Make(x, [T, B, I], DType.Float32)).Abs().Sum().Item<float>() > 0);
    }

    [Fact]
    public void EmptyBatch_GivesEmptyOutputsAndGradients()
    {
        var lstm = new LSTM(4, 3, numLayers: 2, bidirectional: true);
        var x = Tensor.Zeros(5, 0, 4).RequiresGrad_();
        var (output, (h, c)) = lstm.Forward(x, null);
        Assert.Equal(new Shape(5, 0, 6), output.Shape);
        Assert.Equal(new Shape(4, 0, 3), h.Shape);
        Assert.Equal(new Shape(4, 0, 3), c.Shape);
        output.Sum().Backward();
        Assert.Equal(new Shape(5, 0, 4), x.Grad!.Shape);
        Assert.All(lstm.Parameters(), p => Assert.Equal(0f, p.Grad!.Abs().Sum().Item<float>()));
    }

    [Fact]
    public void BadInputs_GetClearErrors()
    {
        var lstm = new LSTM(4, 3, numLayers: 2);
        var e = Assert.Throws<ArgumentException>(() => lstm.Forward(Tensor.Zeros(5, 2, 3)));
        Assert.Contains("[5, 2, 3]", e.Message);
        e = Assert.Throws<ArgumentException>(() => lstm.Forward(Tensor.Zeros(5, 2, 4), (Tensor.Zeros(1, 2, 3), Tensor.Zeros(2, 2, 3))));
        Assert.Contains("initial hidden state [1, 2, 3] must be [2, 2, 3]", e.Message);
        e = Assert.Throws<ArgumentException>(() => lstm.Forward(Tensor.Zeros(5, 2, 4), (Tensor.Zeros(2, 2, 3), Tensor.Zeros(2, 1, 3))));
        Assert.Contains("initial cell state", e.Message);
        e = Assert.Throws<ArgumentException>(() => lstm.Forward(Tensor.Zeros(0, 2, 4)));
        Assert.Contains("no time steps", e.Message);
        e = Assert.Throws<ArgumentException>(() => lstm.Forward(Tensor.Zeros([5, 2, 4], DType.Float64)));
        Assert.Contains("Float64", e.Message);
        Assert.Throws<ArgumentException>(() => new RNN(3, 2, nonlinearity: "sigmoid"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GRU(3, 2, dropout: 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GRU(3, 2, numLayers: 0));
        Assert.Throws<ArgumentException>(() => new LSTMCell(0, 2));
        e = Assert.Throws<ArgumentException>(() => new GRUCell(3, 2).Forward(Tensor.Zeros(4, 3), Tensor.Zeros(3, 2)));
        Assert.Contains("hidden state [3, 2] must be [4, 2]", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.LstmCell(Tensor.Zeros(2, 3), Tensor.Zeros(2, 2), Tensor.Zeros(2, 2), Tensor.Zeros(6, 3), Tensor.Zeros(6, 2)));
        Assert.Contains("[4·H, I]", e.Message);
    }

    [Fact]
    public void Sequential_WithRecurrentLayers_SavesAndLoads()
    {
        string dir = Directory.CreateTempSubdirectory("nc-rnn-").FullName;
        try
        {
            var model = new Sequential(new Conv1d(3, 4, 3, padding: 1), new LSTM(5, 4, numLayers: 2, batchFirst: true, dropout: 0.25, bidirectional: true),
                new GRU(8, 3), new RNN(3, 2, nonlinearity: "relu", bias: false), new LSTMCell(2, 2), new GRUCell(2, 2), new RNNCell(2, 2, nonlinearity: "relu"));
            string path = Path.Combine(dir, "rnn.safetensors");
            model.Save(path);
            var loaded = Sequential.Load(path);
            Assert.Equal(model.ToString(), loaded.ToString());
            foreach (var (name, t) in model.StateDict())
                Assert.Equal(t.ToArray<float>(), loaded.StateDict()[name].ToArray<float>());
            var lstm = Assert.IsType<LSTM>(loaded[1]);
            Assert.True(lstm.BatchFirst && lstm.Bidirectional && lstm.NumLayers == 2 && lstm.Dropout == 0.25);
            Assert.Equal("relu", Assert.IsType<RNN>(loaded[3]).Nonlinearity);
            Assert.False(((RNN)loaded[3]).HasBias);
            var conv = Assert.IsType<Conv1d>(loaded[0]);
            Assert.Equal((3, 4, 3, 1), (conv.InChannels, conv.OutChannels, conv.KernelSize, conv.Padding));
            // The keys a PyTorch nn.Sequential of the same layers would use.
            Assert.Contains("1.weight_hh_l1_reverse", SafeTensors.Load(path).Keys);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
