using NeuralCore.Nn;
using NeuralCore.Tests.Vision;

namespace NeuralCore.Tests.Nn;

/// <summary>
/// <see cref="MultiheadAttention"/> against PyTorch 1.13's <c>nn.MultiheadAttention</c> (float64 references made by
/// tools/torch-references/make_references.py): separate projections for kdim/vdim, need_weights averaged and per head,
/// and the gradients through both results.
/// </summary>
public sealed class MultiheadAttentionReferenceTests
{
    const double Tolerance = 1e-9;

    sealed record Case(MultiheadAttention Mha, Tensor Query, Tensor Key, Tensor Value, Tensor? Padding, Tensor? AttnMask, TorchReference Ref);

    static Case Setup(string name)
    {
        var r = TorchReference.Load(name);
        int e = r.Int("embed_dim"), kdim = r.Int("kdim"), vdim = r.Int("vdim");
        var mha = new MultiheadAttention(e, r.Int("num_heads"), batchFirst: r.Bool("batch_first"), kdim: kdim, vdim: vdim);
        mha.To(DType.Float64);
        r.LoadInto(mha);
        var query = r.Tensor("query").RequiresGrad_();
        var key = r.Tensor("key").RequiresGrad_();
        var value = r.Tensor("value").RequiresGrad_();
        long b = query.Shape[r.Bool("batch_first") ? 0 : 1], lq = query.Shape[r.Bool("batch_first") ? 1 : 0], lk = key.Shape[r.Bool("batch_first") ? 1 : 0];
        var lengths = r["key_padding_lengths"];
        Tensor? padding = lengths.ValueKind == System.Text.Json.JsonValueKind.Null ? null
            : Functional.PaddingMask(lengths.EnumerateArray().Select(v => v.GetInt64()).ToArray(), lk);
        // PyTorch's module convention: true where attention is not allowed.
        Tensor? attnMask = r.Bool("causal_attn_mask") ? Functional.CausalMask(lq, lk).LogicalNot() : null;
        Assert.Equal(b, (padding?.Shape[0]) ?? b);
        return new Case(mha, query, key, value, padding, attnMask, r);
    }

    public static TheoryData<string> Cases => ["mha_kdim_vdim", "mha_kdim_batch_first_causal", "mha_same_dim_weights"];

    [Theory]
    [MemberData(nameof(Cases))]
    public void OutputAndWeights_MatchPyTorch(string name)
    {
        var c = Setup(name);
        var (output, average) = c.Mha.ForwardWithWeights(c.Query, c.Key, c.Value, c.Padding, c.AttnMask);
        var (_, perHead) = c.Mha.ForwardWithWeights(c.Query, c.Key, c.Value, c.Padding, c.AttnMask, averageAttnWeights: false);

        TorchReference.AssertClose(c.Ref.Tensor("output"), output, Tolerance, "output");
        TorchReference.AssertClose(c.Ref.Tensor("weights_average"), average, Tolerance, "averaged weights");
        TorchReference.AssertClose(c.Ref.Tensor("weights_per_head"), perHead, Tolerance, "per-head weights");
        // The fused path (no weights) gives the same output.
        TorchReference.AssertClose(c.Ref.Tensor("output"), c.Mha.Forward(c.Query, c.Key, c.Value, c.Padding, c.AttnMask), Tolerance, "fused output");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GradientsThroughOutputAndWeights_MatchPyTorch(string name)
    {
        var c = Setup(name);
        var (output, average) = c.Mha.ForwardWithWeights(c.Query, c.Key, c.Value, c.Padding, c.AttnMask);
        ((output * output).Sum() + (average * c.Ref.Tensor("weight_probe")).Sum()).Backward();

        TorchReference.AssertClose(c.Ref.Tensor("grad_query"), c.Query.Grad!, Tolerance, "query grad");
        TorchReference.AssertClose(c.Ref.Tensor("grad_key"), c.Key.Grad!, Tolerance, "key grad");
        TorchReference.AssertClose(c.Ref.Tensor("grad_value"), c.Value.Grad!, Tolerance, "value grad");
        var parameters = c.Mha.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        foreach (var (param, grad) in c.Ref.Tensors("grads"))
            TorchReference.AssertClose(grad, parameters[param].Grad!, Tolerance, param + " grad");
    }

    [Fact]
    public void SeparateProjections_UsePyTorchNamesAndShapes()
    {
        var mha = new MultiheadAttention(8, 2, kdim: 5, vdim: 3);
        var shapes = mha.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Shape);
        Assert.Equal(new Shape(8, 8), shapes["q_proj_weight"]);
        Assert.Equal(new Shape(8, 5), shapes["k_proj_weight"]);
        Assert.Equal(new Shape(8, 3), shapes["v_proj_weight"]);
        Assert.Equal(new Shape(24), shapes["in_proj_bias"]);
        Assert.DoesNotContain("in_proj_weight", shapes.Keys);
        Assert.Null(mha.InProjWeight);
        Assert.False(mha.SameEmbedDim);
        // kdim = vdim = E keeps the stacked layout.
        var same = new MultiheadAttention(8, 2, kdim: 8, vdim: 8);
        Assert.True(same.SameEmbedDim);
        Assert.NotNull(same.InProjWeight);
        Assert.Null(same.QProjWeight);
    }

    [Fact]
    public void KeysOfTheWrongWidth_Throw_NamingTheWidths()
    {
        var mha = new MultiheadAttention(8, 2, kdim: 5, vdim: 3);
        var ex = Assert.Throws<ArgumentException>(() => mha.Forward(Tensor.Randn(4, 2, 8), Tensor.Randn(6, 2, 8), Tensor.Randn(6, 2, 3)));
        Assert.Contains("8, 5 and 3 features", ex.Message);
        // Self-attention over one tensor needs kdim = vdim = E.
        Assert.Throws<ArgumentException>(() => mha.Forward(Tensor.Randn(4, 2, 8)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MultiheadAttention(8, 2, kdim: 0));
    }

    [Fact]
    public void SeparateProjections_SaveAndLoadThroughTheArchitectureRegistry()
    {
        Rng.ManualSeed(31);
        var seq = new Sequential(new MultiheadAttention(8, 2, batchFirst: true, kdim: 5, vdim: 3));
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "mha.safetensors");
        seq.Save(path);
        var loaded = (MultiheadAttention)Sequential.Load(path)[0];
        Assert.Equal((5, 3), (loaded.KDim, loaded.VDim));
        var (q, k, v) = (Tensor.Randn(2, 4, 8), Tensor.Randn(2, 6, 5), Tensor.Randn(2, 6, 3));
        Assert.Equal(((MultiheadAttention)seq[0]).Forward(q, k, v).ToArray<float>(), loaded.Forward(q, k, v).ToArray<float>());
    }

    [Fact]
    public void WeightsWithDropout_AreTheDroppedWeightsTheOutputUses()
    {
        Rng.ManualSeed(32);
        var mha = new MultiheadAttention(8, 2, dropout: 0.5, batchFirst: true);
        mha.To(DType.Float64);
        mha.Train();
        var x = Tensor.Randn([2, 5, 8], DType.Float64);
        var (output, perHead) = mha.ForwardWithWeights(x, x, x, averageAttnWeights: false);
        // Recompose the output from the returned (dropped) weights and the value projection.
        var w = mha.InProjWeight!.Narrow(0, 16, 8);
        var values = (x.MatMul(w.Transpose(0, 1)) + mha.InProjBias!.Narrow(0, 16, 8)).Reshape(2, 5, 2, 4).Transpose(1, 2);
        var merged = perHead.MatMul(values).Transpose(1, 2).Reshape(2, 5, 8);
        TorchReference.AssertClose(mha.OutProj.Forward(merged), output, 1e-12, "output from the returned weights");
        // Some weights were dropped (zero), the kept ones scaled by 1 / (1 − p): rows no longer sum to one.
        var data = perHead.ToArray<double>();
        Assert.Contains(data, v => v == 0);
        var rowSums = perHead.Sum(-1).ToArray<double>();
        Assert.Contains(rowSums, s => Math.Abs(s - 1) > 1e-6);
    }
}
