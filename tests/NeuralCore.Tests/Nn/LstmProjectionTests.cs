using NeuralCore.Nn;
using NeuralCore.Tests.Vision;

namespace NeuralCore.Tests.Nn;

/// <summary>
/// <see cref="LSTM"/> with <c>projSize</c> against PyTorch 1.13's <c>nn.LSTM(proj_size=...)</c> (float64 references made
/// by tools/torch-references/make_references.py): h is projected by <c>weight_hr</c> at every step.
/// </summary>
public sealed class LstmProjectionTests
{
    const double Tolerance = 1e-9;

    static (LSTM Lstm, TorchReference Ref) Setup(string name)
    {
        var r = TorchReference.Load(name);
        var lstm = new LSTM(r.Int("input_size"), r.Int("hidden_size"), r.Int("num_layers"), batchFirst: r.Bool("batch_first"),
            bidirectional: r.Bool("bidirectional"), projSize: r.Int("proj_size"));
        lstm.To(DType.Float64);
        r.LoadInto(lstm);
        return (lstm, r);
    }

    [Theory]
    [InlineData("lstm_proj_bidirectional", true)]
    [InlineData("lstm_proj_batch_first", false)]
    public void OutputsStatesAndGradients_MatchPyTorch(string name, bool withState)
    {
        var (lstm, r) = Setup(name);
        var x = r.Tensor("input").RequiresGrad_();
        Tensor? h0 = withState ? r.Tensor("h0").RequiresGrad_() : null, c0 = withState ? r.Tensor("c0").RequiresGrad_() : null;
        var (output, (hn, cn)) = lstm.Forward(x, withState ? (h0!, c0!) : null);

        TorchReference.AssertClose(r.Tensor("output"), output, Tolerance, "output");
        TorchReference.AssertClose(r.Tensor("hn"), hn, Tolerance, "h_n");
        TorchReference.AssertClose(r.Tensor("cn"), cn, Tolerance, "c_n");

        var probe = Tensor.Linspace(-1, 1, hn.NumElements, DType.Float64).Reshape(hn.Shape.ToArray());
        ((output * output).Sum() + (hn * probe).Sum() + (cn * cn).Sum()).Backward();
        TorchReference.AssertClose(r.Tensor("grad_input"), x.Grad!, Tolerance, "input grad");
        if (withState)
        {
            TorchReference.AssertClose(r.Tensor("grad_h0"), h0!.Grad!, Tolerance, "h0 grad");
            TorchReference.AssertClose(r.Tensor("grad_c0"), c0!.Grad!, Tolerance, "c0 grad");
        }
        var parameters = lstm.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        foreach (var (param, grad) in r.Tensors("grads"))
            TorchReference.AssertClose(grad, parameters[param].Grad!, Tolerance, param + " grad");
    }

    [Fact]
    public void Projection_HasPyTorchShapes_AndRejectsBadSizes()
    {
        var lstm = new LSTM(3, 5, numLayers: 2, bidirectional: true, projSize: 2);
        var shapes = lstm.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Shape);
        Assert.Equal(new Shape(20, 3), shapes["weight_ih_l0"]);
        Assert.Equal(new Shape(20, 2), shapes["weight_hh_l0"]);
        Assert.Equal(new Shape(2, 5), shapes["weight_hr_l0_reverse"]);
        Assert.Equal(new Shape(20, 4), shapes["weight_ih_l1"]);
        Assert.Equal(2, lstm.ProjSize);
        Assert.DoesNotContain(new LSTM(3, 5).NamedParameters(), p => p.Name.StartsWith("weight_hr", StringComparison.Ordinal));

        Assert.Throws<ArgumentOutOfRangeException>(() => new LSTM(3, 5, projSize: 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LSTM(3, 5, projSize: -1));
        // The initial hidden state has the projected width, the cell state the hidden width.
        var x = Tensor.Randn(4, 1, 3);
        var e = Assert.Throws<ArgumentException>(() => lstm.Forward(x, (Tensor.Zeros(4, 1, 5), Tensor.Zeros(4, 1, 5))));
        Assert.Contains("initial hidden state", e.Message);
        var (output, (hn, cn)) = lstm.Forward(x, null);
        Assert.Equal(new Shape(4, 1, 4), output.Shape);
        Assert.Equal(new Shape(4, 1, 2), hn.Shape);
        Assert.Equal(new Shape(4, 1, 5), cn.Shape);
    }

    [Fact]
    public void Projection_SavesAndLoadsThroughTheArchitectureRegistry()
    {
        Rng.ManualSeed(33);
        var seq = new Sequential(new LSTM(3, 5, numLayers: 2, batchFirst: true, projSize: 2));
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "lstm.safetensors");
        seq.Save(path);
        var loaded = Sequential.Load(path);
        Assert.Equal(2, ((LSTM)loaded[0]).ProjSize);
        var x = Tensor.Randn(2, 4, 3);
        Assert.Equal(seq.Forward(x).ToArray<float>(), loaded.Forward(x).ToArray<float>());
    }
}
