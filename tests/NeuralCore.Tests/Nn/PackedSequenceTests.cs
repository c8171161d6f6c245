using NeuralCore.Nn;

namespace NeuralCore.Tests.Nn;

/// <summary>
/// Recurrent layers over padded batches with per-element lengths, against PyTorch 1.13's packed sequences
/// (<c>pack_padded_sequence</c>, the layer, <c>pad_packed_sequence</c>; float64 references made by
/// tools/torch-references/make_references.py): zero outputs past each length, final states at each length.
/// </summary>
public sealed class PackedSequenceTests
{
    const double Tolerance = 1e-9;

    [Theory]
    [InlineData("packed_lstm")]
    [InlineData("packed_gru")]
    [InlineData("packed_rnn_relu")]
    public void OutputsStatesAndGradients_MatchPackedSequencesInPyTorch(string name)
    {
        var r = TorchReference.Load(name);
        string kind = r["kind"].GetString()!;
        int input = r.Int("input_size"), hidden = r.Int("hidden_size"), layers = r.Int("num_layers");
        bool bidirectional = r.Bool("bidirectional"), batchFirst = r.Bool("batch_first");
        RNNBase layer = kind switch
        {
            "lstm" => new LSTM(input, hidden, layers, batchFirst: batchFirst, bidirectional: bidirectional),
            "gru" => new GRU(input, hidden, layers, batchFirst: batchFirst, bidirectional: bidirectional),
            _ => new RNN(input, hidden, layers, "relu", batchFirst: batchFirst, bidirectional: bidirectional),
        };
        layer.To(DType.Float64);
        r.LoadInto(layer);
        var lengths = r["lengths"].EnumerateArray().Select(v => v.GetInt64()).ToArray();
        var x = r.Tensor("input").RequiresGrad_();

        Tensor output, hn;
        Tensor? cn = null;
        switch (layer)
        {
            case LSTM lstm:
                (output, (hn, var c)) = lstm.Forward(x, null, lengths);
                cn = c;
                break;
            case GRU gru:
                (output, hn) = gru.Forward(x, null, lengths);
                break;
            default:
                (output, hn) = ((RNN)layer).Forward(x, null, lengths);
                break;
        }

        TorchReference.AssertClose(r.Tensor("output"), output, Tolerance, "output");
        TorchReference.AssertClose(r.Tensor("hn"), hn, Tolerance, "h_n");
        if (cn is not null) TorchReference.AssertClose(r.Tensor("cn"), cn, Tolerance, "c_n");

        var probe = Tensor.Linspace(-1, 1, hn.NumElements, DType.Float64).Reshape(hn.Shape.ToArray());
        var loss = (output * output).Sum() + (hn * probe).Sum();
        if (cn is not null) loss = loss + (cn * cn).Sum();
        loss.Backward();
        TorchReference.AssertClose(r.Tensor("grad_input"), x.Grad!, Tolerance, "input grad");
        var parameters = layer.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        foreach (var (param, grad) in r.Tensors("grads"))
            TorchReference.AssertClose(grad, parameters[param].Grad!, Tolerance, param + " grad");
    }

    [Fact]
    public void FullLengths_GiveTheUnpackedResult_AndBadLengthsThrow()
    {
        Rng.ManualSeed(34);
        var gru = new GRU(3, 4, bidirectional: true);
        var x = Tensor.Randn(5, 2, 3);
        var (plain, hPlain) = gru.Forward(x, null);
        var (packed, hPacked) = gru.Forward(x, null, [5, 5]);
        Assert.Equal(plain.ToArray<float>(), packed.ToArray<float>());
        Assert.Equal(hPlain.ToArray<float>(), hPacked.ToArray<float>());

        Assert.Contains("2 lengths for a batch of 3", Assert.Throws<ArgumentException>(() => gru.Forward(Tensor.Randn(5, 3, 3), null, [5, 5])).Message);
        Assert.Contains("every length must be in [1, 5]", Assert.Throws<ArgumentException>(() => gru.Forward(x, null, [6, 2])).Message);
        Assert.Throws<ArgumentException>(() => gru.Forward(x, null, [0, 2]));
    }
}
