using NeuralCore.Nn;
using NeuralCore.Testing;
using NeuralCore.Tests.Tensors;

namespace NeuralCore.Tests.Nn;

// Initialisation draws from the process-wide default generator, so this class runs in the non-parallel collection.
[Collection("Memory")]
public class SequenceLayerTests
{
    static Tensor D64(params long[] shape) => Tensor.Randn(shape, DType.Float64);

    [Fact]
    public void Embedding_LooksUpRows_PaddingRowStartsAtZeroAndGetsNoGradient()
    {
        Rng.ManualSeed(1);
        var emb = new Embedding(5, 3, paddingIdx: -1);
        Assert.Equal(4L, emb.PaddingIdx);
        Assert.Equal(new float[3], emb.Weight.Select(0, 4).F());
        var idx = Tensor.FromArray(new long[] { 2, 4, 2, 0 }, 2, 2);
        var y = emb.Forward(idx);
        Assert.Equal(new Shape(2, 2, 3), y.Shape);
        Assert.Equal(emb.Weight.Select(0, 2).F(), y.Select(0, 0).Select(0, 0).F());
        y.Sum().Backward();
        var g = emb.Weight.Grad!;
        Assert.Equal(new float[] { 2, 2, 2 }, g.Select(0, 2).F());
        Assert.Equal(new float[] { 1, 1, 1 }, g.Select(0, 0).F());
        Assert.Equal(new float[3], g.Select(0, 4).F());
        Assert.Equal(new float[3], g.Select(0, 1).F());
        var ex = Assert.ThrowsAny<ArgumentException>(() => emb.Forward(Tensor.FromArray(new long[] { 5 }, 1)));
        Assert.Contains("5", ex.Message);
        Assert.Throws<ArgumentException>(() => emb.Forward(Tensor.Ones([2])));
    }

    [Fact]
    public void Embedding_MaxNorm_RescalesOnlyTheRowsLookedUp()
    {
        var w = Tensor.FromArray(new float[] { 3, 4, 0.3f, 0.4f, 6, 8 }, 3, 2);
        var y = Functional.Embedding(Tensor.FromArray(new long[] { 0, 1 }, 2), w, maxNorm: 1.0);
        TensorTestHelpers.AllClose(new float[] { 0.6f, 0.8f, 0.3f, 0.4f }, y.F(), atol: 1e-6);
        TensorTestHelpers.AllClose(new float[] { 0.6f, 0.8f, 0.3f, 0.4f, 6, 8 }, w.F(), atol: 1e-6);
    }

    [Fact]
    public void Embedding_GradCheck()
    {
        var w = D64(6, 3);
        var idx = Tensor.FromArray(new long[] { 1, 5, 1, 2 }, 4);
        GradCheck.Assert(x => Functional.Embedding(idx, x[0]), [w]);
    }

    [Fact]
    public void RmsNorm_MatchesItsFormula_AndPassesGradCheck()
    {
        var x = Tensor.FromArray(new double[] { 1, 2, 3, -4, 0, 4 }, 2, 3);
        var y = Functional.RmsNorm(x, [3], eps: 0);
        double r0 = Math.Sqrt((1 + 4 + 9) / 3.0), r1 = Math.Sqrt(32 / 3.0);
        TensorTestHelpers.AllClose(new[] { 1 / r0, 2 / r0, 3 / r0, -4 / r1, 0, 4 / r1 }, y.D(), atol: 1e-12);
        var layer = new RMSNorm(3);
        Assert.Equal(new Shape(3), layer.Weight!.Shape);
        GradCheck.Assert(t => Functional.RmsNorm(t[0], [4], t[1], 1e-3), [D64(3, 4), D64(4)]);
        Assert.Throws<ArgumentException>(() => Functional.RmsNorm(x, [4]));
    }

    [Fact]
    public void GeluTanh_AndSilu_MatchTheirFormulas_AndPassGradCheck()
    {
        var x = Tensor.FromArray(new double[] { -2, -0.5, 0, 1, 3 }, 5);
        var expectedGelu = x.D().Select(v => 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)))).ToArray();
        TensorTestHelpers.AllClose(expectedGelu, new GELU("tanh").Forward(x).D(), atol: 1e-12);
        TensorTestHelpers.AllClose(x.D().Select(v => v / (1 + Math.Exp(-v))).ToArray(), new SiLU().Forward(x).D(), atol: 1e-12);
        // The approximation stays within 1e-3 of the exact GELU on this range.
        TensorTestHelpers.AllClose(new GELU().Forward(x).D(), new GELU("tanh").Forward(x).D(), atol: 1e-3);
        GradCheck.Assert(t => Functional.Gelu(t[0], "tanh"), [D64(7)]);
        GradCheck.Assert(t => Functional.Silu(t[0]), [D64(7)]);
        Assert.Throws<ArgumentException>(() => new GELU("fast"));
    }

    [Fact]
    public void SinusoidalPositions_FollowTheTransformerPaper()
    {
        var pe = Functional.SinusoidalPositions(5, 4, start: 2).To(DType.Float64);
        for (int p = 0; p < 5; p++)
            for (int i = 0; i < 2; i++)
            {
                double angle = (p + 2) / Math.Pow(10000, 2.0 * i / 4);
                Assert.Equal(Math.Sin(angle), pe[p][2 * i].Item<double>(), 6);
                Assert.Equal(Math.Cos(angle), pe[p][2 * i + 1].Item<double>(), 6);
            }
        var layer = new SinusoidalPositionalEncoding(4, maxLength: 8);
        var x = Tensor.Zeros(2, 3, 4);
        Assert.Equal(Functional.SinusoidalPositions(3, 4, 5).F(), layer.Forward(x, 5).Select(0, 1).F());
        Assert.Throws<ArgumentException>(() => layer.Forward(x, 6));
        Assert.Empty(layer.StateDict());
    }

    [Fact]
    public void Rotary_KeepsNorms_AndMakesScoresDependOnRelativePositionOnly()
    {
        var q = D64(1, 8);
        var k = D64(1, 8);
        double Score(long pq, long pk) =>
            Functional.ApplyRotaryEmbedding(q, pq).MatMul(Functional.ApplyRotaryEmbedding(k, pk).Transpose(0, 1)).Item<double>();
        Assert.Equal(Score(3, 1), Score(10, 8), 10);
        Assert.Equal(Score(0, 5), Score(7, 12), 10);
        Assert.NotEqual(Score(3, 1), Score(3, 2), 6);
        var x = D64(2, 5, 8);
        TensorTestHelpers.AllClose(x.Square().Sum(-1).D(), Functional.ApplyRotaryEmbedding(x, 4).Square().Sum(-1).D(), atol: 1e-10);
        // Position 0 is the identity.
        TensorTestHelpers.AllClose(q.D(), Functional.ApplyRotaryEmbedding(q, 0).D(), atol: 0);
        GradCheck.Assert(t => Functional.ApplyRotaryEmbedding(t[0], 3), [D64(2, 3, 6)]);
        Assert.Throws<ArgumentException>(() => Functional.ApplyRotaryEmbedding(D64(2, 3)));
    }

    [Fact]
    public void LearnedPositions_AddTheirRows()
    {
        var pos = new LearnedPositionalEmbedding(6, 2);
        var x = Tensor.Zeros(1, 2, 2);
        Assert.Equal(pos.Weight.Narrow(0, 3, 2).F(), pos.Forward(x, 3).F());
        Assert.Throws<ArgumentException>(() => pos.Forward(x, 5));
    }
}
